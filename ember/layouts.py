"""Memory layouts of a tensor (``torch.layout``): ``strided``, ``sparse_coo``, ``sparse_csr``."""

from __future__ import annotations

__all__ = ["layout", "sparse_coo", "sparse_csr", "strided"]


class layout:
    """How a tensor's elements are stored; compared by identity, as in PyTorch."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):
        return self.name


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
