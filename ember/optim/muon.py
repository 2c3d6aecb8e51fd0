"""Muon: momentum SGD whose update is orthogonalised by a Newton-Schulz iteration (2-D only)."""

from __future__ import annotations

import math
from typing import Any

from ember.optim.optimizer import Optimizer, ParamsT, xp_of

__all__ = ["Muon"]


def zeropower_via_newtonschulz(xp, grad, coefficients: tuple, steps: int, eps: float):
    """An approximately orthogonal matrix ``U S' V^T`` (``S'`` near 1) from ``grad = U S V^T``.

    PyTorch runs the iteration in bfloat16; ember runs it in the gradient's dtype (NumPy has no
    bfloat16), so its result is closer to the exact iteration than PyTorch's.
    """
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if grad.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = coefficients
    tall = grad.shape[0] > grad.shape[1]
    x = grad.T if tall else grad
    x = x / max(float(xp.sqrt((x * x).sum())), eps)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return x.T if tall else x


def adjusted_lr(lr: float, adjust_lr_fn: str | None, shape: tuple) -> float:
    """PyTorch's learning-rate scaling by the matrix shape (A, B)."""
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(rows, cols))
    return lr


class Muon(Optimizer):
    r"""Muon (Jordan et al., 2024) for 2-D parameters.

    .. math::
        B_t &= \mu B_{t-1} + (1-\mu) g_t, \quad
        U_t = \mathrm{NS}(\text{nesterov} ? \mathrm{lerp}(g_t, B_t, \mu) : B_t) \\
        \theta_t &= \theta_{t-1}(1 - \gamma\lambda) - \gamma'\, U_t

    where NS is ``ns_steps`` quintic Newton-Schulz iterations with ``ns_coefficients`` and
    :math:`\gamma'` is :math:`\gamma` scaled by ``adjust_lr_fn``.

    >>> import ember
    >>> w = ember.eye(2, requires_grad=True)
    >>> opt = ember.optim.Muon([w], lr=0.1)
    >>> w.grad = ember.ones(2, 2)
    >>> opt.step()
    >>> w.shape
    ember.Size([2, 2])
    """

    elementwise = False  # the orthogonalisation mixes the whole matrix
    scalar_state = ()

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = (3.4445, -4.775, 2.0315),
        eps: float = 1e-7,
        ns_steps: int = 5,
        adjust_lr_fn: str | None = None,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = {
            "lr": lr,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "nesterov": nesterov,
            "ns_coefficients": tuple(ns_coefficients),
            "eps": eps,
            "ns_steps": ns_steps,
            "adjust_lr_fn": adjust_lr_fn,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.dim() != 2:
                    raise ValueError(
                        f"Muon only supports 2D parameters whereas we found a parameter with size: {p.size()}"
                    )

    def init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        return {"momentum_buffer": param.xp.zeros_like(param._data)}

    def advance(self, group: dict[str, Any], scalars: dict[str, float], fresh: bool) -> Any:
        return None

    def update(self, group: dict[str, Any], param, grad, state: dict[str, Any], coeffs: Any) -> None:
        xp, momentum = xp_of(param), group["momentum"]
        buf = state["momentum_buffer"]
        buf += (grad - buf) * (1 - momentum)
        direction = grad + (buf - grad) * momentum if group["nesterov"] else buf
        ortho = zeropower_via_newtonschulz(
            xp, direction, group["ns_coefficients"], group["ns_steps"], group["eps"]
        )
        lr = group["lr"]
        param *= 1 - lr * group["weight_decay"]
        param -= ortho.astype(param.dtype, copy=False) * adjusted_lr(lr, group["adjust_lr_fn"], param.shape)
