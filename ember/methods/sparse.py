"""Sparse conversions of dense tensors: ``to_sparse``, ``to_sparse_coo``, ``to_sparse_csr``,
``to_dense``, ``sparse_dim``, ``dense_dim``; and the sparse branch of ``matmul``/``mm``.

Sparse tensors themselves live in ``ember.sparse`` (a higher layer), imported when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ember import layouts as _layout

if TYPE_CHECKING:
    from ember.tensor import Tensor

FUNCTIONS: list = []
__all__: list = []


class SparseMethods:
    __slots__ = ()

    def to_sparse(self, sparse_dim: int | None = None, *, layout=None, blocksize=None, dense_dim=None):
        """The nonzeros as a sparse COO tensor (or CSR with ``layout=ember.sparse_csr``)."""
        from ember.sparse import dense_to_sparse  # layer 4, built on Tensor: a cycle at module level

        if layout is _layout.sparse_csr:
            return self.to_sparse_csr()
        if layout not in (None, _layout.sparse_coo):
            raise RuntimeError(f"to_sparse: layout {layout} is not supported (coo or csr)")
        return dense_to_sparse(self, sparse_dim)

    def to_sparse_coo(self):
        return self.to_sparse()

    def to_sparse_csr(self, dense_dim=None):
        """The nonzeros of a 2-D tensor as a sparse CSR tensor."""
        return self.to_sparse().to_sparse_csr()

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        """A dense tensor is its own dense form."""
        return self if dtype is None else self.to(dtype)

    @property
    def is_sparse_csr(self) -> bool:
        return False

    def sparse_dim(self) -> int:
        return 0

    def dense_dim(self) -> int:
        return self.dim()

    def sparse_mask(self, mask):
        """This tensor's values at ``mask``'s nonzeros, as a sparse tensor with its pattern."""
        if not getattr(mask, "is_sparse", False):
            raise RuntimeError(f"sparse_mask: expected a sparse COO mask, got layout {mask.layout}")
        if tuple(mask.shape) != tuple(self.shape):
            raise RuntimeError(
                f"sparse_mask: operands have incompatible sizes {list(self.shape)} and {list(mask.shape)}"
            )
        coalesced = mask.coalesce()
        key = tuple(row for row in coalesced._indices().unbind(0))
        return coalesced._with_values(self[key])

    def _sparse_only(self, name: str):
        raise RuntimeError(
            f"{name} expected sparse tensor layout but got {self.layout}; convert with .to_sparse() first"
        )

    def _indices(self):
        self._sparse_only("_indices")

    def _values(self):
        self._sparse_only("_values")

    def indices(self):
        self._sparse_only("indices")

    def values(self):
        self._sparse_only("values")

    def coalesce(self):
        self._sparse_only("coalesce")

    def is_coalesced(self) -> bool:
        self._sparse_only("is_coalesced")

    def _nnz(self) -> int:
        self._sparse_only("_nnz")

    def crow_indices(self):
        self._sparse_only("crow_indices")

    def col_indices(self):
        self._sparse_only("col_indices")

    def _sparse_matmul(self, other) -> Tensor:
        """``self @ other`` where either operand is sparse (see ``ember.sparse.mm``)."""
        from ember.sparse import mm  # layer 4, built on Tensor: a cycle at module level

        return mm(self, other)
