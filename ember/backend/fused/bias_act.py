"""Bias add and activation in one pass: ``act(x + bias)``, with ``bias`` along the last axis.

``forward(x, bias, activation)`` and ``backward(x, bias, grad, activation)`` (giving the
gradients of ``x`` and ``bias``) for ``activation`` 'relu', 'gelu' (exact) or 'gelu_tanh'.
No ember primitive applies an activation right after its own bias add today (``Linear`` then
``F.relu`` are two primitives, as in PyTorch), so no op calls these yet; they are here, tested,
for a fused ``Linear`` + activation (say, in a future compiled or graph-captured path).
"""

from __future__ import annotations

from ember.backend import xp_of
from ember.backend.fused import gelu as _gelu
from ember.backend.fused._cuda import compute_dtype
from ember.backend.fused._reference import widen

__all__ = ["ACTIVATIONS", "backward", "build_backward", "build_forward", "forward"]

ACTIVATIONS = ("relu", "gelu", "gelu_tanh")

_FORWARD_C = {
    "relu": "v > (T)0 ? v : (T)0",
    "gelu": _gelu.FORWARD_C["none"],
    "gelu_tanh": _gelu.FORWARD_C["tanh"],
}
_BACKWARD_C = {
    "relu": "v > (T)0 ? (T)1 : (T)0",
    "gelu": _gelu.BACKWARD_C["none"],
    "gelu_tanh": _gelu.BACKWARD_C["tanh"],
}


def _check(activation: str) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"bias_act: activation must be one of {ACTIVATIONS}, got {activation!r}")


def forward(x, bias, activation: str = "relu"):
    """``activation(x + bias)`` in ``x``'s dtype."""
    _check(activation)
    xp = xp_of(x)
    v = widen(xp, x) + widen(xp, bias)
    if activation == "relu":
        out = xp.maximum(v, 0)
    else:
        out = _gelu.forward(v, "tanh" if activation == "gelu_tanh" else "none")
    return out.astype(x.dtype, copy=False)


def backward(x, bias, grad, activation: str = "relu"):
    """``(grad_x, grad_bias)``: ``grad * activation'(x + bias)`` and its sum over leading axes."""
    _check(activation)
    xp = xp_of(x)
    v = widen(xp, x) + widen(xp, bias)
    g = widen(xp, grad)
    if activation == "relu":
        dx = g * (v > 0)
    else:
        dx = _gelu.backward(v, g, "tanh" if activation == "gelu_tanh" else "none")
    grad_bias = dx.reshape(-1, dx.shape[-1]).sum(axis=0).astype(bias.dtype, copy=False)
    return dx.astype(grad.dtype, copy=False), grad_bias


def build_forward(cupy):
    """``forward`` as one ElementwiseKernel (the bias broadcasts along the last axis)."""
    kernels = {
        name: cupy.ElementwiseKernel("T x, T b", "T y", f"const T v = x + b; y = {e};", f"ember_bias_{name}")
        for name, e in _FORWARD_C.items()
    }

    def fused_forward(x, bias, activation: str = "relu"):
        _check(activation)
        dtype = compute_dtype(cupy, x.dtype)
        out = kernels[activation](x.astype(dtype, copy=False), bias.astype(dtype, copy=False))
        return out.astype(x.dtype, copy=False)

    return fused_forward


def build_backward(cupy):
    """``backward``: one ElementwiseKernel for ``grad_x``, a column sum for ``grad_bias``."""
    kernels = {
        name: cupy.ElementwiseKernel(
            "T x, T b, T g", "T y", f"const T v = x + b; y = g * ({e});", f"ember_bias_{name}_backward"
        )
        for name, e in _BACKWARD_C.items()
    }

    def fused_backward(x, bias, grad, activation: str = "relu"):
        _check(activation)
        dtype = compute_dtype(cupy, grad.dtype)
        cast = [a.astype(dtype, copy=False) for a in (x, bias, grad)]
        dx = kernels[activation](*cast)
        grad_bias = dx.reshape(-1, dx.shape[-1]).sum(axis=0).astype(bias.dtype, copy=False)
        return dx.astype(grad.dtype, copy=False), grad_bias

    return fused_backward
