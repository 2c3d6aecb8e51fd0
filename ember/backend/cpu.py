"""The CPU backend, on NumPy."""

from __future__ import annotations

import contextlib

import numpy as np

from ember.backend import threads
from ember.device import device

name = "cpu"
xp = np
_CPU = device("cpu")


def is_available() -> bool:
    return True


def device_count() -> int:
    return 1


def device_of(array) -> device:
    return _CPU


def to_numpy(array):
    return array


def synchronize(index: int | None = None) -> None:
    """Nothing to wait for: NumPy calls finish before they return."""


def _scipy(submodule: str, extra: str, needed_for: str):
    try:
        scipy = __import__(f"scipy.{submodule}")  # as an import statement does (tests stub it)
    except ImportError as exc:
        raise ImportError(
            f"ember needs SciPy's scipy.{submodule} on the CPU for {needed_for}: "
            f'pip install "ember[{extra}]" (or pip install scipy)'
        ) from exc
    return getattr(scipy, submodule)


def sparse_module():
    """``scipy.sparse``: the sparse-matrix kernels for NumPy arrays (SciPy is optional)."""
    return _scipy("sparse", "sparse", "sparse tensors")


def special_module():
    """``scipy.special``: special-function kernels for NumPy arrays (SciPy is optional)."""
    return _scipy("special", "special", "this special function")


def current_device() -> int:
    return 0


def device_guard(index: int | None):
    return contextlib.nullcontext()


# -- kernels that differ between backends -------------------------------------------------------
def ufunc_at(ufunc_name: str, out, key, values) -> None:
    """``out[key] (op)= values`` unbuffered: repeated indices all count (NumPy's ``ufunc.at``)."""
    if ufunc_name == "add" and _add_rows(out, key, values):
        return
    getattr(np, ufunc_name).at(out, key, values)


def _add_rows(out, key, values) -> bool:
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
    if not isinstance(rows, np.ndarray) or rows.dtype.kind not in "iu" or rows.size * out[:1].size < 8192:
        return False  # small scatters: add.at's few microseconds beat this path's ~50
    count = out.shape[0]
    flat = rows.reshape(-1)
    if flat.min() < -count or flat.max() >= count:
        return False  # add.at raises the IndexError
    flat = np.where(flat < 0, flat + count, flat)
    per_row = np.broadcast_to(values, rows.shape + out.shape[1:]).reshape(flat.size, -1)
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    first = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    lengths = np.diff(np.append(first, ordered.size))
    target, picked = out.reshape(count, -1), per_row[order]
    rounds = int(lengths.max())
    if rounds * 10 > first.size:  # ~40 us a round against ~4 us a run for reduceat
        target[ordered[first]] += np.add.reduceat(picked, first, axis=0)
        return True
    rank = np.arange(ordered.size) - np.repeat(first, lengths)
    for k in range(rounds):
        chosen = rank == k
        target[ordered[chosen]] += picked[chosen]
    return True


def copy_rows(dst, src) -> None:
    """``dst[...] = src`` (same shapes), a whole last-axis row at a time where rows are contiguous.

    NumPy's strided copy pays a fixed cost per row of the last axis; rows of 8-28 elements (the
    windows and padded planes of small images) copy 1.3-2.5x faster viewed as single ``void``
    records of a row's bytes, one memcpy each (im2col of LeNet's second layer: 0.77 -> 0.30 ms,
    of 64 channels on 8x8: 2.8 -> 1.6 ms). Other arrays copy element-wise.
    """
    if (
        src.dtype == dst.dtype
        and src.size > 0
        and src.ndim
        and src.strides[-1] == dst.strides[-1] == src.itemsize
    ):
        row = np.dtype((np.void, src.shape[-1] * src.itemsize))
        dst.view(row)[...] = src.view(row)
    else:
        dst[...] = src


try:  # NumPy 2 keeps its floating-point error state in one context variable
    from numpy._core._ufunc_config import _extobj_contextvar as _ERRSTATE
    from numpy._core._ufunc_config import _make_extobj

    _IGNORE_ALL = _make_extobj(all="ignore")
except ImportError:  # another NumPy: the public context manager
    _ERRSTATE = None


class _QuietFloatingPoint:
    """NumPy's floating-point warnings off inside a block, by setting its error-state context
    variable directly: about four times cheaper than ``np.errstate``, which matters on the hot
    ops (division) that run it."""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _ERRSTATE.set(_IGNORE_ALL)

    def __exit__(self, *exc_info) -> None:
        _ERRSTATE.reset(self._token)


def quiet_floating_point():
    """A context in which overflow, division by zero and invalid operations give inf or NaN
    silently, as PyTorch's kernels do."""
    if _ERRSTATE is None:
        return np.errstate(all="ignore")
    return _QuietFloatingPoint()


def special_functions():
    """``scipy.special`` (compiled special functions), or None when SciPy is missing (ember's
    own kernels then do the work where it has them)."""
    try:
        return special_module()
    except ImportError:
        return None


def from_dlpack(obj):
    return np.from_dlpack(obj)


def chunk_elements(cache_sized: int) -> int:
    """Elements per pass of a chained elementwise computation: the op's cache-sized chunk (its
    temporaries stay in L2 between passes)."""
    return cache_sized


def parallel_for(n: int, body, *, align: int = threads.ALIGN, min_elements: int | None = None):
    """``body(start, stop)`` over ``[0, n)``, split across the intra-op pool when large
    (``ember.backend.threads.parallel_for``)."""
    threads.parallel_for(n, body, align=align, min_elements=min_elements)


def parallel_elementwise(kernel, *operands, out=None, dtype=None, min_elements: int | None = None):
    """``kernel(*operands, out=out)``, split across the intra-op pool when that is the same
    computation (``ember.backend.threads.parallel_elementwise``)."""
    return threads.parallel_elementwise(kernel, *operands, out=out, dtype=dtype, min_elements=min_elements)


def address(array) -> int:
    """The address of an array's first element."""
    return array.__array_interface__["data"][0]
