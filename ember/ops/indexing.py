"""Indexing primitives: getitem (views and copies), index_put, masked_fill, tril/triu, nonzero.

Keys arrive normalised by ``ember.methods.indexing`` as a pair ``(basic, advanced)``: a tuple
of ints, slices, ``None`` and ``Ellipsis`` applied first (a view), then a tuple of slices and
integer arrays of the input's backend applied to that view; either may be None. gather, scatter,
index_select, index_add and friends are these same primitives with a key built by
``along_dim_key`` or ``dim_key``, so one backward serves the whole family.
"""

from __future__ import annotations

from ember import backend
from ember.ops import Primitive


def ufunc_at(xp, name: str, out, key, values) -> None:
    """``out[key] (op)= values`` unbuffered, so repeated indices all count (NumPy's ``ufunc.at``)."""
    backend.for_xp(xp).ufunc_at(name, out, key, values)


def along_dim_key(xp, index, dim: int) -> tuple:
    """The key that makes ``index(a, key)`` the ``gather(a, dim, index)`` of PyTorch."""
    arrays = []
    for d, n in enumerate(index.shape):
        if d == dim:
            arrays.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = n
            arrays.append(xp.arange(n).reshape(shape))
    return None, tuple(arrays)


def dim_key(index, dim: int) -> tuple:
    """The key that picks ``index`` along ``dim`` and everything along the other dims."""
    return None, (slice(None),) * dim + (index,)


def check_bounds(xp, index, size: int, dim: int, op: str, negative: bool = True, error=IndexError) -> None:
    """Raise PyTorch's out-of-bounds error naming ``op`` if any of ``index`` misses ``[-size, size)``."""
    if index.size == 0:
        return
    low = -size if negative else 0
    if int(index.min()) < low or int(index.max()) >= size:
        first = int(index[(index < low) | (index >= size)].ravel()[0])
        raise error(f"{op}: index {first} is out of bounds for dimension {dim} with size {size}")


def _view(a, basic):
    """``a[basic]`` as an array view (all-int keys give a 0-d view, not a NumPy scalar)."""
    if basic is None:
        return a
    if not any(k is Ellipsis for k in basic):
        basic = basic + (Ellipsis,)
    return a[basic]


def _strip_leading_ones(value):
    """Drop leading size-1 dims, which assignment allows and ``ufunc.at`` does not."""
    if not hasattr(value, "ndim"):
        return value
    lead = 0
    while lead < value.ndim and value.shape[lead] == 1:
        lead += 1
    return value.reshape(value.shape[lead:]) if lead else value


def assign(xp, out, key, value, mode, op: str) -> None:
    """Write ``value`` into ``out`` at ``key``: replace (mode None) or accumulate ('add', 'multiply')."""
    basic, advanced = key
    target = _view(out, basic)
    value = _strip_leading_ones(value)
    try:
        if advanced is None:
            if mode is None:
                target[...] = value
            else:
                getattr(xp, mode)(target, value, out=target)
        elif mode is None:
            target[advanced] = value
        else:
            ufunc_at(xp, mode, target, advanced, value)
    except ValueError as exc:
        value_shape = list(getattr(value, "shape", ()))
        raise RuntimeError(
            f"{op}: shape mismatch: value of shape {value_shape} cannot be broadcast to the "
            f"indexed region of a tensor of shape {list(out.shape)} ({exc})"
        ) from exc


def index(a, key):
    """``a[key]`` as a differentiable op; ``key`` is ``(basic, advanced)`` (either may be None).

    PyTorch applies the basic part (ints, slices, None, ...) first, as a view, then indexes
    the result with the advanced part (index arrays, with NumPy's rules), which copies.
    """
    basic, advanced = key
    if basic is not None:
        a = BasicIndex.apply(a, basic)
    return a if advanced is None else AdvancedIndex.apply(a, advanced)


class BasicIndex(Primitive):
    """``a[key]`` for ints, slices, None and Ellipsis: a view sharing memory with ``a``."""

    is_view = True
    op_name = "__getitem__"

    @staticmethod
    def forward(ctx, a, basic):
        ctx.shape, ctx.basic = a.shape, basic
        return _view(a, basic)

    @staticmethod
    def backward(ctx, grad):
        return IndexGradient.apply(grad, ctx.shape, (ctx.basic, None)), None


class AdvancedIndex(Primitive):
    """``a[key]`` where the key holds index arrays: a copy, with NumPy's rules."""

    op_name = "__getitem__"

    @staticmethod
    def forward(ctx, a, advanced):
        ctx.shape, ctx.advanced = a.shape, advanced
        return a[advanced]

    @staticmethod
    def backward(ctx, grad):
        return IndexGradient.apply(grad, ctx.shape, (None, ctx.advanced)), None


class IndexGradient(Primitive):
    """Zeros of ``shape`` with ``grad`` added at ``key`` (repeated indices accumulate)."""

    op_name = "index_backward"

    @staticmethod
    def forward(ctx, grad, shape, key):
        ctx.key = key
        out = ctx.xp.zeros(shape, grad.dtype)
        assign(ctx.xp, out, key, grad, None if key[1] is None else "add", "index_backward")
        return out

    @staticmethod
    def backward(ctx, grad):
        return index(grad, ctx.key), None, None


class IndexPut(Primitive):
    """``a`` with ``value`` written at ``key``: replaced (mode None) or accumulated ('add', 'multiply').

    ``value`` is an array of ``a``'s dtype broadcastable to ``a[key]``, or a number.
    """

    op_name = "index_put"

    @staticmethod
    def forward(ctx, a, key, value, mode):
        ctx.key, ctx.mode = key, mode
        ctx.value_shape = getattr(value, "shape", None)
        out = a.copy()
        assign(ctx.xp, out, key, value, mode, "index_put")
        if mode == "multiply" and any(ctx.needs_input_grad):
            raise RuntimeError(
                "scatter(): the derivative for reduce='multiply' is not implemented; compute the "
                "product without autograd, or with out-of-place ops"
            )
        return out

    @staticmethod
    def backward(ctx, grad):
        need_a, _, need_value, _ = ctx.needs_input_grad
        grad_a = grad_value = None
        if need_a:
            grad_a = grad if ctx.mode == "add" else IndexPut.apply(grad, ctx.key, 0.0, None)
        if need_value:
            grad_value = index(grad, ctx.key)
            missing = len(ctx.value_shape) - grad_value.ndim
            if missing > 0:  # the value had leading size-1 dims that assignment dropped
                grad_value = grad_value.reshape((1,) * missing + tuple(grad_value.shape))
        return grad_a, None, grad_value, None


class MaskedFill(Primitive):
    """``value`` where ``mask`` is true, ``a`` elsewhere (``a`` and ``mask`` broadcast)."""

    op_name = "masked_fill"

    @staticmethod
    def forward(ctx, a, mask, value):
        xp = ctx.xp
        if ctx.needs_input_grad and ctx.needs_input_grad[2]:
            ctx.save_for_backward(xp.logical_not(mask))
        ctx.mask = mask
        return xp.where(mask, xp.asarray(value, dtype=a.dtype), a)

    @staticmethod
    def backward(ctx, grad):
        need_a, _, need_value = ctx.needs_input_grad
        grad_a = MaskedFill.apply(grad, ctx.mask, 0.0) if need_a else None
        grad_value = None
        if need_value:
            (unmasked,) = ctx.saved_tensors
            grad_value = MaskedFill.apply(grad, unmasked, 0.0)
        return grad_a, None, grad_value


class Triangle(Primitive):
    """The lower (``tril``) or upper (``triu``) triangle of the last two dims; the rest zero."""

    op_name = "tril"

    @staticmethod
    def forward(ctx, a, diagonal, upper):
        xp = ctx.xp
        ctx.diagonal, ctx.upper = diagonal, upper
        rows, cols = a.shape[-2:]
        if upper:
            keep = xp.logical_not(xp.tri(rows, cols, diagonal - 1, dtype=bool))
        else:
            keep = xp.tri(rows, cols, diagonal, dtype=bool)
        return xp.where(keep, a, xp.zeros((), a.dtype))

    @staticmethod
    def backward(ctx, grad):
        return Triangle.apply(grad, ctx.diagonal, ctx.upper), None, None


class Nonzero(Primitive):
    """Indices of the non-zero elements: an ``(n, ndim)`` int64 array, or one array per dim."""

    @staticmethod
    def forward(ctx, a, as_tuple):
        xp = ctx.xp
        if as_tuple:
            return tuple(i.astype(xp.int64) for i in xp.nonzero(xp.atleast_1d(a)))
        return xp.argwhere(a).astype(xp.int64)
