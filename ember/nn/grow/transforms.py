"""The growth transformations themselves: pure functions, arrays in and arrays out.

Net2Net (Chen, Goodfellow and Shlens, 2016) in three moves:

* a layer's output units are selected by an *index*: ``[0, 1, ..., n-1]`` followed by the
  units each new unit copies (widening), or the units kept (pruning);
* the layer's incoming weights (rows of a Linear, output channels of a Conv, columns of an
  Embedding) and anything else per unit (bias, BatchNorm's tensors) are taken at the index;
* the next layer's weights for a unit (its columns) are taken at the index too and, when
  widening, divided by the number of copies of their unit, so that the copies together add up
  to what the one unit gave before. The function is unchanged.
"""

from __future__ import annotations

from ember.backend import xp_of

__all__ = ["copy_counts", "delta_kernel", "identity_matrix", "split_units", "take_units", "widen_index"]


def widen_index(old: int, new: int, order: list[int]) -> list[int]:
    """The units of a layer grown from ``old`` to ``new``: all old ones, then copies.

    ``order`` is a random permutation of ``range(old)``, cycled: each unit is copied at most
    once more than any other, so the copies spread evenly.

    >>> widen_index(3, 7, [2, 0, 1])
    [0, 1, 2, 2, 0, 1, 2]
    """
    extra = [order[i % old] for i in range(new - old)]
    return list(range(old)) + extra


def copy_counts(index: list[int], units: int) -> list[int]:
    """How many times each unit appears in ``index`` (how many ways it is split).

    >>> copy_counts([0, 1, 2, 2, 0], 3)
    [2, 1, 2]
    """
    counts = [0] * units
    for u in index:
        counts[u] += 1
    return counts


def take_units(array, index: list[int], axis: int):
    """``array``'s slices along ``axis`` at ``index`` (copies of a unit's incoming weights)."""
    xp = xp_of(array)
    return xp.take(array, xp.asarray(index, dtype=xp.int64), axis=axis)


def split_units(array, index: list[int], axis: int, outer: int = 1, inner: int = 1, divide: bool = True):
    """The consumer's side: positions along ``axis`` grouped as ``(outer, units, inner)``,
    taken at ``index`` along ``units`` and, with ``divide``, shared among each unit's copies.

    >>> import ember
    >>> split_units(ember.tensor([[2.0, 4.0]]).numpy(), [0, 1, 1], axis=1).tolist()
    [[2.0, 2.0, 2.0]]
    """
    xp = xp_of(array)
    shape = array.shape
    units = shape[axis] // (outer * inner)
    grouped = array.reshape(shape[:axis] + (outer, units, inner) + shape[axis + 1 :])
    if divide:
        counts = xp.asarray(copy_counts(index, units), dtype=array.dtype)
        grouped = grouped / counts.reshape((units, 1) + (1,) * (len(shape) - axis - 1))
    taken = xp.take(grouped, xp.asarray(index, dtype=xp.int64), axis=axis + 1)
    return taken.reshape(shape[:axis] + (outer * len(index) * inner,) + shape[axis + 1 :])


def identity_matrix(like, n: int):
    """An ``n x n`` identity in ``like``'s dtype and array module: a Linear that changes nothing."""
    xp = xp_of(like)
    return xp.eye(n, dtype=like.dtype)


def delta_kernel(like, channels: int, kernel_size: tuple[int, ...]):
    """A ``(C, C, *k)`` convolution kernel with a 1 at each channel's own centre tap: with
    "same" padding, a convolution that changes nothing."""
    xp = xp_of(like)
    kernel = xp.zeros((channels, channels) + tuple(kernel_size), dtype=like.dtype)
    centre = tuple(k // 2 for k in kernel_size)
    for c in range(channels):
        kernel[(c, c) + centre] = 1
    return kernel
