"""Adadelta: step sizes from running averages of squared gradients and squared updates."""

from __future__ import annotations

from typing import Any

from ember.optim.optimizer import Optimizer, ParamsT, check_options, xp_of

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012).

    With gradient :math:`g_t` (negated under ``maximize``) and decay :math:`\rho`:

    .. math::
        g_t &\leftarrow g_t + \lambda\theta_{t-1} \\
        v_t &\leftarrow \rho v_{t-1} + (1-\rho) g_t^2 \\
        \Delta_t &\leftarrow \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t \\
        u_t &\leftarrow \rho u_{t-1} + (1-\rho) \Delta_t^2 \\
        \theta_t &\leftarrow \theta_{t-1} - \gamma \Delta_t

    >>> import ember
    >>> w = ember.tensor([1.0], requires_grad=True)
    >>> opt = ember.optim.Adadelta([w], lr=1.0, eps=1e-6)
    >>> w.grad = ember.tensor([0.0])
    >>> opt.step()
    >>> w
    tensor([1.], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_options(
            "Adadelta",
            lr=lr,
            eps=eps,
            weight_decay=weight_decay,
            rho=rho,
            capturable=capturable,
            differentiable=differentiable,
        )
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "capturable": capturable,
            "foreach": foreach,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        zeros = param.xp.zeros_like
        return {"step": 0.0, "square_avg": zeros(param._data), "acc_delta": zeros(param._data)}

    def update(self, group: dict[str, Any], param, grad, state: dict[str, Any], coeffs: Any) -> None:
        xp = xp_of(param)
        rho, eps = group["rho"], group["eps"]
        if group["weight_decay"] != 0:
            grad += param * group["weight_decay"]
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        scratch = xp.multiply(grad, 1 - rho)
        scratch *= grad
        square_avg += scratch
        std = xp.add(square_avg, eps, out=scratch)
        xp.sqrt(std, out=std)
        delta = xp.add(acc_delta, eps)
        xp.sqrt(delta, out=delta)
        delta /= std
        delta *= grad
        acc_delta *= rho
        xp.multiply(delta, 1 - rho, out=scratch)
        scratch *= delta
        acc_delta += scratch
        delta *= group["lr"]
        param -= delta
