"""Tensor method families, one mixin per file; ``ember.tensor.Tensor`` inherits them all.

Each file also defines the matching free functions (``ember.exp``, ``ember.cat``, ...), which
``ember/__init__.py`` re-exports.
"""
