"""LDL^T factorization of symmetric matrices with Bunch-Kaufman pivoting, in LAPACK's ``sytrf``
layout (lower triangle), and the solve that uses it.

The layout: the strict lower triangle holds the multipliers of each elimination step, the
diagonal (and, for a 2x2 block, the entry below it) holds D; ``pivots[k] > 0`` records a 1x1
step that swapped rows ``k`` and ``pivots[k] - 1`` (1-based, as LAPACK), and two equal negative
entries a 2x2 step. The pivoting is LAPACK's, so small matrices factor to PyTorch's bits.
"""

from __future__ import annotations

import math

from ember.ops import Primitive

_ALPHA = (1 + math.sqrt(17)) / 8  # Bunch-Kaufman's threshold: bounds the growth of entries


def _choose_pivot(xp, a, k: int, n: int):
    """``(kp, step, singular)`` for step k of the factorization of ``a`` (LAPACK's ``dsytf2``)."""
    absakk = abs(float(a[k, k]))
    if k + 1 < n:
        imax = k + 1 + int(xp.argmax(xp.abs(a[k + 1 :, k])))
        colmax = abs(float(a[imax, k]))
    else:
        imax, colmax = k, 0.0
    if max(absakk, colmax) == 0 or math.isnan(absakk):
        return k, 1, True
    if absakk >= _ALPHA * colmax:
        return k, 1, False
    rowmax = float(xp.abs(a[imax, k:imax]).max())
    if imax + 1 < n:
        rowmax = max(rowmax, float(xp.abs(a[imax + 1 :, imax]).max()))
    if absakk >= _ALPHA * colmax * (colmax / rowmax):
        return k, 1, False
    if abs(float(a[imax, imax])) >= _ALPHA * rowmax:
        return imax, 1, False
    return imax, 2, False


def _swap_trailing(a, kk: int, kp: int):
    """Interchange rows and columns ``kk`` and ``kp`` of the trailing lower triangle."""
    below = a[kp + 1 :, kk].copy()
    a[kp + 1 :, kk] = a[kp + 1 :, kp]
    a[kp + 1 :, kp] = below
    middle = a[kk + 1 : kp, kk].copy()
    a[kk + 1 : kp, kk] = a[kp, kk + 1 : kp]
    a[kp, kk + 1 : kp] = middle
    a[kk, kk], a[kp, kp] = a[kp, kp].copy(), a[kk, kk].copy()


def ldl_factor_one(xp, matrix):
    """The packed factors, 1-based pivots and LAPACK's ``info`` of one symmetric matrix."""
    a = xp.tril(matrix).astype(matrix.dtype, copy=True)
    n = a.shape[0]
    pivots = xp.zeros(n, dtype=xp.int32)
    info, k = 0, 0
    while k < n:
        kp, step, singular = _choose_pivot(xp, a, k, n)
        if singular and info == 0:
            info = k + 1
        kk = k + step - 1
        if kp != kk:
            _swap_trailing(a, kk, kp)
            if step == 2:
                a[k + 1, k], a[kp, k] = a[kp, k].copy(), a[k + 1, k].copy()
        if step == 1:
            if k + 1 < n and not singular:
                column = a[k + 1 :, k] / a[k, k]
                a[k + 1 :, k + 1 :] -= xp.tril(xp.outer(column, a[k + 1 :, k]))
                a[k + 1 :, k] = column
            pivots[k] = kp + 1
        else:
            if k + 2 < n:
                block = a[k : k + 2, k : k + 2]
                d = xp.stack([xp.stack([block[0, 0], block[1, 0]]), xp.stack([block[1, 0], block[1, 1]])])
                columns = a[k + 2 :, k : k + 2]
                multipliers = xp.linalg.solve(d, columns.T).T  # columns @ inv(D)
                a[k + 2 :, k + 2 :] -= xp.tril(multipliers @ columns.T)
                a[k + 2 :, k : k + 2] = multipliers
            pivots[k] = pivots[k + 1] = -(kp + 1)
        k += step
    return a, pivots, info


def ldl_solve_one(xp, packed, pivots, b):
    """``X`` with ``A X = B`` from one matrix's packed factors (LAPACK's ``dsytrs``, lower)."""
    x = b.astype(b.dtype, copy=True)
    n = packed.shape[0]
    k = 0
    while k < n:  # L D y = P b, one elimination step at a time
        if pivots[k] > 0:
            _swap_rows(x, k, int(pivots[k]) - 1)
            x[k + 1 :] -= xp.outer(packed[k + 1 :, k], x[k])
            x[k] /= packed[k, k]
            k += 1
        else:
            _swap_rows(x, k + 1, -int(pivots[k]) - 1)
            x[k + 2 :] -= xp.outer(packed[k + 2 :, k], x[k]) + xp.outer(packed[k + 2 :, k + 1], x[k + 1])
            off = packed[k + 1, k]
            first, second = packed[k, k] / off, packed[k + 1, k + 1] / off
            denominator = first * second - 1
            top, bottom = x[k] / off, x[k + 1] / off
            x[k], x[k + 1] = ((second * top - bottom) / denominator, (first * bottom - top) / denominator)
            k += 2
    k = n - 1
    while k >= 0:  # then L^T x = y, undoing the interchanges backwards
        if pivots[k] > 0:
            x[k] -= packed[k + 1 :, k] @ x[k + 1 :]
            _swap_rows(x, k, int(pivots[k]) - 1)
            k -= 1
        else:
            x[k] -= packed[k + 1 :, k] @ x[k + 1 :]
            x[k - 1] -= packed[k + 1 :, k - 1] @ x[k + 1 :]
            _swap_rows(x, k, -int(pivots[k]) - 1)
            k -= 2
    return x


def _swap_rows(x, i: int, j: int):
    if i != j:
        x[i], x[j] = x[j].copy(), x[i].copy()


class LdlSolve(Primitive):
    """``A^-1 B`` from ``ldl_factor``'s output; differentiable in B (A is symmetric)."""

    op_name = "linalg.ldl_solve"

    @staticmethod
    def forward(ctx, packed, pivots, b):
        xp = ctx.xp
        batch = xp.broadcast_arrays(packed[..., 0, 0], b[..., 0, 0])[0].shape
        packed = xp.broadcast_to(packed, batch + packed.shape[-2:])
        pivots = xp.broadcast_to(pivots, batch + pivots.shape[-1:])
        b = xp.broadcast_to(b, batch + b.shape[-2:])
        out = xp.empty(b.shape, dtype=b.dtype)
        for index in _indices(batch):
            out[index] = ldl_solve_one(xp, packed[index], pivots[index], b[index])
        ctx.save_for_backward(packed, pivots)
        return out

    @staticmethod
    def backward(ctx, grad):
        packed, pivots = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise RuntimeError(
                "linalg.ldl_solve: the derivative with respect to LD is not implemented (as in PyTorch)"
            )
        return None, None, LdlSolve.apply(packed, pivots, grad)


def _indices(batch):
    if not batch:
        return [()]
    import itertools

    return list(itertools.product(*(range(n) for n in batch)))


def ldl_factor(xp, a):
    """Packed factors, pivots and info for a batch of symmetric matrices."""
    batch = a.shape[:-2]
    packed = xp.empty(a.shape, dtype=a.dtype)
    pivots = xp.empty(batch + a.shape[-1:], dtype=xp.int32)
    info = xp.zeros(batch, dtype=xp.int32)
    for index in _indices(batch):
        packed[index], pivots[index], info[index] = ldl_factor_one(xp, a[index])
    return packed, pivots, info
