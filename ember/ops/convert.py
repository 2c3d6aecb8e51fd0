"""dtype casts, copies and device moves."""

from __future__ import annotations

from ember import backend
from ember.dtypes import is_floating_np, is_inexact_np
from ember.ops import Primitive


class Cast(Primitive):
    op_name = "to"

    @staticmethod
    def forward(ctx, a, np_dtype):
        ctx.source = a.dtype
        return a.astype(np_dtype)

    @staticmethod
    def backward(ctx, grad):
        if not is_inexact_np(ctx.source):
            return None, None
        if is_floating_np(ctx.source) and grad.is_complex():
            grad = grad.real  # a real input's gradient is the real part (PyTorch's convention)
        return grad._cast(ctx.source), None


class Clone(Primitive):
    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


class ToDevice(Primitive):
    op_name = "to"

    @staticmethod
    def forward(ctx, a, dev):
        ctx.source = backend.device_of(a)
        return backend.to_device(a, dev)

    @staticmethod
    def backward(ctx, grad):
        return grad.to(ctx.source), None
