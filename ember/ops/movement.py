"""Shape and movement primitives: views (reshape, expand, permute, slices, windows) and copies.

View ops set ``is_view``: their output shares memory and the version counter with the input.
Each op whose backward is not itself a view op (a slice is undone by writing into zeros) is
paired with a primitive for that backward, whose own backward is the first op again, so
``create_graph=True`` keeps working: Slice/Embed, Unfold/FoldWindows, Diagonal/DiagonalEmbed,
RepeatInterleave/SegmentSum, Cat/Split, Stack/Unbind.
"""

from __future__ import annotations

from ember.ops import Primitive


def view_strides(shape: tuple, strides: tuple, new_shape: tuple) -> tuple | None:
    """Strides that show an array of ``shape``/``strides`` as ``new_shape`` without a copy, or None.

    Dims of the old shape are grouped into chunks that are contiguous among themselves; the new
    shape must split each chunk exactly (PyTorch's rule for ``view``).
    """
    numel = 1
    for s in shape:
        numel *= s
    if numel == 0 or not shape:
        step = 1
        out = []
        for s in reversed(new_shape):  # any layout works: use C-contiguous strides
            out.append(step)
            step *= max(s, 1)
        return tuple(reversed(out))
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_stride = strides[-1]
    old_numel = view_numel = 1
    for d in range(len(shape) - 1, -1, -1):
        old_numel *= shape[d]
        chunk_ends = d == 0 or (shape[d - 1] != 1 and strides[d - 1] != old_numel * chunk_stride)
        if not chunk_ends:
            continue
        while view_d >= 0 and (view_numel < old_numel or new_shape[view_d] == 1):
            new_strides[view_d] = view_numel * chunk_stride
            view_numel *= new_shape[view_d]
            view_d -= 1
        if view_numel != old_numel:
            return None
        if d > 0:
            chunk_stride = strides[d - 1]
            old_numel = view_numel = 1
    return tuple(new_strides) if view_d == -1 else None


def _as_strided(xp, a, shape, strides):
    return xp.lib.stride_tricks.as_strided(a, shape=shape, strides=strides)


class Reshape(Primitive):
    """A view with a new shape; callers make sure the layout allows it (see ``view_strides``)."""

    is_view = True
    op_name = "view"

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward_arrays(ctx, grad):
        return grad.reshape(ctx.shape), None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None


class Expand(Primitive):
    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return ctx.xp.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.sum_to_size(ctx.shape), None


class Permute(Primitive):
    is_view = True

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return a.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return grad.permute(inverse), None


class Slice(Primitive):
    """``a[index]`` for a basic index: a tuple of ints and slices (narrow, select, ...)."""

    is_view = True
    op_name = "slice"

    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.index = a.shape, index
        return a[index + (Ellipsis,)]  # the Ellipsis keeps a full integer index an array view

    @staticmethod
    def backward(ctx, grad):
        return Embed.apply(grad, ctx.shape, ctx.index), None


class Embed(Primitive):
    """Zeros of ``shape`` with ``g`` written at ``index``: the backward of ``Slice``."""

    op_name = "slice_backward"

    @staticmethod
    def forward(ctx, g, shape, index):
        ctx.index = index
        out = ctx.xp.zeros(shape, g.dtype)
        out[index + (Ellipsis,)] = g
        return out

    @staticmethod
    def backward(ctx, grad):
        return Slice.apply(grad, ctx.index), None, None


class Unfold(Primitive):
    """Sliding windows of ``size`` every ``step`` along ``dim``, as a new last dim (a view)."""

    is_view = True

    @staticmethod
    def forward(ctx, a, dim, size, step):
        ctx.shape, ctx.args = a.shape, (dim, size, step)
        n = (a.shape[dim] - size) // step + 1
        shape = a.shape[:dim] + (n,) + a.shape[dim + 1 :] + (size,)
        s = a.strides
        strides = s[:dim] + (s[dim] * step,) + s[dim + 1 :] + (s[dim],)
        return _as_strided(ctx.xp, a, shape, strides)

    @staticmethod
    def backward(ctx, grad):
        return FoldWindows.apply(grad, ctx.shape, *ctx.args), None, None, None


class FoldWindows(Primitive):
    """Sum windows back into an array of ``shape``: the backward of ``Unfold``."""

    op_name = "unfold_backward"

    @staticmethod
    def forward(ctx, g, shape, dim, size, step):
        ctx.args = (dim, size, step)
        out = ctx.xp.zeros(shape, g.dtype)
        n = g.shape[dim]
        lead = (slice(None),) * dim
        for k in range(size):
            out[lead + (slice(k, k + step * (n - 1) + 1, step),)] += g[..., k]
        return out

    @staticmethod
    def backward(ctx, grad):
        return Unfold.apply(grad, *ctx.args), None, None, None, None


def _diagonal_view(xp, a, offset, dim1, dim2):
    lead = [slice(None)] * a.ndim
    if offset >= 0:
        lead[dim2] = slice(offset, None)
    else:
        lead[dim1] = slice(-offset, None)
    a = a[tuple(lead)]
    n = max(0, min(a.shape[dim1], a.shape[dim2]))
    keep = [d for d in range(a.ndim) if d not in (dim1, dim2)]
    shape = tuple(a.shape[d] for d in keep) + (n,)
    strides = tuple(a.strides[d] for d in keep) + (a.strides[dim1] + a.strides[dim2],)
    return _as_strided(xp, a, shape, strides)


class Diagonal(Primitive):
    """The diagonal of the (dim1, dim2) planes, shifted by ``offset``, as a new last dim (a view)."""

    is_view = True

    @staticmethod
    def forward(ctx, a, offset, dim1, dim2):
        ctx.shape, ctx.args = a.shape, (offset, dim1, dim2)
        return _diagonal_view(ctx.xp, a, offset, dim1, dim2)

    @staticmethod
    def backward(ctx, grad):
        return DiagonalEmbed.apply(grad, ctx.shape, *ctx.args), None, None, None


class DiagonalEmbed(Primitive):
    """Zeros of ``shape`` with ``g`` on a diagonal: the backward of ``Diagonal``."""

    op_name = "diagonal_backward"

    @staticmethod
    def forward(ctx, g, shape, offset, dim1, dim2):
        ctx.args = (offset, dim1, dim2)
        out = ctx.xp.zeros(shape, g.dtype)
        _diagonal_view(ctx.xp, out, offset, dim1, dim2)[...] = g
        return out

    @staticmethod
    def backward(ctx, grad):
        return Diagonal.apply(grad, *ctx.args), None, None, None, None


class Cat(Primitive):
    """Join arrays of one dtype along ``dim`` in one call; backward splits the grad with views."""

    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.dim, ctx.sizes = dim, tuple(a.shape[dim] for a in arrays)
        return ctx.xp.concatenate(arrays, axis=dim)

    @staticmethod
    def backward_arrays(ctx, grad):
        lead, start, pieces = (slice(None),) * ctx.dim, 0, []
        for size, need in zip(ctx.sizes, ctx.needs_input_grad):
            pieces.append(grad[lead + (slice(start, start + size),)] if need else None)
            start += size
        return tuple(pieces)

    @staticmethod
    def backward(ctx, grad):
        pieces = Split.apply(grad, ctx.dim, ctx.sizes)
        return tuple(p if need else None for p, need in zip(pieces, ctx.needs_input_grad))


class Split(Primitive):
    """Consecutive pieces of ``sizes`` along ``dim``, all views; backward joins the grads."""

    is_view = True

    @staticmethod
    def forward(ctx, a, dim, sizes):
        ctx.dim = dim
        lead = (slice(None),) * dim
        out, start = [], 0
        for s in sizes:
            out.append(a[lead + (slice(start, start + s),)])
            start += s
        return tuple(out)

    @staticmethod
    def backward(ctx, *grads):
        return Cat.apply(*grads, dim=ctx.dim), None, None


class Stack(Primitive):
    """Join arrays of one shape and dtype along a new ``dim``; backward unbinds the grad."""

    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.dim = dim
        return ctx.xp.stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        pieces = Unbind.apply(grad, ctx.dim)
        return tuple(p if need else None for p, need in zip(pieces, ctx.needs_input_grad))


class Unbind(Primitive):
    """Every index along ``dim``, each a view without that dim; backward stacks the grads."""

    is_view = True

    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        lead = (slice(None),) * dim
        return tuple(a[lead + (i, Ellipsis)] for i in range(a.shape[dim]))

    @staticmethod
    def backward(ctx, *grads):
        return Stack.apply(*grads, dim=ctx.dim), None


class Flip(Primitive):
    """Reverse the order along ``dims`` (a copy, as in PyTorch)."""

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return ctx.xp.flip(a, dims).copy() if dims else a.copy()

    @staticmethod
    def backward(ctx, grad):
        return Flip.apply(grad, ctx.dims), None


class Roll(Primitive):
    """Shift cyclically by ``shifts`` along ``dims`` (None: over the flattened array)."""

    @staticmethod
    def forward(ctx, a, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return ctx.xp.roll(a, shifts, axis=dims)

    @staticmethod
    def backward(ctx, grad):
        back = -ctx.shifts if isinstance(ctx.shifts, int) else tuple(-s for s in ctx.shifts)
        return Roll.apply(grad, back, ctx.dims), None, None


class RepeatInterleave(Primitive):
    """Repeat element ``i`` along ``dim`` ``repeats[i]`` times (``repeats``: a tuple of ints)."""

    @staticmethod
    def forward(ctx, a, repeats, dim):
        ctx.repeats, ctx.dim = repeats, dim
        return ctx.xp.repeat(a, repeats, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return SegmentSum.apply(grad, ctx.repeats, ctx.dim), None, None


class SegmentSum(Primitive):
    """Sum consecutive runs of ``repeats[i]`` entries along ``dim``: the backward of RepeatInterleave."""

    op_name = "repeat_interleave_backward"

    @staticmethod
    def forward(ctx, g, repeats, dim):
        ctx.repeats, ctx.dim = repeats, dim
        xp = ctx.xp
        moved = xp.moveaxis(g, dim, 0)
        out = xp.zeros((len(repeats),) + moved.shape[1:], g.dtype)
        used, starts, start = [], [], 0
        for i, r in enumerate(repeats):
            if r > 0:
                used.append(i)
                starts.append(start)
            start += r
        if used:
            out[xp.asarray(used)] = xp.add.reduceat(moved, xp.asarray(starts), axis=0)
        return xp.moveaxis(out, 0, dim)

    @staticmethod
    def backward(ctx, grad):
        return RepeatInterleave.apply(grad, ctx.repeats, ctx.dim), None, None
