"""nn.functional: ``pad`` (constant, reflect, replicate, circular)."""

from __future__ import annotations

from ember.ops.conv import IndexPad
from ember.ops.movement import Embed, Slice
from ember.tensor import Tensor, make

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad: tuple | list, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the trailing dims: ``pad = (left, right, top, bottom, ...)``, last dim first, as PyTorch.

    ``constant`` pads with ``value`` (negative pads crop) and works on any number of dims;
    ``reflect``, ``replicate`` and ``circular`` pad the last 1-3 dims of a batched or unbatched
    input.

    >>> import ember
    >>> pad(ember.ones(1, 2, 3), (1, 2)).shape
    ember.Size([1, 2, 6])
    >>> pad(ember.tensor([[[0., 1., 2.]]]), (2, 1), mode="reflect")
    tensor([[[2., 1., 0., 1., 2., 1.]]])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pad: expected a Tensor input, got {type(input).__name__}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.dim():
        raise RuntimeError(
            f"pad: padding length must be even and at most 2 * input dims, got {len(pad)} values "
            f"for an input of shape {list(input.shape)}"
        )
    if mode not in _MODES:
        raise NotImplementedError(f"pad: unknown mode {mode!r}; expected one of {list(_MODES)}")
    pairs = tuple(reversed([(pad[i], pad[i + 1]) for i in range(0, len(pad), 2)]))
    if mode == "constant":
        return _constant_pad(input, pairs, 0.0 if value is None else value)
    if value is not None and value != 0:
        raise ValueError(f"pad: padding mode {mode!r} doesn't take in value argument")
    _check_index_pad(input, pairs, mode)
    return IndexPad.apply(input, pairs, mode)


def _check_index_pad(input: Tensor, pairs: tuple, mode: str) -> None:
    k, shape = len(pairs), list(input.shape)
    if k > 3 or input.dim() not in (k + 1, k + 2):
        raise NotImplementedError(
            f"pad: mode {mode!r} pads the last 1, 2 or 3 dims of an input with one or two more "
            f"dims (unbatched or batched); got {2 * k} pad values for shape {shape}"
        )
    for (before, after), size in zip(pairs, shape[-k:]):
        if before < 0 or after < 0:
            raise RuntimeError(f"pad: negative padding {list(pairs)} is only supported in mode 'constant'")
        limit = size - 1 if mode == "reflect" else size
        if mode != "replicate" and (before > limit or after > limit):
            raise RuntimeError(
                f"pad: {mode} padding ({before}, {after}) must be at most {limit} for a dim of size "
                f"{size} (input shape {shape})"
            )
        if mode == "replicate" and size == 0:
            raise RuntimeError(f"pad: replicate padding needs non-empty dims, got shape {shape}")


def _constant_pad(input: Tensor, pairs: tuple, value) -> Tensor:
    first = input.dim() - len(pairs)
    shape = list(input.shape)
    crop = [slice(None)] * input.dim()
    for i, (before, after) in enumerate(pairs):
        size = shape[first + i]
        start, stop = max(-before, 0), size - max(-after, 0)
        if stop < start:
            raise RuntimeError(
                f"pad: padding {list(pairs)} crops a dim of size {size} below zero "
                f"(input shape {list(input.shape)})"
            )
        crop[first + i] = slice(start, stop)
    if any(b < 0 or a < 0 for b, a in pairs):
        input = Slice.apply(input, tuple(crop))
    shape = list(input.shape)
    place = [slice(None)] * input.dim()
    for i, (before, after) in enumerate(pairs):
        size = shape[first + i]
        place[first + i] = slice(max(before, 0), max(before, 0) + size)
        shape[first + i] = size + max(before, 0) + max(after, 0)
    if tuple(shape) == tuple(input.shape):
        return input.clone()
    out = Embed.apply(input, tuple(shape), tuple(place))
    if value != 0:
        fill = input.xp.full(tuple(shape), value, dtype=input._data.dtype)
        fill[tuple(place)] = 0
        out = out + make(fill)
    return out
