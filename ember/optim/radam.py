"""RAdam: Adam with a rectified (variance-corrected) adaptive learning rate."""

from __future__ import annotations

from typing import Any

from ember.optim.optimizer import Optimizer, ParamsT, adam_moments, check_options, xp_of

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2019).

    With :math:`\rho_\infty = 2/(1-\beta_2) - 1` and
    :math:`\rho_t = \rho_\infty - 2t\beta_2^t/(1-\beta_2^t)`:

    .. math::
        m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad
        v_t \leftarrow \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \quad
        \hat m_t = m_t / (1-\beta_1^t) \\
        \theta_t &\leftarrow \theta_{t-1} - \gamma \hat m_t\, r_t
            \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon}
            \text{ if } \rho_t > 5, \text{ else } \theta_{t-1} - \gamma \hat m_t \\
        r_t &= \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}

    Weight decay is folded into :math:`g_t`, or applied to the weights when
    ``decoupled_weight_decay`` (:math:`\theta \leftarrow \theta(1-\gamma\lambda)`).

    >>> import ember
    >>> w = ember.tensor([1.0], requires_grad=True)
    >>> opt = ember.optim.RAdam([w], lr=0.1)
    >>> w.grad = ember.tensor([1.0])
    >>> opt.step()
    >>> w
    tensor([0.9000], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_options(
            "RAdam",
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
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        zeros = param.xp.zeros_like
        return {"step": 0.0, "exp_avg": zeros(param._data), "exp_avg_sq": zeros(param._data)}

    def advance(self, group: dict[str, Any], scalars: dict[str, float], fresh: bool) -> Any:
        step = scalars["step"] = scalars["step"] + 1
        beta1, beta2 = group["betas"]
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        rect = None
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        return bias_correction1, bias_correction2**0.5, rect

    def update(self, group: dict[str, Any], param, grad, state: dict[str, Any], coeffs: Any) -> None:
        bias_correction1, bias_correction2_sqrt, rect = coeffs
        xp = xp_of(param)
        lr = group["lr"]
        scratch = adam_moments(xp, group, param, grad, state)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        corrected = xp.divide(exp_avg, bias_correction1)
        corrected *= lr
        if rect is not None:
            xp.sqrt(exp_avg_sq, out=scratch)
            scratch += group["eps"]
            xp.divide(bias_correction2_sqrt, scratch, out=scratch)
            corrected *= scratch
            corrected *= rect
        param -= corrected
