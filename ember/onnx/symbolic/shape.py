"""Movement and indexing primitives: reshape, expand, permute, slicing, gathers, joins."""

from __future__ import annotations

import numpy as np

from ember.onnx.graph import INT64_MAX
from ember.onnx.registry import symbolic
from ember.tensor import Tensor


@symbolic("Reshape")
def _reshape(g):
    src, out, alt_out = g.traced(0), g.output(), g.alt_output()
    alt_src = g.alt_arg(0)._data if g.step.alt is not None else None
    if alt_out is None or alt_out.shape == out.shape:
        return g.op("Reshape", g.arg(0), g.i64(out.shape))
    target, free = [], 0
    for d, (size, alt_size) in enumerate(zip(out.shape, alt_out.shape)):
        if size == alt_size:
            target.append(size)
        elif d < src.ndim and src.shape[d] == size and alt_src.shape[d] == alt_size:
            target.append(0)  # copied from the input's dimension
        else:
            target.append(-1)
            free += 1
    if free > 1 or any(s == 0 for s in out.shape):
        return g.op("Reshape", g.arg(0), g.sizes(out.shape, alt_out.shape))
    return g.op("Reshape", g.arg(0), g.i64(target))


@symbolic("Expand")
def _expand(g):
    src, out, alt_out = g.traced(0), g.output(), g.alt_output()
    target = list(out.shape)
    if alt_out is not None and alt_out.shape != out.shape:
        offset = out.ndim - src.ndim
        alt_src = g.alt_arg(0)._data
        for d, (size, alt_size) in enumerate(zip(out.shape, alt_out.shape)):
            s = d - offset
            if size != alt_size and s >= 0 and src.shape[s] == size and alt_src.shape[s] == alt_size:
                target[d] = 1  # Expand keeps the input's own size there
        if any(t != 1 and t != a for t, a in zip(target, alt_out.shape) if t != a):
            return g.op("Expand", g.arg(0), g.sizes(out.shape, alt_out.shape))
    return g.op("Expand", g.arg(0), g.i64(target))


@symbolic("Permute")
def _permute(g):
    return g.op("Transpose", g.arg(0), perm=list(g.step.args[1]))


def _basic_key(g, key, ndim):
    """Expand ``key`` (ints, slices, None, Ellipsis) to one entry per input dim plus Nones."""
    key = key if isinstance(key, tuple) else (key,)
    used = sum(1 for k in key if k is not None and k is not Ellipsis)
    out = []
    for k in key:
        if k is Ellipsis:
            out.extend([slice(None)] * (ndim - used))
            used = ndim
        else:
            out.append(k)
    while sum(1 for k in out if k is not None) < ndim:
        out.append(slice(None))
    return out


def _index_view(g, name, src, key, alt_key=None):
    entries = _basic_key(g, key, src.ndim)
    alt_entries = _basic_key(g, alt_key, src.ndim) if alt_key is not None else None
    starts, ends, axes, steps, gathers, unsqueeze = [], [], [], [], [], []
    dim = 0
    for pos, k in enumerate(entries):
        alt_k = alt_entries[pos] if alt_entries is not None else k
        if k is None:
            unsqueeze.append(pos)
            continue
        if isinstance(k, slice):
            start, stop, step = k.indices(src.shape[dim])
            if (start, stop, step) != (0, src.shape[dim], 1):
                if k != alt_k and not (k.stop is None or stop == src.shape[dim]):
                    raise g.error(
                        "a slice bound that follows the input's size cannot be exported with dynamic_axes"
                    )
                full_stop = stop == src.shape[dim] and step > 0
                starts.append(start)
                ends.append(INT64_MAX if full_stop else (stop if stop >= 0 else -INT64_MAX))
                axes.append(dim)
                steps.append(step)
        else:
            gathers.append((dim, int(k) % src.shape[dim]))
        dim += 1
    if starts:
        name = g.op("Slice", name, g.i64(starts), g.i64(ends), g.i64(axes), g.i64(steps))
    for axis, index in sorted(gathers, reverse=True):
        name = g.op("Gather", name, g.const(np.asarray(index, dtype=np.int64)), axis=axis)
    # positions of None in the output: count the dims kept before each None
    if unsqueeze:
        out_axes, kept = [], 0
        for k in entries:
            if k is None:
                out_axes.append(kept)
                kept += 1
            elif isinstance(k, slice):
                kept += 1
        name = g.op("Unsqueeze", name, g.i64(out_axes))
    return name


@symbolic("BasicIndex", "Slice")
def _basic_index(g):
    alt = g.step.alt.args[1] if g.step.alt is not None else None
    return _index_view(g, g.arg(0), g.traced(0), g.step.args[1], alt)


@symbolic("AdvancedIndex")
def _advanced_index(g):
    key = g.step.args[1]
    key = key if isinstance(key, tuple) else (key,)
    arrays = [(i, k) for i, k in enumerate(key) if not isinstance(k, slice)]
    if len(arrays) != 1 or any(isinstance(k, slice) and k != slice(None) for k in key):
        raise g.error(
            "only indexing one dimension with an integer tensor (x[idx], x[:, idx]) "
            "exports; index one dimension at a time"
        )
    pos, index = arrays[0]
    if getattr(index, "dtype", None) is not None and index.dtype == np.bool_:
        raise g.error("boolean-mask indexing gives a data-dependent shape; use torch.where")
    index_name = _array_name(g, index, 1, pos)
    if index.dtype != np.int64:
        index_name = g.cast_like(index_name, np.int64)
    return g.op("Gather", g.arg(0), index_name, axis=pos)


def _array_name(g, array, arg, pos):
    """The value name of an index array inside a key (a traced tensor's array, or a constant)."""
    alt = None
    if g.step.alt is not None:
        alt_key = g.step.alt.args[arg]
        alt = (alt_key if isinstance(alt_key, tuple) else (alt_key,))[pos]
    return g.name_of_array(array, alt)


@symbolic("Cat")
def _cat(g):
    names = [g.arg(i) for i in range(len(g.step.args))]
    return g.op("Concat", *names, axis=g.step.kwargs["dim"])


@symbolic("Stack")
def _stack(g):
    dim = g.step.kwargs["dim"]
    names = [g.op("Unsqueeze", g.arg(i), g.i64([dim])) for i in range(len(g.step.args))]
    return g.op("Concat", *names, axis=dim)


@symbolic("Split")
def _split(g):
    dim, sizes = g.step.args[1], g.step.args[2]
    if g.step.alt is not None and list(g.step.alt.args[2]) != list(sizes):
        raise g.error("a split whose sizes follow the input's size cannot be exported with dynamic_axes")
    outs = g.op("Split", g.arg(0), g.i64(sizes), axis=dim, outputs=len(sizes))
    return outs if isinstance(outs, list) else [outs]


@symbolic("Unbind")
def _unbind(g):
    dim = g.step.args[1]
    n = g.traced(0).shape[dim]
    outs = g.op("Split", g.arg(0), g.i64([1] * n), axis=dim, outputs=n)
    outs = outs if isinstance(outs, list) else [outs]
    return [g.op("Squeeze", o, g.i64([dim])) for o in outs]


@symbolic("Flip")
def _flip(g):
    dims = g.step.args[1]
    if not dims:
        return g.op("Identity", g.arg(0))
    n = len(dims)
    return g.op("Slice", g.arg(0), g.i64([-1] * n), g.i64([-INT64_MAX] * n), g.i64(dims), g.i64([-1] * n))


@symbolic("Triangle")
def _triangle(g):
    diagonal, upper = g.step.args[1], g.step.args[2]
    return g.op("Trilu", g.arg(0), g.const(np.asarray(diagonal, dtype=np.int64)), upper=int(bool(upper)))


@symbolic("MaskedFill")
def _masked_fill(g):
    value = g.step.args[2]
    fill = g.arg(2) if isinstance(value, Tensor) else g.scalar(value, g.traced(0).dtype)
    return g.op("Where", g.arg(1), fill, g.arg(0))


@symbolic("Embed")
def _embed(g):
    """Zeros of ``shape`` with the input placed by a key of unit-step slices: a constant Pad."""
    shape, key = g.step.args[1], g.step.args[2]
    key = key if isinstance(key, tuple) else (key,)
    src = g.traced(0)
    if len(key) > len(shape) or not all(isinstance(k, slice) for k in key):
        raise g.error("placing a tensor by this index has no ONNX mapping here")
    begins, ends = [0] * len(shape), [0] * len(shape)
    for d, k in enumerate(key):
        start, stop, step = k.indices(shape[d])
        if step != 1:
            raise g.error("placing a tensor with a strided slice has no ONNX mapping here")
        begins[d], ends[d] = start, shape[d] - stop
    if src.ndim != len(shape):
        raise g.error("placing a tensor of another rank has no ONNX mapping here")
    return g.op("Pad", g.arg(0), g.i64(begins + ends), mode="constant")


@symbolic("IndexPad")
def _index_pad(g):
    pads, mode = g.step.args[1], g.step.args[2]
    ndim = g.traced(0).ndim
    begins, ends = [0] * ndim, [0] * ndim
    first = ndim - len(pads)
    for i, (before, after) in enumerate(pads):
        begins[first + i], ends[first + i] = before, after
    onnx_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}.get(mode)
    if onnx_mode is None:
        raise g.error(f"padding mode {mode!r} has no ONNX mapping")
    return g.op("Pad", g.arg(0), g.i64(begins + ends), mode=onnx_mode)
