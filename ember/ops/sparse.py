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


class SparseDenseMM(Primitive):
    """``S @ dense`` for a 2-D sparse ``S`` given by ``values`` at ``(rows, cols)``.

    The gradient of ``values`` is ``grad[rows] . dense[cols]`` (PyTorch's ``sparse.mm``: the
    gradient of the sparse operand is sparse at its nonzeros); of ``dense``, ``S^T @ grad``.
    """

    op_name = "sparse.mm"

    @staticmethod
    def forward(ctx, values, dense, rows, cols, shape):
        matrix = sparse_module(values).coo_matrix((values, (rows, cols)), shape=shape)
        out = matrix.tocsr() @ dense
        ctx.rows, ctx.cols, ctx.shape = rows, cols, shape
        ctx.save_for_backward(values, dense)
        return ctx.xp.asarray(out, dtype=dense.dtype)

    @staticmethod
    def backward(ctx, grad):
        values, dense = ctx.saved_tensors
        rows, cols = _as_tensor(ctx.rows), _as_tensor(ctx.cols)
        grad_values = grad_dense = None
        if ctx.needs_input_grad[0]:
            products = grad.index_select(0, rows) * dense.index_select(0, cols)
            grad_values = products.sum(-1) if products.dim() > 1 else products
        if ctx.needs_input_grad[1]:
            transposed = (ctx.shape[1], ctx.shape[0])
            grad_dense = SparseDenseMM.apply(values, grad, ctx.cols, ctx.rows, transposed)
        return grad_values, grad_dense, None, None, None


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
