"""Adagrad: per-coordinate step sizes from the sum of squared gradients."""

from __future__ import annotations

from typing import Any

from ember.optim.optimizer import Optimizer, ParamsT, check_options, xp_of

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011).

    With gradient :math:`g_t` (negated under ``maximize``) and learning-rate decay :math:`\eta`:

    .. math::
        \tilde\gamma &\leftarrow \gamma / (1 + (t-1)\eta) \\
        g_t &\leftarrow g_t + \lambda\theta_{t-1} \\
        s_t &\leftarrow s_{t-1} + g_t^2, \qquad s_0 = \text{initial\_accumulator\_value} \\
        \theta_t &\leftarrow \theta_{t-1} - \tilde\gamma\, g_t / (\sqrt{s_t} + \epsilon)

    >>> import ember
    >>> w = ember.tensor([1.0], requires_grad=True)
    >>> opt = ember.optim.Adagrad([w], lr=0.1)
    >>> w.grad = ember.tensor([2.0])
    >>> opt.step()
    >>> w
    tensor([0.9000], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_options(
            "Adagrad",
            lr=lr,
            eps=eps,
            weight_decay=weight_decay,
            lr_decay=lr_decay,
            initial_accumulator_value=initial_accumulator_value,
            foreach=foreach,
            fused=fused,
            differentiable=differentiable,
        )
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:  # PyTorch creates Adagrad's state up front
            for p in group["params"]:
                self._init_param_state(group, p, self.state[p])

    def init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        value = self.defaults["initial_accumulator_value"]
        return {"step": 0.0, "sum": param.xp.full_like(param._data, value)}

    def advance(self, group: dict[str, Any], scalars: dict[str, float], fresh: bool) -> Any:
        step = scalars["step"] = scalars["step"] + 1
        return group["lr"] / (1 + (step - 1) * group["lr_decay"])

    def update(self, group: dict[str, Any], param, grad, state: dict[str, Any], coeffs: Any) -> None:
        clr = coeffs
        xp = xp_of(param)
        if group["weight_decay"] != 0:
            grad += param * group["weight_decay"]
        total = state["sum"]
        scratch = xp.multiply(grad, grad)
        total += scratch
        std = xp.sqrt(total, out=scratch)
        std += group["eps"]
        xp.divide(grad, std, out=std)
        std *= clr
        param -= std
