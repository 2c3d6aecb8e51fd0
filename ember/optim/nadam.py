"""NAdam: Adam with Nesterov momentum (and a momentum schedule)."""

from __future__ import annotations

import struct
from typing import Any

from ember.optim.optimizer import Optimizer, ParamsT, adam_moments, check_options, xp_of

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), with PyTorch's momentum schedule.

    With :math:`\mu_t = \beta_1 (1 - \tfrac12 0.96^{t\psi})` (:math:`\psi` = momentum_decay):

    .. math::
        g_t &\leftarrow g_t + \lambda\theta_{t-1} \text{ (or } \theta_{t-1} \leftarrow
            \theta_{t-1}(1-\gamma\lambda) \text{ if decoupled)} \\
        m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad
        v_t \leftarrow \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\
        d_t &\leftarrow \sqrt{v_t / (1-\beta_2^t)} + \epsilon \\
        \theta_t &\leftarrow \theta_{t-1}
            - \gamma \frac{1-\mu_t}{1-\prod_{i\le t}\mu_i} \frac{g_t}{d_t}
            - \gamma \frac{\mu_{t+1}}{1-\prod_{i\le t+1}\mu_i} \frac{m_t}{d_t}

    >>> import ember
    >>> w = ember.tensor([1.0], requires_grad=True)
    >>> opt = ember.optim.NAdam([w], lr=0.1)
    >>> w.grad = ember.tensor([1.0])
    >>> opt.step()
    >>> round(w.item(), 4)
    0.8944
    """

    scalar_state = ("step", "mu_product")

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_options(
            "NAdam",
            lr=lr,
            eps=eps,
            weight_decay=weight_decay,
            betas=betas,
            momentum_decay=momentum_decay,
            capturable=capturable,
            differentiable=differentiable,
        )
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        zeros = param.xp.zeros_like
        return {
            "step": 0.0,
            "mu_product": 1.0,
            "exp_avg": zeros(param._data),
            "exp_avg_sq": zeros(param._data),
        }

    def advance(self, group: dict[str, Any], scalars: dict[str, float], fresh: bool) -> Any:
        step = scalars["step"] = scalars["step"] + 1
        beta1, beta2 = group["betas"]
        lr, decay = group["lr"], group["momentum_decay"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * decay))
        mu_product = scalars["mu_product"] = _float32(scalars["mu_product"] * mu)
        grad_coeff = lr * (1.0 - mu) / (1.0 - mu_product)
        avg_coeff = lr * mu_next / (1.0 - mu_product * mu_next)
        return 1 - beta2**step, grad_coeff, avg_coeff

    def update(self, group: dict[str, Any], param, grad, state: dict[str, Any], coeffs: Any) -> None:
        bias_correction2, grad_coeff, avg_coeff = coeffs
        xp = xp_of(param)
        scratch = adam_moments(xp, group, param, grad, state)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        denom = xp.divide(exp_avg_sq, bias_correction2)
        xp.sqrt(denom, out=denom)
        denom += group["eps"]
        xp.divide(grad, denom, out=scratch)
        scratch *= grad_coeff
        param -= scratch
        xp.divide(exp_avg, denom, out=scratch)
        scratch *= avg_coeff
        param -= scratch


def _float32(value: float) -> float:
    """``value`` rounded to float32, as the float32 ``mu_product`` state rounds it."""
    return struct.unpack("f", struct.pack("f", value))[0]
