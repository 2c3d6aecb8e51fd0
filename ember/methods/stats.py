"""Statistics and searching: histograms, running extremes, quantiles, mode, covariance,
unique values, bucketing and distances.

Values that select input elements (cummax, quantile, nanmedian, mode) are read with ``gather``
so their gradients flow; counts, indices and bucket numbers never join the graph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ember import backend, dtypes
from ember.methods._util import return_type, wrap_dim
from ember.methods.elementwise import _float
from ember.methods.join import stack
from ember.ops import scan
from ember.tensor_core import TensorBase, make

if TYPE_CHECKING:
    from ember.tensor import Tensor

FUNCTIONS = [
    "histc",
    "histogram",
    "bincount",
    "cummax",
    "cummin",
    "logcumsumexp",
    "quantile",
    "nanquantile",
    "nanmedian",
    "mode",
    "cov",
    "corrcoef",
    "unique",
    "unique_consecutive",
    "dist",
    "renorm",
]
__all__ = ["bucketize", "cdist", "histogramdd", "isin", "searchsorted"]
INPLACE = ["renorm"]

values_indices = {
    name: return_type(name, ["values", "indices"]) for name in ("cummax", "cummin", "nanmedian", "mode")
}
histogram_result = return_type("histogram", ["hist", "bin_edges"])


def _host(t: Tensor) -> np.ndarray:
    return backend.to_device(t._data, "cpu") if not t.is_cpu else t._data


def _like(array, t: Tensor) -> Tensor:
    """A host result as a tensor on ``t``'s device."""
    return make(backend.to_device(np.ascontiguousarray(array), t.device))


def _index_tensor(array, t: Tensor) -> Tensor:
    return make(t.xp.asarray(array, dtype="int64"))


class StatsMethods:
    __slots__ = ()

    # -- histograms ---------------------------------------------------------------------------
    def histc(self, bins: int = 100, min=0, max=0) -> Tensor:
        """Counts in ``bins`` equal bins over [min, max] (the data's range when min == max)."""
        if not dtypes.is_floating_np(self._data.dtype):
            raise RuntimeError(f"histc: expected a floating tensor, got {self.dtype}")
        data = _host(self)
        lo, hi = float(min), float(max)
        if lo == hi and data.size:
            lo, hi = float(data.min()), float(data.max())
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        if lo > hi:
            raise RuntimeError(f"histc: max must be larger than min, got min={min}, max={max}")
        counts, _ = np.histogram(data, bins=int(bins), range=(lo, hi))
        return _like(counts.astype(data.dtype), self)

    def histogram(self, bins=100, *, range=None, weight=None, density: bool = False):
        """``(hist, bin_edges)``; ``bins`` is a count or a tensor of edges."""
        data = _host(self)
        edges = _host(bins) if isinstance(bins, TensorBase) else int(bins)
        weights = None if weight is None else _host(weight)
        hist, bin_edges = np.histogram(data, bins=edges, range=range, weights=weights, density=density)
        return histogram_result(
            _like(hist.astype(data.dtype), self), _like(bin_edges.astype(data.dtype), self)
        )

    def bincount(self, weights=None, minlength: int = 0) -> Tensor:
        """Counts of each value of a 1-D non-negative integer tensor (weighted sums if given)."""
        if self._data.ndim != 1 or self._data.dtype.kind not in "iub":
            raise RuntimeError(
                f"bincount only supports 1-d non-negative integral inputs, got "
                f"{self.dtype} of shape {list(self.shape)}"
            )
        data = _host(self)
        if data.size and data.min() < 0:
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        w = None if weights is None else _host(weights)
        counts = np.bincount(data, weights=w, minlength=int(minlength))
        if weights is None:
            return _like(counts.astype(np.int64), self)
        dtype = w.dtype if w.dtype.kind == "f" else np.float64
        return _like(counts.astype(dtype), self)

    # -- running extremes and scans -----------------------------------------------------------
    def _running_extreme(self, dim: int, op: str, ufunc: str):
        d = wrap_dim(dim, self._data.ndim, op)
        if self._data.ndim == 0:
            return values_indices[op](self.clone(), _index_tensor(0, self))
        x = _host(self)  # ufunc.accumulate is NumPy's (CuPy lacks it for maximum/minimum)
        best = getattr(np, ufunc).accumulate(x, axis=d)
        shape = [1] * x.ndim
        shape[d] = x.shape[d]
        positions = np.arange(x.shape[d]).reshape(shape)
        hit = (x == best) | (np.isnan(x) if dtypes.is_floating_np(x.dtype) else False)
        indices = np.maximum.accumulate(np.where(hit, positions, 0), axis=d)
        idx = _like(indices.astype(np.int64), self)
        return values_indices[op](self.gather(d, idx), idx)

    def cummax(self, dim: int):
        """``(values, indices)`` of the running maximum along ``dim``."""
        return self._running_extreme(dim, "cummax", "maximum")

    def cummin(self, dim: int):
        """``(values, indices)`` of the running minimum along ``dim``."""
        return self._running_extreme(dim, "cummin", "minimum")

    def logcumsumexp(self, dim: int) -> Tensor:
        """``log(cumsum(exp(self), dim))``, without overflow."""
        x = _float(self)
        if x._data.ndim == 0:
            return x.clone()
        return scan.LogCumSumExp.apply(x, wrap_dim(dim, x._data.ndim, "logcumsumexp"))

    # -- order statistics ---------------------------------------------------------------------
    def quantile(self, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear"):
        """The ``q``-quantiles along ``dim`` (of all values when None); NaN if a slice has NaN."""
        return _quantile(self, q, dim, keepdim, interpolation, "quantile", ignore_nan=False)

    def nanquantile(self, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear"):
        """``quantile`` ignoring NaN values."""
        return _quantile(self, q, dim, keepdim, interpolation, "nanquantile", ignore_nan=True)

    def nanmedian(self, dim=None, keepdim: bool = False):
        """The lower median ignoring NaN; with ``dim``, ``(values, indices)``."""
        if dim is None:
            flat = self.reshape(-1)
            idx = _nan_lower_median_index(flat, 0)
            return flat.gather(0, idx).reshape(())
        d = wrap_dim(dim, self._data.ndim, "nanmedian")
        src = self if self._data.ndim else self.reshape(1)
        idx = _nan_lower_median_index(src, d)
        values = src.gather(d, idx)
        if not keepdim or self._data.ndim == 0:
            values, idx = values.squeeze(d), idx.squeeze(d)
        return values_indices["nanmedian"](values, idx)

    def mode(self, dim: int = -1, keepdim: bool = False):
        """``(values, indices)``: the most frequent value along ``dim`` (the smallest on ties)."""
        d = wrap_dim(dim, self._data.ndim, "mode")
        src = self if self._data.ndim else self.reshape(1)
        data = np.moveaxis(_host(src), d, -1)
        rows = data.reshape(-1, data.shape[-1])
        best = np.empty(rows.shape[0], dtype=np.int64)
        for i, row in enumerate(rows):
            values, counts = np.unique(row, return_counts=True)
            winner = values[np.argmax(counts)]
            best[i] = np.nonzero(row == winner)[0][-1]
        idx = _like(np.moveaxis(best.reshape(data.shape[:-1] + (1,)), -1, d), self)
        values = src.gather(d, idx)
        if not keepdim or self._data.ndim == 0:
            values, idx = values.squeeze(d), idx.squeeze(d)
        return values_indices["mode"](values, idx)

    # -- covariance -----------------------------------------------------------------------------
    def cov(self, *, correction: int = 1, fweights=None, aweights=None) -> Tensor:
        """Covariance of the rows (variables) over the columns (observations)."""
        x = _float(self)
        if x._data.ndim > 2:
            raise RuntimeError(
                f"cov(): expected input to have two or fewer dimensions but got "
                f"an input with {x._data.ndim} dimensions"
            )
        x = x.reshape(1, -1) if x._data.ndim < 2 else x
        weights = None
        for w in (fweights, aweights):
            if w is not None:
                weights = w.to(x.dtype) if weights is None else weights * w.to(x.dtype)
        n = x.shape[1]
        total = x.new_tensor(float(n)) if weights is None else weights.sum()
        mean = x.mean(1, keepdim=True) if weights is None else (x * weights).sum(1, True) / total
        if weights is None or aweights is None:
            norm = total - correction
        else:
            norm = total - correction * (weights * aweights.to(x.dtype)).sum() / total
        centered = x - mean
        scaled = centered if weights is None else centered * weights
        out = scaled.matmul(centered.t()) / norm.clamp(min=0)
        return out.squeeze() if self._data.ndim < 2 else out

    def corrcoef(self) -> Tensor:
        """Pearson correlation coefficients of the rows, clipped to [-1, 1]."""
        c = self.cov()
        if c._data.ndim == 0:
            return c / c
        d = c.diagonal().sqrt()
        return (c / d.unsqueeze(1) / d.unsqueeze(0)).clamp(-1, 1)

    # -- unique values --------------------------------------------------------------------------
    def unique(
        self, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim=None
    ):
        """The distinct values (sorted), with the inverse map and the counts if asked."""
        data = _host(self)
        axis = None if dim is None else wrap_dim(dim, data.ndim, "unique")
        found = np.unique(data, return_inverse=True, return_counts=True, axis=axis)
        values, inverse, counts = found
        if axis is None:
            inverse = inverse.reshape(data.shape)
        return _unique_result(self, values, inverse, counts, return_inverse, return_counts)

    def unique_consecutive(self, return_inverse: bool = False, return_counts: bool = False, dim=None):
        """Each run of equal consecutive values collapsed to one."""
        data = _host(self)
        axis = 0 if dim is None else wrap_dim(dim, data.ndim, "unique_consecutive")
        moved = np.moveaxis(data.reshape(-1) if dim is None else data, axis, 0)
        if moved.shape[0] == 0:
            starts = np.zeros(0, dtype=bool)
        else:
            differs = (moved[1:] != moved[:-1]).reshape(moved.shape[0] - 1, -1).any(axis=1)
            starts = np.concatenate([[True], differs])
        run = np.cumsum(starts) - 1
        values = np.moveaxis(moved[starts], 0, axis)
        counts = np.diff(np.append(np.nonzero(starts)[0], moved.shape[0]))
        inverse = run.reshape(data.shape) if dim is None else run
        return _unique_result(self, values, inverse, counts, return_inverse, return_counts)

    # -- distances ------------------------------------------------------------------------------
    def dist(self, other, p=2) -> Tensor:
        """The ``p``-norm of ``self - other``."""
        return (self - other).norm(p)

    def renorm(self, p, dim: int, maxnorm) -> Tensor:
        """Each slice along ``dim`` rescaled to a ``p``-norm of at most ``maxnorm``."""
        d = wrap_dim(dim, self._data.ndim, "renorm")
        others = tuple(i for i in range(self._data.ndim) if i != d)
        norms = self.norm(p, others, keepdim=True) if others else self.abs()
        factor = (maxnorm / (norms + 1e-7)).where(norms > maxnorm, norms.new_ones(()))
        return self * factor


def _unique_result(t, values, inverse, counts, return_inverse, return_counts):
    out = [_like(values, t)]
    if return_inverse:
        out.append(_like(inverse.astype(np.int64), t))
    if return_counts:
        out.append(_like(counts.astype(np.int64), t))
    return out[0] if len(out) == 1 else tuple(out)


def _nan_lower_median_index(t: Tensor, d: int) -> Tensor:
    """Per slice along ``d``, the index of the lower median of the non-NaN values (keepdim)."""
    xp, x = t.xp, t._data
    order = xp.argsort(x, axis=d, kind="stable")  # NaN sorts last
    valid = (
        (~xp.isnan(x)).sum(axis=d, keepdims=True)
        if dtypes.is_floating_np(x.dtype)
        else xp.full(x.shape[:d] + (1,) + x.shape[d + 1 :], x.shape[d])
    )
    k = xp.maximum(valid - 1, 0) // 2
    return _index_tensor(xp.take_along_axis(order, k, axis=d), t)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(t: Tensor, q, dim, keepdim, interpolation, op, ignore_nan):
    if t._data.dtype.kind != "f":
        raise RuntimeError(f"{op}() input tensor must be either float or double dtype, got {t.dtype}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"{op}() interpolation must be one of {', '.join(_INTERPOLATIONS)}. Got '{interpolation}'"
        )
    scalar_q = not isinstance(q, TensorBase)
    qs = t.xp.asarray([q] if scalar_q else q._data, dtype=t._data.dtype).reshape(-1)
    if qs.size and (qs.min() < 0 or qs.max() > 1):
        raise RuntimeError(f"{op}() q values must be in the range [0, 1]")
    src = t.reshape(-1) if dim is None else t
    d = 0 if dim is None else wrap_dim(dim, t._data.ndim, op)
    sorted_values = src.sort(d).values  # NaN last
    xp, data = t.xp, sorted_values._data
    n = data.shape[d]
    nan_count = xp.isnan(data).sum(axis=d, keepdims=True)
    valid = (n - nan_count) if ignore_nan else xp.full_like(nan_count, n)
    results = [
        _one_quantile(sorted_values, d, float(qi), valid, nan_count, interpolation, ignore_nan)
        for qi in qs.tolist()
    ]
    out = stack(results, 0)  # (q, ...keepdim shape)
    if dim is None:
        out = out.reshape(-1, *([1] * t._data.ndim) if keepdim else ())
    elif not keepdim:
        out = out.squeeze(d + 1)
    return out[0] if scalar_q else out


def _one_quantile(sorted_values, d, q, valid, nan_count, interpolation, ignore_nan):
    xp = sorted_values.xp
    last = xp.maximum(valid - 1, 0)
    pos = q * last
    lo = xp.floor(pos).astype("int64")
    hi = xp.minimum(lo + 1, last).astype("int64")
    frac = (pos - lo).astype(sorted_values._data.dtype)
    if interpolation == "lower":
        hi = lo
    elif interpolation == "higher":
        lo = hi = xp.ceil(pos).astype("int64")
    elif interpolation == "midpoint":
        hi = xp.ceil(pos).astype("int64")
    elif interpolation == "nearest":
        lo = hi = xp.round(pos).astype("int64")
    lo_v = sorted_values.gather(d, _index_tensor(lo, sorted_values))
    hi_v = sorted_values.gather(d, _index_tensor(hi, sorted_values))
    if interpolation == "linear":
        value = lo_v + (hi_v - lo_v) * make(frac)
    elif interpolation == "midpoint":
        value = (lo_v + hi_v) * 0.5
    else:
        value = lo_v
    bad = (valid == 0) if ignore_nan else (nan_count > 0)
    return value.masked_fill(make(xp.asarray(bad)), float("nan"))


# -- free functions ---------------------------------------------------------------------------
histogramdd_result = return_type("histogramdd", ["hist", "bin_edges"])


def histogramdd(input, bins=10, *, range=None, weight=None, density: bool = False):
    """The histogram of the rows of ``input`` (N points in D dims) and each dim's bin edges."""
    data = _host(input)
    edges = (
        [_host(b) for b in bins]
        if isinstance(bins, (list, tuple)) and bins and isinstance(bins[0], TensorBase)
        else bins
    )
    ranges = None if range is None else list(zip(range[::2], range[1::2]))
    hist, bin_edges = np.histogramdd(
        data.reshape(-1, data.shape[-1]),
        bins=edges,
        range=ranges,
        weights=None if weight is None else _host(weight).reshape(-1),
        density=density,
    )
    return histogramdd_result(
        _like(hist.astype(data.dtype), input), [_like(e.astype(data.dtype), input) for e in bin_edges]
    )


def bucketize(input, boundaries, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The index of the bucket of ``boundaries`` (1-D, sorted) each value falls in."""
    if boundaries._data.ndim != 1:
        raise RuntimeError(
            f"bucketize: boundaries tensor must be 1 dimension, but got dim {boundaries._data.ndim}"
        )
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def searchsorted(
    sorted_sequence, input, *, out_int32: bool = False, right: bool = False, side=None, sorter=None
) -> Tensor:
    """Where ``input`` would be inserted in the innermost dim of ``sorted_sequence``."""
    if side is not None:
        if side not in ("left", "right") or (right and side == "left"):
            raise RuntimeError(
                f"searchsorted: side must be 'left' or 'right' (and agree with right={right}), got {side!r}"
            )
        right = side == "right"
    seq = _host(sorted_sequence)
    if sorter is not None:
        seq = np.take_along_axis(seq, _host(sorter), axis=-1)
    is_tensor = isinstance(input, TensorBase)
    values = _host(input) if is_tensor else np.asarray(input)
    which = "right" if right else "left"
    if seq.ndim == 1:
        found = np.searchsorted(seq, values, side=which)
    else:
        if values.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError(
                f"searchsorted: boundaries {list(seq.shape)} and input {list(values.shape)} must "
                "have the same leading dims when boundaries has more than one dimension"
            )
        flat_seq, flat_val = seq.reshape(-1, seq.shape[-1]), values.reshape(-1, values.shape[-1])
        found = np.stack([np.searchsorted(s, v, side=which) for s, v in zip(flat_seq, flat_val)])
        found = found.reshape(values.shape)
    like = input if is_tensor else sorted_sequence
    return _like(np.asarray(found, dtype=np.int32 if out_int32 else np.int64), like)


def isin(
    elements=None,
    test_elements=None,
    *,
    assume_unique: bool = False,
    invert: bool = False,
    element=None,
    test_element=None,
) -> Tensor:
    """True where an element of ``elements`` is in ``test_elements`` (either may be a number)."""
    elements = element if elements is None else elements
    test_elements = test_element if test_elements is None else test_elements
    like = elements if isinstance(elements, TensorBase) else test_elements
    a = _host(elements) if isinstance(elements, TensorBase) else np.asarray(elements)
    b = _host(test_elements) if isinstance(test_elements, TensorBase) else np.asarray(test_elements)
    return _like(np.isin(a, b, assume_unique=assume_unique, invert=invert), like)


def cdist(x1, x2, p: float = 2.0, compute_mode=None) -> Tensor:
    """The ``p``-norm distance between each row of ``x1`` and each row of ``x2`` (batched)."""
    if x1._data.ndim < 2 or x2._data.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(
            f"cdist: x1 {list(x1.shape)} and x2 {list(x2.shape)} must be at least 2-D with the "
            "same number of columns"
        )
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    if p == 0:
        return (diff != 0).to(diff.dtype).sum(-1)
    if p == float("inf"):
        return diff.abs().amax(-1)
    if p == 2:  # the gradient of sqrt is infinite at 0; PyTorch makes it 0 there
        squared = (diff * diff).sum(-1)
        safe = squared.masked_fill(squared == 0, 1.0)
        return safe.sqrt().masked_fill(squared == 0, 0.0)
    return diff.abs().pow(p).sum(-1).pow(1.0 / p)
