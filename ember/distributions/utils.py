"""Helpers shared by the distributions: broadcasting parameters, logits <-> probs, laziness."""

from __future__ import annotations

import numbers
from functools import update_wrapper

import ember
from ember import dtypes
from ember.tensor import Size, Tensor

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs", "probs_to_logits"]

euler_constant = 0.57721566490153286060


def broadcast_all(*values) -> tuple:
    """The values (Tensors or numbers) broadcast to one shape, numbers as tensors like the rest."""
    if not all(isinstance(v, (Tensor, numbers.Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number or torch.Tensor.")
    tensors = [v for v in values if isinstance(v, Tensor)]
    if tensors:
        like = tensors[0]
        dtype = like.dtype if like.is_floating_point() else dtypes.get_default_dtype()
        values = [
            v if isinstance(v, Tensor) else ember.tensor(v, dtype=dtype, device=like.device) for v in values
        ]
    else:
        values = [ember.tensor(float(v), dtype=dtypes.get_default_dtype()) for v in values]
    return tuple(ember.broadcast_tensors(*values))


def _sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """Sum out the ``dim`` rightmost dimensions."""
    if dim == 0:
        return value
    return value.reshape(value.shape[: value.dim() - dim] + (-1,)).sum(-1)


def clamp_probs(probs: Tensor) -> Tensor:
    """Probabilities kept inside (0, 1) by the dtype's machine epsilon."""
    eps = ember.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Probabilities from logits: sigmoid for binary ones, softmax over the last dim otherwise."""
    return logits.sigmoid() if is_binary else logits.softmax(-1)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Logits from probabilities: log-odds for binary ones, log-probabilities otherwise."""
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return ps_clamped.log() - (-ps_clamped).log1p()
    return ps_clamped.log()


class lazy_property:
    """A property computed on first access and then stored on the instance."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        with ember.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


def as_size(shape) -> Size:
    if isinstance(shape, Size):
        return shape
    if isinstance(shape, numbers.Integral):
        return Size((int(shape),))
    return Size(tuple(int(s) for s in shape))


def standard_normal(shape, like: Tensor) -> Tensor:
    """Standard normal draws of ``shape`` with ``like``'s dtype and device (default generator)."""
    return ember.randn(as_size(shape), dtype=like.dtype, device=like.device)


def host_sample(draw, *params: Tensor) -> Tensor:
    """``draw(numpy_generator, *host_arrays)`` run on the CPU, returned like ``params[0]``."""
    from ember import backend
    from ember.random import numpy_generator

    like = params[0]
    hosts = [backend.to_device(p.detach()._data, "cpu") for p in params]
    out = ember.tensor(draw(numpy_generator(None), *hosts), dtype=like.dtype)
    return out.to(like.device)


def softplus(x: Tensor) -> Tensor:
    """``log(1 + exp(x))`` without overflow."""
    return x.clamp(min=0) + (-x.abs()).exp().log1p()
