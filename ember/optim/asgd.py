"""ASGD: averaged stochastic gradient descent."""

from __future__ import annotations

from typing import Any

from ember.optim.optimizer import Optimizer, ParamsT, check_options, xp_of

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky, 1992), with PyTorch's step-size schedule.

    .. math::
        g_t &\leftarrow g_t + \lambda\theta_{t-1} \\
        \theta_t &\leftarrow \theta_{t-1}(1 - \lambda_d \eta_t) - \eta_t g_t \\
        a_t &\leftarrow a_{t-1} + \mu_t(\theta_t - a_{t-1})
            \text{ if } \mu_t \ne 1 \text{ else } \theta_t \\
        \eta_{t+1} &= \gamma / (1 + \lambda_d \gamma t)^\alpha, \qquad
        \mu_{t+1} = 1 / \max(1, t - t_0)

    with :math:`\eta_1 = \gamma`, :math:`\mu_1 = 1` and :math:`\lambda_d` = ``lambd``; the
    average :math:`a_t` is kept in the state as ``ax``.

    >>> import ember
    >>> w = ember.tensor([1.0], requires_grad=True)
    >>> opt = ember.optim.ASGD([w], lr=0.1, lambd=0.0)
    >>> w.grad = ember.tensor([1.0])
    >>> opt.step()
    >>> w
    tensor([0.9000], requires_grad=True)
    """

    scalar_state = ("step", "eta", "mu")

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_options(
            "ASGD", lr=lr, weight_decay=weight_decay, capturable=capturable, differentiable=differentiable
        )
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        return {"step": 0.0, "eta": float(group["lr"]), "mu": 1.0, "ax": param.xp.zeros_like(param._data)}

    def advance(self, group: dict[str, Any], scalars: dict[str, float], fresh: bool) -> Any:
        step = scalars["step"] = scalars["step"] + 1
        eta, mu = scalars["eta"], scalars["mu"]
        lr = group["lr"]
        scalars["eta"] = lr / ((1 + group["lambd"] * lr * step) ** group["alpha"])
        scalars["mu"] = 1 / max(1, step - group["t0"])
        return eta, mu

    def update(self, group: dict[str, Any], param, grad, state: dict[str, Any], coeffs: Any) -> None:
        eta, mu = coeffs
        xp = xp_of(param)
        if group["weight_decay"] != 0:
            grad += param * group["weight_decay"]
        param *= 1 - group["lambd"] * eta
        grad *= eta
        param -= grad
        ax = state["ax"]
        if mu != 1:
            xp.subtract(param, ax, out=grad)
            grad *= mu
            ax += grad
        else:
            ax[...] = param
