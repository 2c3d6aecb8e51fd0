"""Private special functions for the distributions: lgamma, digamma, polygamma, gammainc,
log I0 and the reparameterised standard-gamma sampler.

TODO(coordinator): once ``ember.special`` (lgamma, digamma, polygamma, gammainc, i0e, i1e) is
merged, call it here instead of these private primitives (the sampler stays here). The
kernels are SciPy's (``cupyx.scipy.special`` on CUDA), imported lazily; SciPy is the optional
extra ``sparse``.
"""

from __future__ import annotations

import math

import numpy as np

from ember import backend
from ember.ops import Primitive
from ember.tensor import Tensor, make


def _kernels(array):
    """``scipy.special`` for NumPy arrays, ``cupyx.scipy.special`` for CuPy arrays."""
    return backend.get(backend.device_of(array).type).special_module()


def _floating(x: Tensor) -> Tensor:
    return x if x.is_floating_point() else x.float()


class Lgamma(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.asarray(_kernels(a).gammaln(a), dtype=a.dtype)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * digamma(a)


class Polygamma(Primitive):
    """``polygamma(n, a)``: the n-th derivative of digamma (n = 0 is digamma itself)."""

    @staticmethod
    def forward(ctx, a, n):
        ctx.save_for_backward(a)
        ctx.n = n
        kernels = _kernels(a)
        out = kernels.digamma(a) if n == 0 else kernels.polygamma(n, a)
        return ctx.xp.asarray(out, dtype=a.dtype)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * Polygamma.apply(a, ctx.n + 1), None


class StandardGamma(Primitive):
    """Samples of Gamma(alpha, 1) whose gradient in alpha is the implicit reparameterisation.

    x = F^{-1}(u; alpha) with u held fixed gives dx/dalpha = -(dF/dalpha)(x; alpha) / f(x; alpha),
    with F the regularised lower incomplete gamma function. SciPy has no derivative of F in alpha,
    so it is taken by a central difference in float64 (relative error about 1e-8).
    """

    @staticmethod
    def forward(ctx, alpha, generator):
        from ember.random import numpy_generator

        host = backend.to_device(alpha, "cpu").astype(np.float64)
        sample = np.asarray(numpy_generator(generator).standard_gamma(host))
        # tiny alphas underflow to 0 in float32; PyTorch clamps to the smallest normal too
        sample = np.maximum(sample.astype(alpha.dtype), np.finfo(alpha.dtype).tiny)
        out = backend.to_device(sample, backend.device_of(alpha))
        ctx.save_for_backward(alpha, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        alpha, sample = ctx.saved_tensors
        return grad * _gamma_sample_grad(alpha, sample), None


def _gamma_sample_grad(alpha: Tensor, sample: Tensor) -> Tensor:
    xp = alpha.xp
    kernels = _kernels(alpha._data)
    a = alpha._data.astype(xp.float64)
    x = sample._data.astype(xp.float64)
    h = 1e-5 * xp.maximum(a, 1e-3)
    h = xp.minimum(h, 0.5 * a)
    dcdf = (kernels.gammainc(a + h, x) - kernels.gammainc(a - h, x)) / (2 * h)
    log_pdf = (a - 1) * xp.log(x) - x - kernels.gammaln(a)
    out = -dcdf * xp.exp(-log_pdf)
    return make(xp.nan_to_num(out).astype(alpha._data.dtype))


def lgamma(x: Tensor) -> Tensor:
    """``log |Gamma(x)|`` elementwise, differentiable."""
    return Lgamma.apply(_floating(x))


def digamma(x: Tensor) -> Tensor:
    """``d/dx lgamma(x)`` elementwise, differentiable."""
    return Polygamma.apply(_floating(x), 0)


def polygamma(n: int, x: Tensor) -> Tensor:
    return Polygamma.apply(_floating(x), int(n))


def standard_gamma(alpha: Tensor, generator=None) -> Tensor:
    """Gamma(alpha, 1) samples with reparameterised gradients in ``alpha``."""
    return StandardGamma.apply(alpha, generator)


class Gammainc(Primitive):
    """The regularised lower incomplete gamma function P(a, x); differentiable in x only."""

    @staticmethod
    def forward(ctx, a, x):
        ctx.save_for_backward(a, x)
        return ctx.xp.asarray(_kernels(a).gammainc(a, x), dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError(
                "gammainc: the derivative in the first argument is not "
                "implemented (PyTorch does not implement it either)"
            )
        density = ((a - 1) * x.log() - x - lgamma(a)).exp()
        return None, grad * density


def gammainc(a: Tensor, x: Tensor) -> Tensor:
    a, x = _floating(a), _floating(x)
    return Gammainc.apply(*_broadcast(a, x))


def _broadcast(*tensors):
    import ember

    return ember.broadcast_tensors(*tensors)


class LogI0(Primitive):
    """``log I0(x)``, the log of the modified Bessel function of order 0 (x >= 0)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.asarray(ctx.xp.log(_kernels(a).i0e(a)) + ctx.xp.abs(a), dtype=a.dtype)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * BesselRatio.apply(a)


class BesselRatio(Primitive):
    """``I1(x) / I0(x)``, the derivative of ``log I0``; its own derivative is
    ``1 - r / x - r^2``."""

    @staticmethod
    def forward(ctx, a):
        kernels = _kernels(a)
        out = ctx.xp.asarray(kernels.i1e(a) / kernels.i0e(a), dtype=a.dtype)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, ratio = ctx.saved_tensors
        return grad * (1 - ratio / a - ratio * ratio)


def log_i0(x: Tensor) -> Tensor:
    """``log I0(x)``, differentiable (twice)."""
    return LogI0.apply(_floating(x))


def bessel_ratio(x: Tensor) -> Tensor:
    """``I1(x) / I0(x)``."""
    return BesselRatio.apply(_floating(x))


def mvlgamma(x: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma function of dimension ``p``."""
    total = lgamma(x)
    for j in range(1, p):
        total = total + lgamma(x - 0.5 * j)
    return total + p * (p - 1) / 4 * math.log(math.pi)


def mvdigamma(x: Tensor, p: int) -> Tensor:
    """The derivative of ``mvlgamma`` in ``x``: ``sum_j digamma(x - j / 2)``."""
    total = digamma(x)
    for j in range(1, p):
        total = total + digamma(x - 0.5 * j)
    return total
