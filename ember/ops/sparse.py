"""Sparse primitives: sparse (COO/CSR) @ dense and sparse -> dense, differentiable.

The kernels are ``scipy.sparse`` on the CPU and ``cupyx.scipy.sparse`` on CUDA; which one is
the backend's choice (``sparse_module()`` in ``ember.backend.cpu`` / ``cuda``). A sparse matrix
reaches these primitives as its ``values`` (a Tensor, so gradients flow to it) plus its integer
coordinates and shape (constants).
"""

from __future__ import annotations

from ember import backend
from ember.ops import Primitive
from ember.ops.indexing import ufunc_at


def sparse_module(array):
    """The ``scipy.sparse``-like module for ``array``'s device."""
    return backend.get(backend.device_of(array).type).sparse_module()


def _as_tensor(array):
    from ember.tensor import make

    return make(array)


def _csr(values, rows, cols, shape):
    """The CSR matrix of COO parts; rows already sorted (a coalesced tensor) skip the sort."""
    module = sparse_module(values)
    xp = backend.xp_of(values)
    if rows.size == 0 or bool((rows[1:] >= rows[:-1]).all()):
        indptr = xp.searchsorted(rows, xp.arange(shape[0] + 1))
        return module.csr_matrix((values, cols, indptr), shape=shape)
    return module.coo_matrix((values, (rows, cols)), shape=shape).tocsr()


class SparseDenseMM(Primitive):
    """``S @ dense`` (or ``S^T @ dense`` with ``transpose``) for a 2-D sparse ``S`` given by
    ``values`` at ``(rows, cols)``.

    The gradient of ``values`` is ``grad[rows] . dense[cols]`` (PyTorch's ``sparse.mm``: the
    gradient of the sparse operand is sparse at its nonzeros); of ``dense``, ``S^T @ grad``,
    which is this primitive again with ``transpose`` flipped (so it differentiates again).
    """

    op_name = "sparse.mm"

    @staticmethod
    def forward(ctx, values, dense, rows, cols, shape, transpose):
        matrix = _csr(values, rows, cols, shape)
        out = (matrix.T if transpose else matrix) @ dense
        ctx.rows, ctx.cols, ctx.shape, ctx.transpose = rows, cols, shape, transpose
        ctx.save_for_backward(values, dense)
        return ctx.xp.asarray(out, dtype=dense.dtype)

    @staticmethod
    def backward(ctx, grad):
        values, dense = ctx.saved_tensors
        out_index, in_index = _as_tensor(ctx.rows), _as_tensor(ctx.cols)
        if ctx.transpose:
            out_index, in_index = in_index, out_index
        grad_values = grad_dense = None
        if ctx.needs_input_grad[0]:
            products = grad.index_select(0, out_index) * dense.index_select(0, in_index)
            grad_values = products.sum(-1) if products.dim() > 1 else products
        if ctx.needs_input_grad[1]:
            grad_dense = SparseDenseMM.apply(values, grad, ctx.rows, ctx.cols, ctx.shape, not ctx.transpose)
        return grad_values, grad_dense, None, None, None, None


class SparseToDense(Primitive):
    """The dense array of a COO tensor: ``values`` summed into ``shape`` at ``indices``."""

    op_name = "to_dense"

    @staticmethod
    def forward(ctx, values, indices, shape):
        out = ctx.xp.zeros(shape, dtype=values.dtype)
        key = tuple(indices)
        ufunc_at(ctx.xp, "add", out, key, values)
        ctx.indices = indices
        return out

    @staticmethod
    def backward(ctx, grad):
        key = tuple(_as_tensor(row) for row in ctx.indices)
        return grad[key], None, None
