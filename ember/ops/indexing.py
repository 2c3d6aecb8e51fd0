"""Indexing primitives: getitem (views and copies), index_put, masked_fill, tril/triu, nonzero.

Keys arrive normalised by ``ember.methods.indexing`` as a pair ``(basic, advanced)``: a tuple
of ints, slices, ``None`` and ``Ellipsis`` applied first (a view), then a tuple of slices and
integer arrays of the input's backend applied to that view; either may be None. gather, scatter,
index_select, index_add and friends are these same primitives with a key built by
``along_dim_key`` or ``dim_key``, so one backward serves the whole family.
"""

from __future__ import annotations

from ember.ops import Primitive

_CUPYX_SCATTER = {"add": "scatter_add", "maximum": "scatter_max", "minimum": "scatter_min"}


def ufunc_at(xp, name: str, out, key, values) -> None:
    """``out[key] (op)= values`` unbuffered, so repeated indices all count (NumPy's ``ufunc.at``)."""
    if name == "add" and xp.__name__ == "numpy" and _add_rows(xp, out, key, values):
        return
    at = getattr(getattr(xp, name), "at", None)
    if at is not None:
        try:
            at(out, key, values)
            return
        except NotImplementedError:  # CuPy implements ufunc.at for only some ufuncs
            pass
    if name not in _CUPYX_SCATTER:
        raise NotImplementedError(f"{name}.at (an unbuffered scatter) is not available for {xp.__name__} arrays")
    import cupyx  # only reached with CuPy arrays

    getattr(cupyx, _CUPYX_SCATTER[name])(out, key, values)


def _add_rows(xp, out, key, values) -> bool:
    """``out[rows] += values`` for one integer index over the first axis (an embedding's gradient).

    NumPy's ``add.at`` takes ~5 ms for 1120 rows of 256 floats; sorting the rows (stably) and
    adding them in rounds (each row's first occurrence, then its second, ...) takes 0.6 ms, and
    when rows repeat many times (a small vocabulary) one ``add.reduceat`` per run of equal rows
    is cheaper than many rounds. The rounds add each row's values in index order, as ``add.at``
    does, so they give identical results; ``reduceat`` may sum a run in another order (equal up
    to rounding). Returns False (nothing written) where this path does not apply.
    """
    if type(key) is not tuple or len(key) != 1 or not out.flags.c_contiguous or out.ndim < 1:
        return False
    rows = key[0]
    if not isinstance(rows, xp.ndarray) or rows.dtype.kind not in "iu" or rows.size * out[:1].size < 8192:
        return False  # small scatters: add.at's few microseconds beat this path's ~50
    count = out.shape[0]
    flat = rows.reshape(-1)
    if flat.min() < -count or flat.max() >= count:
        return False  # add.at raises the IndexError
    flat = xp.where(flat < 0, flat + count, flat)
    per_row = xp.broadcast_to(values, rows.shape + out.shape[1:]).reshape(flat.size, -1)
    order = xp.argsort(flat, kind="stable")
    ordered = flat[order]
    first = xp.flatnonzero(xp.concatenate(([True], ordered[1:] != ordered[:-1])))
    lengths = xp.diff(xp.append(first, ordered.size))
    target, picked = out.reshape(count, -1), per_row[order]
    rounds = int(lengths.max())
    if rounds * 10 > first.size:  # ~40 us a round against ~4 us a run for reduceat
        target[ordered[first]] += xp.add.reduceat(picked, first, axis=0)
        return True
    rank = xp.arange(ordered.size) - xp.repeat(first, lengths)
    for k in range(rounds):
        chosen = rank == k
        target[ordered[chosen]] += picked[chosen]
    return True


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


def check_bounds(xp, index, size: int, dim: int, op: str, negative: bool = True,
                 error=IndexError) -> None:
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
