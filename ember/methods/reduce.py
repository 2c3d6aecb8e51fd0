"""Reductions, selections, scans and the softmax family (see ``ember.ops.reduce``).

Composites (var, std, logsumexp, softmin, nanmean) are written here in terms of the primitives,
so their gradients (and second derivatives) come for free. softmax and log_softmax are one fused
primitive each way (measured to pay; tested against the composite).
"""

from __future__ import annotations

import math
import warnings

from ember import dtypes
from ember.methods._util import normalize_dims, return_type, wrap_dim
from ember.ops import reduce

# Tensor methods that are also free functions: ember.<name>(t, ...) is t.<name>(...)
FUNCTIONS = [
    "sum",
    "mean",
    "prod",
    "max",
    "min",
    "amax",
    "amin",
    "aminmax",
    "argmax",
    "argmin",
    "var",
    "std",
    "var_mean",
    "std_mean",
    "norm",
    "logsumexp",
    "cumsum",
    "cumprod",
    "all",
    "any",
    "topk",
    "sort",
    "argsort",
    "msort",
    "median",
    "kthvalue",
    "nansum",
    "nanmean",
    "count_nonzero",
    "softmax",
    "log_softmax",
    "softmin",
]
__all__: list = ["return_types"]  # free functions and namespaces defined here


class return_types:
    """The named tuples that max(dim), sort, topk, ... return (``.values``, ``.indices``)."""

    max = return_type("max", ["values", "indices"])
    min = return_type("min", ["values", "indices"])
    sort = return_type("sort", ["values", "indices"])
    topk = return_type("topk", ["values", "indices"])
    median = return_type("median", ["values", "indices"])
    kthvalue = return_type("kthvalue", ["values", "indices"])
    aminmax = return_type("aminmax", ["min", "max"])


def _dims(t, dim, op: str) -> tuple:
    """``dim`` (None, int or sequence) as sorted axes; a 0-d tensor reduces over no axes."""
    dims = normalize_dims(dim, t._data.ndim, op)
    return dims if t._data.ndim else ()


def _count(t, dims) -> int:
    return math.prod(t._data.shape[d] for d in dims)


def _np_dtype(dtype):
    return None if dtype is None else dtypes.as_dtype(dtype).np


def _int_promoted(t, dtype):
    """The accumulation dtype of sum/prod/cumsum: ``dtype``, else int64 for bool and ints."""
    if dtype is not None:
        return _np_dtype(dtype)
    if t._data.dtype.kind in "bui" and t._data.dtype != "int64":
        return "int64"
    return None


def _require_float(t, op: str, dtype=None):
    """``t`` (cast to ``dtype`` if given), which must be floating point for ``op``."""
    src = t if dtype is None else t.to(dtype)
    if not dtypes.is_inexact_np(src._data.dtype):
        raise RuntimeError(
            f"{op}(): expected a floating point input, got {src.dtype} (shape {list(src.shape)}); "
            "call .float() first"
        )
    return src


def _along(t, dim, op: str, fn):
    """Run ``fn(t, axis)`` along one dim; a 0-d tensor is treated as a 1-element vector."""
    if t._data.ndim == 0:
        wrap_dim(dim, 0, op)
        outs = fn(t.reshape(1), 0)
        return tuple(o.reshape(()) for o in outs)
    return fn(t, wrap_dim(dim, t._data.ndim, op))


class ReduceMethods:
    __slots__ = ()

    # -- sums and products -----------------------------------------------------------------
    def sum(self, dim=None, keepdim: bool = False, *, dtype=None):
        """Sum over ``dim`` (all dims if None); bool and int inputs give int64."""
        return reduce.Sum.apply(self, _dims(self, dim, "sum"), keepdim, _int_promoted(self, dtype))

    def nansum(self, dim=None, keepdim: bool = False, *, dtype=None):
        """Sum treating NaN as zero."""
        src = reduce.ZeroNan.apply(self) if dtypes.is_floating_np(self._data.dtype) else self
        return src.sum(dim, keepdim, dtype=dtype)

    def mean(self, dim=None, keepdim: bool = False, *, dtype=None):
        """Mean over ``dim``; needs a floating point input (or ``dtype=``)."""
        src = _require_float(self, "mean", dtype)
        return reduce.Mean.apply(src, _dims(src, dim, "mean"), keepdim)

    def nanmean(self, dim=None, keepdim: bool = False, *, dtype=None):
        """Mean of the non-NaN elements."""
        src = _require_float(self, "nanmean", dtype)
        count = reduce.Logical.apply(src, "count_notnan", _dims(src, dim, "nanmean"), keepdim)
        return src.nansum(dim, keepdim) / count._cast(src._data.dtype)

    def prod(self, dim=None, keepdim: bool = False, *, dtype=None):
        """Product over ``dim`` (PyTorch takes one int; a tuple works too); ints give int64."""
        return reduce.Prod.apply(self, _dims(self, dim, "prod"), keepdim, _int_promoted(self, dtype))

    def cumsum(self, dim: int, *, dtype=None):
        """Running sum along ``dim``; bool and int inputs give int64."""
        np_dtype = _int_promoted(self, dtype)
        return _along(self, dim, "cumsum", lambda t, d: (reduce.Cumsum.apply(t, d, False, np_dtype),))[0]

    def cumprod(self, dim: int, *, dtype=None):
        """Running product along ``dim``; exact gradients even where the input has zeros."""
        np_dtype = _int_promoted(self, dtype)
        return _along(self, dim, "cumprod", lambda t, d: (reduce.Cumprod.apply(t, d, np_dtype),))[0]

    # -- extremes ------------------------------------------------------------------------
    def amax(self, dim=(), keepdim: bool = False):
        """Maximum over ``dim`` (all dims by default); the gradient splits evenly among ties."""
        return reduce.Amax.apply(self, _dims(self, dim, "amax"), keepdim, True)

    def amin(self, dim=(), keepdim: bool = False):
        """Minimum over ``dim`` (all dims by default); the gradient splits evenly among ties."""
        return reduce.Amax.apply(self, _dims(self, dim, "amin"), keepdim, False)

    def aminmax(self, *, dim=None, keepdim: bool = False):
        """``(min, max)`` over ``dim`` (all dims if None)."""
        return return_types.aminmax(self.amin(dim, keepdim), self.amax(dim, keepdim))

    def max(self, dim=None, keepdim: bool = False, *, other=None):
        """No dim: the largest value. ``dim``: (values, indices). A tensor: elementwise maximum."""
        return self._extreme(dim if other is None else other, keepdim, "max")

    def min(self, dim=None, keepdim: bool = False, *, other=None):
        """No dim: the smallest value. ``dim``: (values, indices). A tensor: elementwise minimum."""
        return self._extreme(dim if other is None else other, keepdim, "min")

    def _extreme(self, dim, keepdim, kind):
        if dim is None:
            if self._data.size == 0:
                raise RuntimeError(
                    f"{kind}(): expected a non-empty tensor to reduce over all dims, got shape "
                    f"{list(self.shape)}; pass dim= to reduce one dim"
                )
            return reduce.Amax.apply(self, _dims(self, None, kind), False, kind == "max")
        if not isinstance(dim, int) and hasattr(dim, "_data"):
            return self.maximum(dim) if kind == "max" else self.minimum(dim)
        out = _along(self, dim, kind, lambda t, d: reduce.Select.apply(t, d, keepdim, kind))
        return getattr(return_types, kind)(*out)

    def argmax(self, dim=None, keepdim: bool = False):
        """Index (int64) of the largest value along ``dim``; of the flattened input if None."""
        return reduce.ArgExtreme.apply(self, _arg_axis(self, dim, "argmax"), keepdim, True)

    def argmin(self, dim=None, keepdim: bool = False):
        """Index (int64) of the smallest value along ``dim``; of the flattened input if None."""
        return reduce.ArgExtreme.apply(self, _arg_axis(self, dim, "argmin"), keepdim, False)

    # -- order statistics ----------------------------------------------------------------
    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False):
        """(values, indices) sorted along ``dim``; always stable, NaN sorts as the largest."""
        out = _along(self, dim, "sort", lambda t, d: reduce.Sort.apply(t, d, descending, None))
        return return_types.sort(*out)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False):
        """The indices that sort ``dim``."""
        return self.sort(dim, descending).indices

    def msort(self):
        """Sorted along dim 0."""
        return self.sort(0).values

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
        """The ``k`` largest (or smallest) values along ``dim`` and their indices."""

        def run(t, d):
            n = t._data.shape[d]
            if not 0 <= k <= n:
                raise RuntimeError(
                    f"topk: k ({k}) is out of range for dimension {d} of size {n} "
                    f"(shape {list(self.shape)}); expected 0 <= k <= {n}"
                )
            return reduce.Sort.apply(t, d, largest, k)

        return return_types.topk(*_along(self, dim, "topk", run))

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False):
        """(values, indices) of the k-th smallest element (1-based) along ``dim``."""

        def run(t, d):
            n = t._data.shape[d]
            if not 1 <= k <= n:
                raise RuntimeError(
                    f"kthvalue: k ({k}) is out of range for dimension {d} of size {n} "
                    f"(shape {list(self.shape)}); expected 1 <= k <= {n}"
                )
            return reduce.Select.apply(t, d, keepdim, int(k))

        return return_types.kthvalue(*_along(self, dim, "kthvalue", run))

    def median(self, dim=None, keepdim: bool = False):
        """No dim: the lower median of all values. ``dim``: (values, indices) of the lower median."""
        if dim is None:
            flat = self.reshape(-1)
            if flat._data.size == 0:
                raise RuntimeError("median(): expected a non-empty tensor (got shape [0]); pass dim=")
            return reduce.Select.apply(flat, 0, False, (flat._data.size + 1) // 2)[0]

        def run(t, d):
            return reduce.Select.apply(t, d, keepdim, (t._data.shape[d] + 1) // 2)

        return return_types.median(*_along(self, dim, "median", run))

    # -- logical -------------------------------------------------------------------------
    def all(self, dim=None, keepdim: bool = False):
        """True where every element along ``dim`` is non-zero."""
        return reduce.Logical.apply(self, "all", _dims(self, dim, "all"), keepdim)

    def any(self, dim=None, keepdim: bool = False):
        """True where some element along ``dim`` is non-zero."""
        return reduce.Logical.apply(self, "any", _dims(self, dim, "any"), keepdim)

    def count_nonzero(self, dim=None):
        """The number (int64) of non-zero elements along ``dim``."""
        return reduce.Logical.apply(self, "count", _dims(self, dim, "count_nonzero"), False)

    # -- statistics ----------------------------------------------------------------------
    def var(self, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
        """Variance over ``dim`` with ``correction`` (1 by default; ``unbiased=False`` is 0)."""
        return _variance(self, dim, unbiased, keepdim, correction, "var")

    def std(self, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
        """Standard deviation: the square root of ``var`` with the same arguments."""
        return _variance(self, dim, unbiased, keepdim, correction, "std") ** 0.5

    def var_mean(self, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
        """``(var, mean)`` over ``dim``."""
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        var = _variance(self, dim, unbiased, keepdim, correction, "var_mean")
        return var, self.mean(_dims(self, dim, "var_mean"), keepdim)

    def std_mean(self, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
        """``(std, mean)`` over ``dim``."""
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        std = _variance(self, dim, unbiased, keepdim, correction, "std_mean") ** 0.5
        return std, self.mean(_dims(self, dim, "std_mean"), keepdim)

    def norm(self, p="fro", dim=None, keepdim: bool = False, dtype=None):
        """The vector p-norm over ``dim`` (all dims if None): p may be a real, inf, -inf or 'fro'."""
        src = _require_float(self, "norm", dtype)
        if src.is_complex():  # the norm of complex entries is that of their magnitudes
            src = src.abs()
        if p == "fro" or p is None:
            p = 2
        elif p == "nuc":  # the sum of singular values, over the last two dims unless given
            from ember._linalg_norms import matrix_norm  # built on the SVD, which needs these methods

            return matrix_norm(src, "nuc", (-2, -1) if dim is None else dim, keepdim)
        elif isinstance(p, str):
            raise RuntimeError(f"norm: p={p!r} is not supported; use a number, inf, -inf, 'fro' or 'nuc'")
        return reduce.Norm.apply(src, float(p), _dims(src, dim, "norm"), keepdim)

    def logsumexp(self, dim=None, keepdim: bool = False):
        """log(sum(exp(x))) over ``dim``, computed stably; ints are promoted to float."""
        src = self if dtypes.is_floating_np(self._data.dtype) else self._cast(dtypes.get_default_dtype().np)
        dims = _dims(src, dim, "logsumexp")
        if src._data.size == 0:  # no terms: the log of an empty sum, -inf (0 rows: empty)
            return src.exp().sum(dims, keepdim).log()
        shift = _finite_max(src, dims)
        total = (src - shift).exp().sum(dims, keepdim)
        return total.log() + (shift if keepdim else shift.reshape(total.shape))

    # -- softmax family ------------------------------------------------------------------
    def softmax(self, dim: int, dtype=None):
        """exp(x) / sum(exp(x)) along ``dim``, shifted by the max for stability."""
        src = _require_float(self, "softmax", dtype)
        return reduce.Softmax.apply(src, _dims(src, dim, "softmax"), False)

    def log_softmax(self, dim: int, dtype=None):
        """x - logsumexp(x) along ``dim``, shifted by the max for stability."""
        src = _require_float(self, "log_softmax", dtype)
        return reduce.Softmax.apply(src, _dims(src, dim, "log_softmax"), True)

    def softmin(self, dim: int, dtype=None):
        """softmax(-x) along ``dim``."""
        return (-_require_float(self, "softmin", dtype)).softmax(dim)


def _variance(t, dim, unbiased, keepdim, correction, op: str):
    """sum((x - mean)^2) / (N - correction) over ``dim``; a bool ``dim`` is the legacy ``unbiased``."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    src = _require_float(t, op)
    dims = _dims(src, dim, op)
    if correction is None:
        correction = 0 if unbiased is False else 1
    elif unbiased is not None:
        raise RuntimeError(f"{op}(): pass either correction= or unbiased=, not both")
    centred = src - src.mean(dims, keepdim=True)
    if centred.is_complex():  # the variance of complex values is that of their distances: real
        centred = centred.abs()
    total = (centred * centred).sum(dims, keepdim)
    denom = _count(src, dims) - correction
    if denom <= 0:  # PyTorch gives inf (NaN for 0/0) here, with this warning
        warnings.warn(
            f"{op.split('_')[0]}(): degrees of freedom is <= 0. Correction should be strictly less than "
            "the reduction factor (input numel divided by output numel).",
            UserWarning,
            stacklevel=3,
        )
        return total / 0.0
    return total / denom


def _arg_axis(t, dim, op: str):
    """The axis argmax/argmin work along: None (flattened) for dim=None or a 0-d input."""
    if dim is None:
        return None
    axis = wrap_dim(dim, t._data.ndim, op)
    return axis if t._data.ndim else None


def _finite_max(t, dims):
    """The max over ``dims`` (kept), detached, with infinities replaced by 0 (as PyTorch does)."""
    m = reduce.Amax.apply(t.detach(), dims, True, True)._data
    xp = t.xp
    return t._wrap_like(xp.where(xp.isfinite(m), m, xp.zeros((), m.dtype)))
