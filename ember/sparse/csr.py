"""CSR sparse tensors: ``sparse_csr_tensor``, ``to_sparse_csr`` and CSR @ dense.

A CSR tensor is stored as its COO coordinates (sorted by row) plus ``crow_indices`` and
``col_indices``, so every COO kernel (matmul, to_dense, gradients) serves it unchanged.
"""

from __future__ import annotations

import ember
from ember import layouts as _layout
from ember.sparse.tensor import SparseTensor
from ember.tensor import Tensor, make

__all__ = ["SparseCsrTensor", "coo_to_csr", "sparse_csr_tensor"]


class SparseCsrTensor(SparseTensor):
    """A 2-D sparse tensor in compressed-row form (``layout=ember.sparse_csr``)."""

    __slots__ = ("_sp_crow",)
    _sp_layout = _layout.sparse_csr
    _written_slots = SparseTensor._written_slots + ("_sp_crow",)

    @classmethod
    def _from_parts(cls, indices: Tensor, values: Tensor, size, coalesced: bool = True):
        t = super()._from_parts(indices, values, size, True)
        xp = indices.xp
        rows = indices._data[0]
        t._sp_crow = make(xp.searchsorted(rows, xp.arange(int(size[0]) + 1)).astype(xp.int64))
        return t

    def crow_indices(self) -> Tensor:
        return self._sp_crow

    def col_indices(self) -> Tensor:
        return make(self._sp_indices._data[1])

    def values(self) -> Tensor:
        return self._sp_values

    def to_sparse_coo(self) -> SparseTensor:
        return SparseTensor._from_parts(self._sp_indices, self._sp_values, self._sp_size, True)

    def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
        if layout is _layout.sparse_csr:
            return self
        return self.to_sparse_coo()

    def to_sparse_csr(self, dense_dim=None):
        return self

    def transpose(self, dim0: int, dim1: int) -> SparseTensor:
        return self.to_sparse_coo().transpose(dim0, dim1)

    def add(self, other, *, alpha=1):
        result = self.to_sparse_coo().add(other, alpha=alpha)
        return result.coalesce().to_sparse_csr() if isinstance(result, SparseTensor) else result

    __add__ = add

    def __repr__(self) -> str:
        body = (
            f"crow_indices={self._sp_crow!r},\n       col_indices={self.col_indices()!r},"
            f"\n       values={self._sp_values!r}"
        )
        return (
            f"tensor({body},\n       size={tuple(self._sp_size)}, nnz={self._nnz()}, "
            f"layout={self._sp_layout})"
        )

    __str__ = __repr__


def coo_to_csr(coo: SparseTensor) -> SparseCsrTensor:
    if coo.dim() != 2 or coo.dense_dim() != 0:
        raise RuntimeError(
            f"to_sparse_csr: expected a 2-D tensor without dense dimensions, "
            f"got size {list(coo.shape)} with dense_dim {coo.dense_dim()}"
        )
    c = coo.coalesce()
    return SparseCsrTensor._from_parts(c._sp_indices, c._sp_values, c._sp_size, True)


def sparse_csr_tensor(
    crow_indices,
    col_indices,
    values,
    size=None,
    *,
    dtype=None,
    layout=None,
    device=None,
    pin_memory: bool = False,
    requires_grad: bool = False,
    check_invariants=None,
) -> SparseCsrTensor:
    """A CSR tensor from compressed row pointers, column indices and values.

    ``layout``, if given, must be ``ember.sparse_csr`` (as in PyTorch); ``pin_memory`` is accepted
    and ignored.

    >>> import ember
    >>> ember.sparse_csr_tensor([0, 1, 2], [1, 0], [3.0, 4.0], (2, 2)).to_dense()
    tensor([[0., 3.],
            [4., 0.]])
    """
    from ember.sparse.creation import _as_values, check_layout

    check_layout("sparse_csr_tensor", layout, _layout.sparse_csr)
    crow = ember.as_tensor(crow_indices, dtype=ember.int64)
    col = ember.as_tensor(col_indices, dtype=ember.int64)
    values = _as_values(values, dtype, device, requires_grad)
    if crow.dim() != 1 or col.dim() != 1:
        raise RuntimeError(
            "sparse_csr_tensor: crow_indices and col_indices must be 1-D, got "
            f"shapes {list(crow.shape)} and {list(col.shape)}"
        )
    if col.shape[0] != values.shape[0]:
        raise RuntimeError(
            f"sparse_csr_tensor: col_indices and values must have the same "
            f"length, got {col.shape[0]} and {values.shape[0]}"
        )
    xp = crow.xp
    n_rows = crow.shape[0] - 1
    rows = xp.repeat(xp.arange(n_rows, dtype=xp.int64), xp.diff(crow._data))
    if size is None:
        size = (n_rows, int(col.max()) + 1 if col.numel() else 0)
    indices = make(xp.stack([rows, col._data.astype(xp.int64)]))
    indices = indices.to(values.device)
    return SparseCsrTensor._from_parts(indices, values, size, True)
