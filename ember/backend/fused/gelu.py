"""GELU, exact (``x * Phi(x)``, by erf) and by the tanh formula, forward and backward.

``forward(x, approximate)`` and ``backward(x, grad, approximate)`` with ``approximate`` 'none'
or 'tanh', as ``F.gelu``: the exact derivative is ``Phi(x) + x phi(x)``; the tanh form's is
``0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)`` with
``t = tanh(sqrt(2/pi) (x + 0.044715 x^3))``. On the GPU each is one ``ElementwiseKernel``;
float16 computes in float32. ember's ``Gelu`` primitive is the exact form; ``F.gelu`` composes
the tanh form from Tensor ops, so only the exact kernels are wired into an op today.
"""

from __future__ import annotations

import math

from ember.backend import xp_of
from ember.backend.fused._cuda import compute_dtype
from ember.backend.fused._reference import widen

__all__ = ["backward", "build_backward", "build_forward", "forward", "FORWARD_C", "BACKWARD_C"]

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_TWO_PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_TWO_OVER_PI = math.sqrt(2.0 / math.pi)
_CUBIC = 0.044715


def _erf(xp, a):
    """erf by ember's own op code (SciPy's where installed, else ember's kernel)."""
    from ember.ops.special import Erf  # climbs to ops: the reference reuses its erf; no cycle

    return Erf.compute(xp, a)


def _check(approximate: str) -> None:
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def forward(x, approximate: str = "none"):
    """``gelu(x)`` in ``x``'s dtype."""
    _check(approximate)
    xp = xp_of(x)
    w = widen(xp, x)
    if approximate == "none":
        out = w * 0.5 * (1.0 + _erf(xp, w * _SQRT_HALF))
    else:
        out = 0.5 * w * (1.0 + xp.tanh(_SQRT_TWO_OVER_PI * (w + _CUBIC * w * w * w)))
    return out.astype(x.dtype, copy=False)


def backward(x, grad, approximate: str = "none"):
    """``grad * gelu'(x)`` in ``grad``'s dtype."""
    _check(approximate)
    xp = xp_of(x)
    w, g = widen(xp, x), widen(xp, grad)
    if approximate == "none":
        cdf = 0.5 * (1.0 + _erf(xp, w * _SQRT_HALF))
        derivative = cdf + w * xp.exp(-0.5 * w * w) * _INV_SQRT_TWO_PI
    else:
        t = xp.tanh(_SQRT_TWO_OVER_PI * (w + _CUBIC * w * w * w))
        slope = _SQRT_TWO_OVER_PI * (1.0 + 3.0 * _CUBIC * w * w)
        derivative = 0.5 * (1.0 + t) + 0.5 * w * (1.0 - t * t) * slope
    return (g * derivative).astype(grad.dtype, copy=False)


# C expressions of ``v`` (of type T), shared with bias_act
FORWARD_C = {
    "none": f"v * (T)0.5 * ((T)1 + erf(v * (T){_SQRT_HALF!r}))",
    "tanh": f"(T)0.5 * v * ((T)1 + tanh((T){_SQRT_TWO_OVER_PI!r} * (v + (T){_CUBIC!r} * v * v * v)))",
}
BACKWARD_C = {
    "none": (
        f"(T)0.5 * ((T)1 + erf(v * (T){_SQRT_HALF!r})) + v * exp((T)-0.5 * v * v) * (T){_INV_SQRT_TWO_PI!r}"
    ),
    "tanh": (
        f"(T)0.5 * ((T)1 + tanh((T){_SQRT_TWO_OVER_PI!r} * (v + (T){_CUBIC!r} * v * v * v)))"
        f" + (T)0.5 * v * ((T)1 - tanh((T){_SQRT_TWO_OVER_PI!r} * (v + (T){_CUBIC!r} * v * v * v))"
        f" * tanh((T){_SQRT_TWO_OVER_PI!r} * (v + (T){_CUBIC!r} * v * v * v)))"
        f" * (T){_SQRT_TWO_OVER_PI!r} * ((T)1 + (T){3 * _CUBIC!r} * v * v)"
    ),
}


def _kernels(cupy, name, body, params):
    """One ElementwiseKernel per ``approximate`` form."""
    return {
        form: cupy.ElementwiseKernel(params, "T y", body(expression), f"ember_gelu_{name}_{form}")
        for form, expression in (FORWARD_C if name == "forward" else BACKWARD_C).items()
    }


def build_forward(cupy):
    """``forward`` as one ElementwiseKernel."""
    kernels = _kernels(cupy, "forward", lambda e: f"const T v = x; y = {e};", "T x")

    def fused_forward(x, approximate: str = "none"):
        _check(approximate)
        work = x.astype(compute_dtype(cupy, x.dtype), copy=False)
        return kernels[approximate](work).astype(x.dtype, copy=False)

    return fused_forward


def build_backward(cupy):
    """``backward`` as one ElementwiseKernel."""
    kernels = _kernels(cupy, "backward", lambda e: f"const T v = x; y = g * ({e});", "T x, T g")

    def fused_backward(x, grad, approximate: str = "none"):
        _check(approximate)
        dtype = compute_dtype(cupy, grad.dtype)
        out = kernels[approximate](x.astype(dtype, copy=False), grad.astype(dtype, copy=False))
        return out.astype(grad.dtype, copy=False)

    return fused_backward
