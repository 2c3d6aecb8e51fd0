"""Define-by-run automatic differentiation: ``Function``, ``backward``, ``grad``, grad modes,
anomaly detection and gradient checking."""

from ember.autograd.anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from ember.autograd.engine import backward, grad
from ember.autograd.engine_flags import enforce_grad_layout_policy, set_multithreading_enabled
from ember.autograd.function import Function, FunctionCtx
from ember.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from ember.autograd.numerical import gradcheck, gradgradcheck

__all__ = [
    "Function",
    "FunctionCtx",
    "Variable",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "enforce_grad_layout_policy",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "set_detect_anomaly",
    "set_grad_enabled",
    "set_multithreading_enabled",
]


def __getattr__(name):
    if name == "Variable":
        from ember.autograd.variable import Variable

        return Variable
    if name in ("functional", "graph", "profiler"):
        import importlib

        return importlib.import_module(f"ember.autograd.{name}")
    raise AttributeError(f"module 'ember.autograd' has no attribute {name!r}")
