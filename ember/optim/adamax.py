"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from typing import Any

from ember.optim.optimizer import Optimizer, ParamsT, check_options, lerp_, xp_of

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2014), Adam's variant based on the infinity norm.

    .. math::
        g_t &\leftarrow g_t + \lambda\theta_{t-1} \\
        m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1) g_t \\
        u_t &\leftarrow \max(\beta_2 u_{t-1},\, |g_t| + \epsilon) \\
        \theta_t &\leftarrow \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\, \frac{m_t}{u_t}

    >>> import ember
    >>> w = ember.tensor([1.0], requires_grad=True)
    >>> opt = ember.optim.Adamax([w], lr=0.1)
    >>> w.grad = ember.tensor([4.0])
    >>> opt.step()
    >>> w
    tensor([0.9000], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_options(
            "Adamax",
            lr=lr,
            eps=eps,
            weight_decay=weight_decay,
            betas=betas,
            capturable=capturable,
            differentiable=differentiable,
        )
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        zeros = param.xp.zeros_like
        return {"step": 0.0, "exp_avg": zeros(param._data), "exp_inf": zeros(param._data)}

    def advance(self, group: dict[str, Any], scalars: dict[str, float], fresh: bool) -> Any:
        step = scalars["step"] = scalars["step"] + 1
        return group["lr"] / (1 - group["betas"][0] ** step)

    def update(self, group: dict[str, Any], param, grad, state: dict[str, Any], coeffs: Any) -> None:
        clr = coeffs
        xp = xp_of(param)
        beta1, beta2 = group["betas"]
        if group["weight_decay"] != 0:
            grad += param * group["weight_decay"]
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        scratch = xp.empty_like(param)
        lerp_(xp, exp_avg, grad, 1 - beta1, scratch)
        exp_inf *= beta2
        xp.abs(grad, out=scratch)
        scratch += group["eps"]
        xp.maximum(exp_inf, scratch, out=exp_inf)
        xp.divide(exp_avg, exp_inf, out=scratch)
        scratch *= clr
        param -= scratch
