"""``ember.layout`` and ``ember.memory_format`` with PyTorch's constants.

Dense ember tensors are C-ordered: their layout is ``strided``; sparse tensors (``ember.sparse``)
are ``sparse_coo`` or ``sparse_csr``, and memory formats
are accepted wherever PyTorch takes them (``contiguous(memory_format=...)``) without changing
the layout.
"""

from __future__ import annotations

__all__ = [
    "layout",
    "memory_format",
    "strided",
    "sparse_coo",
    "sparse_csr",
    "sparse_csc",
    "sparse_bsr",
    "sparse_bsc",
    "contiguous_format",
    "channels_last",
    "channels_last_3d",
    "preserve_format",
]


class layout(str):  # noqa: N801 - PyTorch's name
    """A tensor layout; compares equal to its name (``ember.strided == "strided"``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"ember.{str.__str__(self)}"

    __str__ = __repr__


class memory_format(str):  # noqa: N801 - PyTorch's name
    """A memory format; ember lays every tensor out contiguously whatever is asked."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"ember.{str.__str__(self)}"

    __str__ = __repr__


strided, sparse_coo, sparse_csr = layout("strided"), layout("sparse_coo"), layout("sparse_csr")
sparse_csc, sparse_bsr, sparse_bsc = layout("sparse_csc"), layout("sparse_bsr"), layout("sparse_bsc")
contiguous_format, channels_last = memory_format("contiguous_format"), memory_format("channels_last")
channels_last_3d, preserve_format = memory_format("channels_last_3d"), memory_format("preserve_format")
