"""Adam: adaptive moment estimation, with AMSGrad and (coupled or decoupled) weight decay."""

from __future__ import annotations

from typing import Any

from ember.optim.optimizer import Optimizer, ParamsT, adam_moments, check_options, xp_of

__all__ = ["Adam"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2014); ``decoupled_weight_decay=True`` makes it AdamW.

    With gradient :math:`g_t` (negated under ``maximize``), learning rate :math:`\gamma`,
    betas :math:`\beta_1, \beta_2` and weight decay :math:`\lambda`:

    .. math::
        \theta_{t-1} &\leftarrow \theta_{t-1}(1 - \gamma\lambda) \text{ if decoupled, else }
            g_t \leftarrow g_t + \lambda\theta_{t-1} \\
        m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1) g_t \\
        v_t &\leftarrow \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\
        \hat v_t &\leftarrow \max(\hat v_{t-1}, v_t) \text{ if amsgrad, else } v_t \\
        \theta_t &\leftarrow \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\,
            \frac{m_t}{\sqrt{\hat v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    >>> import ember
    >>> w = ember.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = ember.optim.Adam([w], lr=0.1)
    >>> w.grad = ember.tensor([0.5, -2.0])
    >>> opt.step()
    >>> w
    tensor([ 0.9000, -0.9000], requires_grad=True)
    """

    fused_step = "optim.adam_step"  # the CUDA path's kernel (ember.optim._fused)

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        check_options(
            type(self).__name__,
            lr=lr,
            eps=eps,
            weight_decay=weight_decay,
            betas=betas,
            foreach=foreach,
            fused=fused,
            differentiable=differentiable,
        )  # capturable=True is supported: the step count then lives on the device
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        zeros = param.xp.zeros_like
        state = {"step": 0.0, "exp_avg": zeros(param._data), "exp_avg_sq": zeros(param._data)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = zeros(param._data)
        return state

    def advance(self, group: dict[str, Any], scalars: dict[str, float], fresh: bool) -> Any:
        step = scalars["step"] = scalars["step"] + 1
        beta1, beta2 = group["betas"]
        step_size = group["lr"] / (1 - beta1**step)
        return step_size, (1 - beta2**step) ** 0.5

    def update(self, group: dict[str, Any], param, grad, state: dict[str, Any], coeffs: Any) -> None:
        step_size, bias_correction2_sqrt = coeffs
        xp = xp_of(param)
        scratch = adam_moments(xp, group, param, grad, state)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        second = exp_avg_sq
        if group["amsgrad"]:
            second = state["max_exp_avg_sq"]
            xp.maximum(second, exp_avg_sq, out=second)
        denom = xp.sqrt(second, out=scratch)
        denom /= bias_correction2_sqrt
        denom += group["eps"]
        xp.divide(exp_avg, denom, out=denom)
        denom *= step_size
        param -= denom
