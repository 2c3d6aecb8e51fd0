"""Indexing methods: ``__getitem__``, ``__setitem__``, gather/scatter and friends."""

from __future__ import annotations


# Tensor methods that are also free functions: ember.<name>(t, ...) is t.<name>(...)
FUNCTIONS = []
__all__: list = []  # free functions defined here


class IndexingMethods:
    __slots__ = ()
