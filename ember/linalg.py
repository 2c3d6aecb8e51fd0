"""``ember.linalg``: the vector and matrix functions PyTorch keeps in ``torch.linalg``."""

from __future__ import annotations

__all__ = ["vector_norm", "norm", "multi_dot", "matmul"]


def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None):
    """The ``ord``-norm of ``x`` over ``dim`` (all elements when None)."""
    return x.norm(ord, dim, keepdim, dtype=dtype) if dtype is not None else x.norm(ord, dim, keepdim)


def norm(x, ord=None, dim=None, keepdim: bool = False, *, dtype=None):
    """Vector 2-norm (or ``ord``) of ``x``; matrix norms other than 'fro' are not supported."""
    if ord is None:
        ord = 2 if dim is None or isinstance(dim, int) or len(dim) == 1 else "fro"
    return vector_norm(x, ord, dim, keepdim, dtype=dtype)


def multi_dot(tensors):
    """The product of a chain of matrices."""
    from ember import chain_matmul

    return chain_matmul(*tensors)


def matmul(a, b):
    return a.matmul(b)
