"""The norms and small products of ``ember.linalg`` (composed from differentiable ops)."""

from __future__ import annotations

import math

from ember.methods._util import mixed_dtypes_message
from ember.methods.join import broadcast_tensors, stack
from ember.ops import decompositions as dec


def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None):
    """The ``ord``-norm of ``x`` over ``dim`` (all elements when None)."""
    if x.is_complex():
        x = x.abs()  # the norm of complex entries is that of their magnitudes
    if dtype is not None:
        return x.norm(ord, dim, keepdim, dtype=dtype)
    return x.norm(ord, dim, keepdim)


def _singular_values(a):
    return dec.SVD.apply(a, False)[1]


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None):
    """A matrix norm over the two ``dim``: 'fro', 'nuc', inf, -inf, 1, -1, 2 or -2."""
    if A.ndim < 2:
        raise RuntimeError(
            f"linalg.matrix_norm: the input tensor A must have at least 2 "
            f"dimensions, got shape {list(A.shape)}"
        )
    if dtype is not None:
        A = A.to(dtype)
    rows, cols = (d % A.ndim for d in dim)
    if rows == cols:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different, got {tuple(dim)}")
    if ord == "fro":
        return vector_norm(A, 2, (rows, cols), keepdim)
    if ord in ("nuc", 2, -2):
        moved = A.movedim((rows, cols), (-2, -1))
        s = _singular_values(moved)
        out = s.sum(-1) if ord == "nuc" else (s.max(-1)[0] if ord == 2 else s.min(-1)[0])
        return _keep(out, rows, cols, keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        summed, other = (rows, cols) if abs(ord) == 1 else (cols, rows)
        sums = A.abs().sum(summed, keepdim=True)
        pick = sums.amax(other, keepdim=True) if ord > 0 else sums.amin(other, keepdim=True)
        return pick if keepdim else pick.squeeze(max(rows, cols)).squeeze(min(rows, cols))
    raise RuntimeError(
        f"linalg.matrix_norm: Order {ord} not supported; use 'fro', 'nuc', inf, -inf, 1, -1, 2 or -2"
    )


def _keep(out, rows, cols, keepdim):
    if not keepdim:
        return out
    for d in sorted((rows, cols)):
        out = out.unsqueeze(d)
    return out


def norm(input, ord=None, dim=None, keepdim: bool = False, *, dtype=None):
    """A vector norm (``dim`` an int, or 1-D input) or a matrix norm (``dim`` a pair, 2-D input)."""
    A = input
    if isinstance(dim, int):
        dim = (dim,)
    if dim is None and ord is None:
        return vector_norm(A.reshape(-1), 2, None, False, dtype=dtype).reshape(
            (1,) * A.ndim if keepdim else ()
        )
    if dim is None:
        if A.ndim not in (1, 2):
            raise RuntimeError(
                f"linalg.norm: If dim is not specified but ord is, the input must "
                f"be 1D or 2D. Got {A.ndim}D (shape {list(A.shape)})"
            )
        dim = tuple(range(A.ndim))
    if len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


def multi_dot(tensors):
    """The product of a chain of matrices; the first and last may be vectors."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    first_vector, last_vector = tensors[0].ndim == 1, tensors[-1].ndim == 1
    if first_vector:
        tensors[0] = tensors[0].unsqueeze(0)
    if last_vector:
        tensors[-1] = tensors[-1].unsqueeze(-1)
    for i, t in enumerate(tensors):
        if t.ndim != 2:
            raise RuntimeError(
                f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D (shape {list(t.shape)})"
            )
    if any(t.dtype != tensors[0].dtype for t in tensors):
        raise RuntimeError(mixed_dtypes_message("multi_dot()", *tensors))
    result = tensors[0]
    for t in tensors[1:]:
        result = result.mm(t)
    if last_vector:
        result = result.squeeze(-1)
    if first_vector:
        result = result.squeeze(0)
    return result


def matmul(input, other):
    """The matrix product (NumPy's rules for 1-D operands and batches)."""
    return input.matmul(other)


def diagonal(A, *, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """A view of the diagonals of the matrices in the last two dims."""
    return A.diagonal(offset, dim1, dim2)


def cross(input, other, *, dim: int = -1):
    """The cross product of 3-vectors along ``dim`` (inputs broadcast)."""
    a, b = broadcast_tensors(input, other)
    dim = dim % max(a.ndim, 1)
    if a.shape[dim] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got "
            f"{input.shape[dim % input.ndim]} and {other.shape[dim % other.ndim]}"
        )
    x = [a.select(dim, i) for i in range(3)]
    y = [b.select(dim, i) for i in range(3)]
    parts = [x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0]]
    return stack(parts, dim)


def vecdot(x, y, *, dim: int = -1):
    """``sum(conj(x) * y)`` along ``dim`` (inputs broadcast)."""
    if x.dtype != y.dtype:
        raise RuntimeError(mixed_dtypes_message("linalg.vecdot", x, y))
    if x.is_complex():
        x = x.conj()
    return (x * y).sum(dim)


def vander(x, *, N=None):
    """Columns ``x^0, x^1, ..., x^(N-1)`` (increasing powers, unlike ``numpy.vander``)."""
    if x.ndim < 1:
        raise RuntimeError("linalg.vander: x must have at least one dimension")
    n = x.shape[-1] if N is None else int(N)
    if n < 1:
        raise RuntimeError(f"linalg.vander: N must be greater than 1, got {N}")
    powers = [x.new_ones(tuple(x.shape))]
    for _ in range(n - 1):
        powers.append(powers[-1] * x)
    return stack(powers, -1)
