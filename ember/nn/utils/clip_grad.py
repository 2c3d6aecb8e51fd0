"""Gradient clipping: ``clip_grad_norm_`` (any p-norm, inf included) and ``clip_grad_value_``."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

from ember.autograd.grad_mode import no_grad
from ember.backend import to_device
from ember.dtypes import is_floating_np
from ember.tensor import Tensor, make

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]


def _as_list(tensors) -> list:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(xp, array, p: float):
    """The p-norm of an array's values, in its own dtype (p may be inf, -inf or 0)."""
    a = xp.abs(array.ravel())
    if p == math.inf:
        return a.max() if a.size else xp.zeros((), a.dtype)
    if p == -math.inf:
        return a.min()
    if p == 0:
        return (a != 0).sum().astype(a.dtype)
    if p == 1:
        return a.sum()
    if p == 2 and is_floating_np(a.dtype) and a.itemsize < 4:  # half types sum in float32, as PyTorch
        wide = a.astype(xp.float32)
        return xp.sqrt(xp.dot(wide, wide)).astype(a.dtype)
    if p == 2:  # a dot product: one BLAS call, no squared temporary
        return xp.sqrt(xp.dot(a, a)) if is_floating_np(a.dtype) else xp.sqrt((a * a).sum())
    return (a**p).sum() ** (1.0 / p)


def get_total_norm(
    tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach: bool | None = None
) -> Tensor:
    """The p-norm of all the given tensors together, as if concatenated into one vector.

    >>> import ember
    >>> get_total_norm([ember.tensor([3.0]), ember.tensor([4.0])])
    tensor(5.)
    """
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return _zero()
    first = tensors[0]
    xp = first.xp
    norms = [_vector_norm(xp, to_device(t._data, first.device), norm_type) for t in tensors]
    total = _vector_norm(
        xp, xp.stack([xp.asarray(n, dtype=xp.result_type(*norms)) for n in norms]), norm_type
    )
    total = make(xp.asarray(total))
    if error_if_nonfinite and not bool(xp.isfinite(total._data)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
            "anyway, set `error_if_nonfinite=False`"
        )
    return total


def _zero() -> Tensor:
    import ember

    return ember.tensor(0.0)


def clip_grads_with_norm_(
    parameters, max_norm: float, total_norm: Tensor, foreach: bool | None = None
) -> None:
    """Scale the gradients by ``max_norm / (total_norm + 1e-6)`` when that is below 1."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    coef = float(max_norm) / (float(total_norm.item()) + 1e-6)
    coef = min(coef, 1.0) if not math.isnan(coef) else coef
    with no_grad():
        for g in grads:
            g.mul_(coef)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Rescale the gradients in place so that their total p-norm is at most ``max_norm``.

    Returns the total norm before clipping; ``foreach`` is accepted and ignored.

    >>> import ember
    >>> w = ember.nn.Parameter(ember.zeros(2))
    >>> w.grad = ember.tensor([3.0, 4.0])
    >>> clip_grad_norm_([w], max_norm=1.0)
    tensor(5.)
    >>> w.grad
    tensor([0.6000, 0.8000])
    """
    parameters = _as_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_norm(
    parameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Deprecated spelling of ``clip_grad_norm_``."""
    warnings.warn(
        "`nn.utils.clip_grad_norm` is now deprecated in favor of `nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None
) -> None:
    """Clamp every gradient in place to ``[-clip_value, clip_value]``.

    >>> import ember
    >>> w = ember.nn.Parameter(ember.zeros(2))
    >>> w.grad = ember.tensor([-3.0, 0.5])
    >>> clip_grad_value_([w], 1.0)
    >>> w.grad
    tensor([-1.0000,  0.5000])
    """
    clip_value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)
