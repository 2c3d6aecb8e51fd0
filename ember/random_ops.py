"""Random tensor factories and in-place fills: ``rand``, ``randn``, ``randint``, ... .

Every sample is drawn on the CPU from a ``ember.random.Generator`` (the default one unless
``generator=`` is given) and then moved to ``device``, so one seed gives the same numbers on
every device. Samples are constants for autograd: ``normal(mean, std)`` does not differentiate
through ``mean`` or ``std`` (PyTorch's gradient there is zero too).

The in-place fills (``normal_``, ``uniform_``, ...) are functions here; the loop at the end of
this module attaches them to ``Tensor`` under PyTorch's names, because ``tensor.py`` (a lower
layer than this file's factories) should not need to know about generators.
"""

from __future__ import annotations

import numpy as np

from ember import backend, dtypes, settings
from ember.autograd.function import Function
from ember.autograd.grad_mode import grad_enabled
from ember.creation import zeros
from ember.methods._out import with_out
from ember.methods._util import size_args
from ember.random import Generator, numpy_generator
from ember.tensor import Tensor, make

__all__ = [
    "bernoulli",
    "binomial",
    "multinomial",
    "normal",
    "poisson",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "randperm",
]


# -- helpers ------------------------------------------------------------------------------------
def _float_dtype(dtype, op: str) -> dtypes.dtype:
    d = dtypes.get_default_dtype() if dtype is None else dtypes.as_dtype(dtype)
    if not d.is_floating_point:
        raise RuntimeError(f"{op}: expected a floating point dtype for random samples, got {d}")
    return d


def _sample_dtype(d: dtypes.dtype):
    """The NumPy dtype to draw in: float64 draws stay float64, others go through float32."""
    return np.float64 if d is dtypes.float64 else np.float32


def _finish(array, dtype: dtypes.dtype, device, requires_grad: bool) -> Tensor:
    if device is None:
        device = settings.default_device_or_none()
    if array.dtype != dtype.np:
        array = array.astype(dtype.np)
    if device is not None:
        _refuse_in_capture(device)
        array = backend.to_device(array, device)
    t = make(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _refuse_in_capture(device) -> None:
    """Random numbers are drawn on the host and copied over, which a CUDA graph cannot replay."""
    from ember.cuda.graphs import is_current_stream_capturing  # ember.cuda loads after this file

    if is_current_stream_capturing() and "cuda" in str(device):
        raise RuntimeError(
            "random numbers on CUDA (rand, dropout, ...) cannot be drawn inside a CUDA graph "
            "capture: ember draws them on the host, so a replay would reuse one mask forever. "
            "Capture only deterministic work (e.g. model.eval() or p=0 for dropout), or run the "
            "random part outside the graph and pass it in through a static input"
        )


def _shape(size, op: str) -> tuple:
    shape = size_args(size, op)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"{op}: Trying to create tensor with negative dimension: {list(shape)}")
    return shape


def _host(t: Tensor) -> np.ndarray:
    return t._data if t.is_cpu else backend.to_device(t._data, "cpu")


# -- factories ----------------------------------------------------------------------------------
def rand(
    *size,
    generator: Generator | None = None,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """Uniform samples from [0, 1).

    >>> rand(2, 3).shape
    ember.Size([2, 3])
    """
    d = _float_dtype(dtype, "rand")
    arr = numpy_generator(generator).random(_shape(size, "rand"), dtype=_sample_dtype(d))
    return _finish(arr, d, device, requires_grad)


def randn(
    *size,
    generator: Generator | None = None,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """Standard normal samples (mean 0, variance 1; complex: each part has variance 1/2)."""
    d = dtypes.as_dtype(dtype) if dtype is not None else None
    if d is not None and d.is_complex:  # as PyTorch: real and imaginary parts N(0, 1/2)
        shape = _shape(size, "randn") + (2,)
        pair = randn(shape, generator=generator, dtype=d.to_real())._data * 0.5**0.5
        return _finish(np.asarray(pair[..., 0] + 1j * pair[..., 1]), d, device, requires_grad)
    d = _float_dtype(dtype, "randn")
    arr = numpy_generator(generator).standard_normal(_shape(size, "randn"), dtype=_sample_dtype(d))
    return _finish(arr, d, device, requires_grad)


def randint(
    *args,
    size=None,
    low=None,
    high=None,
    generator: Generator | None = None,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or ``randint(low, high, size)``."""
    args = tuple(a for a in (low, high) if a is not None) + args if high is not None else args
    if size is None:
        if not args or not isinstance(args[-1], (tuple, list)):
            raise TypeError(
                "randint: expected randint(high, size) or randint(low, high, size) with size a "
                f"tuple, got arguments {args!r}"
            )
        *bounds, size = args
    else:
        bounds = list(args)
    if len(bounds) == 1:
        low, high = 0, bounds[0]
    elif len(bounds) == 2:
        low, high = bounds
    else:
        raise TypeError(f"randint: expected 1 or 2 bounds before size, got {len(bounds)}: {bounds!r}")
    low, high = int(low), int(high)
    if low >= high:
        raise RuntimeError(
            f"randint: random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    d = dtypes.int64 if dtype is None else dtypes.as_dtype(dtype)
    arr = numpy_generator(generator).integers(low, high, _shape(size, "randint"), dtype=np.int64)
    return _finish(arr, d, device, requires_grad)


def randperm(
    n: int,
    *,
    generator: Generator | None = None,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """A random permutation of ``0 .. n-1``."""
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    d = dtypes.int64 if dtype is None else dtypes.as_dtype(dtype)
    arr = numpy_generator(generator).permutation(int(n)).astype(np.int64)
    return _finish(arr, d, device, requires_grad)


def normal(
    mean=0.0,
    std=1.0,
    size=None,
    *,
    generator: Generator | None = None,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """Normal samples; ``mean`` and ``std`` are tensors (broadcast) or floats with ``size``.

    >>> normal(2.0, 3.0, size=(4,)).shape
    ember.Size([4])
    """
    tensors = [x for x in (mean, std) if isinstance(x, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal: with float mean and std, give size=(...) as well")
        d = _float_dtype(dtype, "normal")
        _check_std(std)
        z = numpy_generator(generator).standard_normal(_shape(size, "normal"), dtype=_sample_dtype(d))
        return _finish(z * std + mean, d, device, requires_grad)
    if size is not None:
        raise TypeError("normal: size= is only allowed when mean and std are both floats")
    for t in tensors:
        if not t.is_floating_point():
            raise RuntimeError(f"normal: expected floating point mean/std tensors, got {t.dtype}")
    d = tensors[0].dtype if dtype is None else dtypes.as_dtype(dtype)
    m = _host(mean) if isinstance(mean, Tensor) else mean
    s = _host(std) if isinstance(std, Tensor) else std
    _check_std(s)
    shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    z = numpy_generator(generator).standard_normal(shape, dtype=_sample_dtype(d))
    return _finish(np.asarray(z * s + m), d, device or tensors[0].device, requires_grad)


def binomial(count: Tensor, prob: Tensor, generator: Generator | None = None) -> Tensor:
    """Draws from Binomial(count, prob), elementwise; float like ``prob``."""
    draws = numpy_generator(generator).binomial(_host(count).astype(np.int64), _host(prob))
    return _finish(draws, prob.dtype, prob.device if not prob.is_cpu else None, False)


def _check_std(std) -> None:
    if np.any(np.asarray(std) < 0):
        raise RuntimeError(f"normal: expects all elements of std >= 0.0, got min {np.min(std)}")


def bernoulli(
    input: Tensor, p: float | None = None, *, generator: Generator | None = None, out=None
) -> Tensor:
    """0/1 samples: each element is 1 with probability ``input`` (or ``p``), same dtype as ``input``."""
    probs = _host(input) if p is None else np.full(input.shape, p, np.float64)
    if np.any((probs < 0) | (probs > 1)) or np.any(np.isnan(probs)):
        raise RuntimeError(
            f"bernoulli: all probabilities must be in [0, 1], got values from {np.nanmin(probs)} "
            f"to {np.nanmax(probs)} (shape {list(input.shape)})"
        )
    draws = numpy_generator(generator).random(probs.shape) < probs
    return _finish(np.asarray(draws), input.dtype, input.device, False)


def multinomial(
    input: Tensor,
    num_samples: int,
    replacement: bool = False,
    *,
    generator: Generator | None = None,
    out=None,
) -> Tensor:
    """Category indices drawn with weights ``input`` (1-D, or 2-D for one row per draw), int64."""
    w = _host(input).astype(np.float64)
    if w.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {list(input.shape)}")
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample {num_samples} (<= 0) samples")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or element < 0")
    rows = w.reshape(-1, w.shape[-1])
    n = rows.shape[1]
    if not replacement and num_samples > n:
        raise RuntimeError(
            f"multinomial: cannot sample n_sample ({num_samples}) > prob_dist.size(-1) ({n}) "
            "samples without replacement"
        )
    gen = numpy_generator(generator)
    out_rows = []
    for r, row in enumerate(rows):
        total = row.sum()
        if total <= 0:
            raise RuntimeError(
                f"multinomial: invalid multinomial distribution (sum of probabilities <= 0) in row {r}"
            )
        if not replacement and np.count_nonzero(row) < num_samples:
            raise RuntimeError(
                f"multinomial: row {r} has only {np.count_nonzero(row)} categories with nonzero "
                f"probability, fewer than num_samples={num_samples}; pass replacement=True"
            )
        out_rows.append(gen.choice(n, size=num_samples, replace=replacement, p=row / total))
    arr = np.stack(out_rows).astype(np.int64).reshape(w.shape[:-1] + (num_samples,))
    return _finish(arr, dtypes.int64, input.device, False)


def poisson(input: Tensor, generator: Generator | None = None) -> Tensor:
    """Poisson samples with rates ``input``, in ``input``'s dtype."""
    rates = _host(input)
    if np.any(rates < 0):
        raise RuntimeError(f"poisson: rates must be >= 0 (shape {list(input.shape)})")
    return _finish(
        numpy_generator(generator).poisson(rates).astype(np.float64), input.dtype, input.device, False
    )


def _like_dtype(input: Tensor, dtype):
    return input.dtype if dtype is None else dtypes.as_dtype(dtype)


def rand_like(
    input: Tensor,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
    generator: Generator | None = None,
    pin_memory: bool = False,
) -> Tensor:
    """``rand`` with ``input``'s shape, dtype and device."""
    return rand(
        input.shape,
        generator=generator,
        dtype=_like_dtype(input, dtype),
        device=device or input.device,
        requires_grad=requires_grad,
    )


def randn_like(
    input: Tensor,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
    generator: Generator | None = None,
    pin_memory: bool = False,
) -> Tensor:
    """``randn`` with ``input``'s shape, dtype and device."""
    return randn(
        input.shape,
        generator=generator,
        dtype=_like_dtype(input, dtype),
        device=device or input.device,
        requires_grad=requires_grad,
    )


def randint_like(
    input: Tensor,
    low: int = 0,
    high: int | None = None,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
    generator: Generator | None = None,
    pin_memory: bool = False,
) -> Tensor:
    """``randint`` with ``input``'s shape, dtype and device: ``randint_like(x, high)`` or ``(x, low, high)``."""
    if high is None:
        low, high = 0, low
    return randint(
        low,
        high,
        tuple(input.shape),
        generator=generator,
        dtype=_like_dtype(input, dtype),
        device=device or input.device,
        requires_grad=requires_grad,
    )


# -- in-place fills -----------------------------------------------------------------------------
class _Refill(Function):
    """``values`` replacing ``old`` in the graph: the gradient flowing to ``old`` is zero."""

    @staticmethod
    def forward(ctx, old, values):
        ctx.shape, ctx.dtype = old.shape, old.dtype
        return values

    @staticmethod
    def backward(ctx, grad):
        return zeros(ctx.shape, dtype=ctx.dtype, device=grad.device), None


def _fill(self: Tensor, op: str, values) -> Tensor:
    """Write sampled ``values`` into ``self`` as an in-place op (leaf check, version bump)."""
    _refuse_in_capture(self.device)
    values = backend.to_device(np.asarray(values).astype(self._data.dtype, copy=False), self.device)
    if self.grad_fn is not None and grad_enabled.get():
        # A non-leaf in the graph gets a zero gradient through the fill, as in PyTorch.
        return self._set_from(op, _Refill.apply(self, make(values)))
    self._check_inplace(op)
    self._data[...] = values
    self._bump_version(op)
    return self


def _require_float(self: Tensor, op: str) -> None:
    if not self.is_floating_point():
        raise RuntimeError(
            f"{op}: needs a floating point tensor, got {self.dtype} (shape {list(self.shape)}); "
            "use random_() for integer tensors"
        )


def _draw_shape(self: Tensor) -> tuple:
    return tuple(self._data.shape)


def _normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with normal samples (in place)."""
    _require_float(self, "normal_")
    _check_std(std)
    z = numpy_generator(generator).standard_normal(_draw_shape(self))
    return _fill(self, "normal_", z * std + mean)


def _uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None, **kwargs) -> Tensor:
    """Fill with uniform samples from [a, b) (in place); ``from``/``to`` keywords are accepted."""
    a, b = kwargs.get("from", a), kwargs.get("to", b)
    _require_float(self, "uniform_")
    if a > b:
        raise RuntimeError(f"uniform_: expects to return a [from, to) range, but found from={a} > to={b}")
    u = numpy_generator(generator).random(_draw_shape(self))
    return _fill(self, "uniform_", u * (b - a) + a)


def _random_(self: Tensor, *bounds, generator=None, **kwargs) -> Tensor:
    """Fill with integers from [low, high) (in place): ``random_()``, ``random_(to)``, ``random_(from, to)``.

    Without bounds the range is [0, 2**mantissa] for floats and [0, max] for integers, as in PyTorch.
    """
    if len(bounds) > 2:
        raise TypeError(f"random_: expected at most 2 bounds (from, to), got {len(bounds)}")
    low, high = (0, bounds[0]) if len(bounds) == 1 else (bounds + (0, None))[:2]
    low, high = kwargs.get("from", low), kwargs.get("to", high)
    if high is None:
        high = _random_top(self._data.dtype) + 1
    if low >= high:
        raise RuntimeError(f"random_: expects 'from' to be less than 'to', but got from={low} >= to={high}")
    ints = numpy_generator(generator).integers(int(low), int(high), _draw_shape(self), dtype=np.int64)
    return _fill(self, "random_", ints)


def _random_top(np_dtype) -> int:
    if np_dtype.kind == "b":
        return 1
    if dtypes.is_floating_np(np_dtype):  # every integer up to 2**(mantissa bits + 1) is exact
        return int(2 / dtypes.finfo(dtypes.from_numpy_dtype(np_dtype)).eps)
    return int(np.iinfo(np_dtype).max)


def _exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill with exponential samples of rate ``lambd`` (in place)."""
    _require_float(self, "exponential_")
    if lambd <= 0:
        raise RuntimeError(f"exponential_: expects lambda > 0.0, but found lambda={lambd}")
    return _fill(self, "exponential_", numpy_generator(generator).exponential(1.0 / lambd, _draw_shape(self)))


def _bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill with 0/1 samples, 1 with probability ``p`` (a float or a broadcastable tensor)."""
    probs = _host(p) if isinstance(p, Tensor) else np.asarray(p, np.float64)
    if np.any((probs < 0) | (probs > 1)):
        raise RuntimeError(
            f"bernoulli_: expects 0 <= p <= 1, got {p if probs.ndim == 0 else 'a tensor outside it'}"
        )
    draws = numpy_generator(generator).random(_draw_shape(self)) < probs
    return _fill(self, "bernoulli_", draws)


def _cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    """Fill with Cauchy samples (in place)."""
    _require_float(self, "cauchy_")
    return _fill(
        self, "cauchy_", numpy_generator(generator).standard_cauchy(_draw_shape(self)) * sigma + median
    )


def _log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """Fill with samples whose logarithm is normal(mean, std) (in place)."""
    _require_float(self, "log_normal_")
    return _fill(self, "log_normal_", numpy_generator(generator).lognormal(mean, std, _draw_shape(self)))


def _geometric_(self: Tensor, p: float, *, generator=None) -> Tensor:
    """Fill with the number of Bernoulli(p) trials up to the first success (in place)."""
    if not 0 < p <= 1:
        raise RuntimeError(f"geometric_: expects p to be in (0, 1], got p={p}")
    return _fill(self, "geometric_", numpy_generator(generator).geometric(p, _draw_shape(self)))


def _bernoulli_method(self: Tensor, p: float | None = None, *, generator=None) -> Tensor:
    return bernoulli(self, p, generator=generator)


def _multinomial_method(self: Tensor, num_samples: int, replacement: bool = False, *, generator=None):
    return multinomial(self, num_samples, replacement, generator=generator)


# Attached to Tensor here (documented in the module docstring): Tensor.normal_ and friends.
_METHODS = {
    "normal_": _normal_,
    "uniform_": _uniform_,
    "random_": _random_,
    "exponential_": _exponential_,
    "bernoulli_": _bernoulli_,
    "cauchy_": _cauchy_,
    "log_normal_": _log_normal_,
    "geometric_": _geometric_,
    "bernoulli": _bernoulli_method,
    "multinomial": _multinomial_method,
}
for _name, _fn in _METHODS.items():
    _fn.__name__ = _fn.__qualname__ = _name
    setattr(Tensor, _name, _fn)


# ``out=`` for every sampler PyTorch gives one (the dtype follows ``out`` unless given)
for _name in (
    "rand",
    "randn",
    "randint",
    "randperm",
    "normal",
    "bernoulli",
    "multinomial",
    "poisson",
    "binomial",
    "rand_like",
    "randn_like",
    "randint_like",
):
    globals()[_name] = with_out(globals()[_name], factory=True)
