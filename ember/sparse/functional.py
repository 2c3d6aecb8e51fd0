"""Sparse functions: ``mm`` (sparse @ dense, dense @ sparse, sparse @ sparse), ``addmm``,
``sum``, ``softmax`` / ``log_softmax``, ``smm``, ``hspmm``."""

from __future__ import annotations

from ember import dtypes
from ember.methods._out import with_out
from ember.ops.indexing import ufunc_at
from ember.ops.sparse import SparseDenseMM
from ember.sparse.tensor import SparseTensor
from ember.tensor import Tensor, make

__all__ = ["addmm", "hspmm", "log_softmax", "mm", "smm", "softmax", "spmm", "sum"]


def _shape_of(t) -> list:
    return list(t.shape)


def _sparse_matrix(op: str, s: SparseTensor) -> None:
    if s.dim() != 2 or s.dense_dim() != 0:
        raise RuntimeError(
            f"{op}: expected a 2-D sparse matrix without dense dimensions, got "
            f"size {_shape_of(s)} (sparse_dim {s.sparse_dim()}, dense_dim "
            f"{s.dense_dim()})"
        )


def _sparse_times_dense(op: str, s: SparseTensor, dense: Tensor, transpose: bool = False):
    """``s @ dense``, or ``s.t() @ dense`` with ``transpose`` (without re-sorting indices)."""
    _sparse_matrix(op, s)
    if dense.dim() not in (1, 2):
        raise RuntimeError(f"{op}: expected a 1-D or 2-D dense operand, got size {_shape_of(dense)}")
    n_rows, n_cols = (s.shape[1], s.shape[0]) if transpose else (s.shape[0], s.shape[1])
    if n_cols != dense.shape[0]:
        raise RuntimeError(
            f"{op}: mat1 and mat2 shapes cannot be multiplied ({n_rows}x"
            f"{n_cols} and {'x'.join(map(str, dense.shape))})"
        )
    if s.device != dense.device:
        raise RuntimeError(
            f"{op}: expected both operands on the same device, but the sparse "
            f"matrix is on {s.device} and the dense one on {dense.device}"
        )
    target = dtypes.result_type(s._sp_values, dense).np
    values, dense = s._sp_values._cast(target), dense._cast(target)
    rows, cols = s._sp_indices._data
    return SparseDenseMM.apply(values, dense, rows, cols, tuple(s.shape), transpose)


def mm(mat1, mat2, reduce: str | None = None) -> Tensor:
    """Matrix product with a sparse operand: sparse @ dense and dense @ sparse give dense
    results, sparse @ sparse a sparse one. Gradients reach the dense operand and the sparse
    operand's values.

    >>> import ember
    >>> s = ember.sparse_coo_tensor([[0, 1], [1, 0]], [2.0, 3.0], (2, 2))
    >>> mm(s, ember.ones(2, 1))
    tensor([[2.],
            [3.]])
    """
    if reduce not in (None, "sum"):
        raise NotImplementedError(f"sparse.mm: reduce={reduce!r} is not supported (only 'sum')")
    left, right = isinstance(mat1, SparseTensor), isinstance(mat2, SparseTensor)
    if left and right:
        return _sparse_times_dense("mm", mat1, mat2.to_dense()).to_sparse()
    if left:
        return _sparse_times_dense("mm", mat1, mat2)
    if right:
        if mat1.dim() == 1:
            return _sparse_times_dense("mm", mat2, mat1, transpose=True)
        return _sparse_times_dense("mm", mat2, mat1.t(), transpose=True).t()
    return mat1.mm(mat2)


spmm = mm


def addmm(mat: Tensor, mat1, mat2, *, beta=1.0, alpha=1.0) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` with a sparse ``mat1``."""
    if isinstance(mat, SparseTensor):
        mat = mat.to_dense()
    return mat * beta + mm(mat1, mat2) * alpha


def smm(input: SparseTensor, mat2: Tensor) -> SparseTensor:
    """``input @ mat2`` for a sparse ``input``, returned as a sparse tensor."""
    return mm(input, mat2).to_sparse()


def hspmm(mat1: SparseTensor, mat2: Tensor) -> SparseTensor:
    """``mat1 @ mat2`` as a hybrid sparse tensor: the rows of ``mat1`` that hold nonzeros."""
    dense = mm(mat1, mat2)
    xp = mat1._sp_indices.xp
    rows = xp.unique(mat1._sp_indices._data[0]).astype(xp.int64)
    values = dense.index_select(0, make(rows))
    return SparseTensor._from_parts(make(rows.reshape(1, -1)), values, dense.shape, True)


hspmm = with_out(hspmm)  # out= is a sparse tensor that takes the result


def sum(input: SparseTensor, dim=None, dtype=None):
    """The sum of all elements (a dense 0-d tensor), or over ``dim``: a sparse tensor while
    sparse dims remain, a dense one otherwise."""
    if not isinstance(input, SparseTensor):
        return input.sum() if dim is None else input.sum(dim)
    values = input._sp_values if dtype is None else input._sp_values.to(dtype)
    if dim is None:
        return values.sum()
    dims = {input._wrap_dim(d, "sparse.sum") for d in ((dim,) if isinstance(dim, int) else dim)}
    sparse_dim = input.sparse_dim()
    dense_axes = tuple(d - sparse_dim + 1 for d in sorted(dims) if d >= sparse_dim)
    if dense_axes:
        values = values.sum(dense_axes)
    kept = [d for d in range(sparse_dim) if d not in dims]
    if not kept:
        return values.sum(0)
    size = [s for d, s in enumerate(input.shape) if d not in dims]
    indices = make(input._sp_indices._data[kept])
    return SparseTensor._from_parts(indices, values, size, False).coalesce()


def _groups(input: SparseTensor, dim: int):
    """Coalesced input, and for each nonzero the id of its slice along ``dim``."""
    coalesced = input.coalesce()
    xp = coalesced._sp_indices.xp
    idx = coalesced._sp_indices._data
    others = [d for d in range(coalesced.sparse_dim()) if d != dim]
    if not others:
        return coalesced, xp.zeros(idx.shape[1], dtype=xp.int64), 1
    shape = tuple(coalesced.shape[d] for d in others)
    linear = xp.ravel_multi_index(tuple(idx[others]), shape)
    unique, inverse = xp.unique(linear, return_inverse=True)
    return coalesced, inverse.reshape(-1).astype(xp.int64), unique.shape[0]


def _log_softmax_parts(input: SparseTensor, dim: int, dtype):
    if input.dense_dim() != 0:
        raise RuntimeError("sparse.softmax: hybrid sparse tensors (dense_dim > 0) are not supported")
    dim = input._wrap_dim(dim, "sparse.softmax")
    coalesced, group, n_groups = _groups(input, dim)
    values = coalesced._sp_values if dtype is None else coalesced._sp_values.to(dtype)
    xp = values.xp
    peak = xp.full(n_groups, -xp.inf, dtype=values._data.dtype)
    ufunc_at(xp, "maximum", peak, (group,), values._data)
    shifted = values - make(peak[group])  # a constant per slice: the result does not change
    group_t = make(group)
    totals = shifted.new_zeros((n_groups,)).index_add(0, group_t, shifted.exp())
    return coalesced, shifted, totals, group_t


def softmax(input: SparseTensor, dim: int, *, dtype=None) -> SparseTensor:
    """Softmax over the nonzeros of each slice along ``dim`` (missing entries count as -inf)."""
    coalesced, shifted, totals, group = _log_softmax_parts(input, dim, dtype)
    return coalesced._with_values(shifted.exp() / totals.index_select(0, group))


def log_softmax(input: SparseTensor, dim: int, *, dtype=None) -> SparseTensor:
    """Log-softmax over the nonzeros of each slice along ``dim``."""
    coalesced, shifted, totals, group = _log_softmax_parts(input, dim, dtype)
    return coalesced._with_values(shifted - totals.log().index_select(0, group))
