"""Stochastic gradient descent, with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from typing import Any

from ember.optim.optimizer import Optimizer, ParamsT, check_options

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum).

    With gradient :math:`g_t` (negated under ``maximize``), weight decay :math:`\lambda`,
    momentum :math:`\mu`, dampening :math:`\tau` and learning rate :math:`\gamma`:

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        b_t &\leftarrow \begin{cases} g_t & t = 1 \\ \mu b_{t-1} + (1-\tau) g_t & t > 1 \end{cases} \\
        g_t &\leftarrow g_t + \mu b_t \text{ if nesterov else } b_t \qquad (\mu \ne 0) \\
        \theta_t &\leftarrow \theta_{t-1} - \gamma g_t

    >>> import ember
    >>> w = ember.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = ember.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> w.grad = ember.tensor([1.0, 1.0])
    >>> opt.step()
    >>> w
    tensor([0.9000, 1.9000], requires_grad=True)
    """

    scalar_state = ()
    fused_step = "optim.sgd_step"  # the CUDA path's kernel (ember.optim._fused)

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_options(
            "SGD",
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            foreach=foreach,
            fused=fused,
            differentiable=differentiable,
        )
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)

    def needs_init(self, group: dict[str, Any], state: dict[str, Any]) -> bool:
        return group["momentum"] != 0 and "momentum_buffer" not in state

    def init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        return {"momentum_buffer": param.xp.zeros_like(param._data)}

    def advance(self, group: dict[str, Any], scalars: dict[str, float], fresh: bool) -> bool:
        return fresh

    writes_grad = False  # update() leaves the gradient array alone, so the step need not copy it

    def update(self, group: dict[str, Any], param, grad, state: dict[str, Any], coeffs: Any) -> None:
        fresh = coeffs
        wd, momentum, lr = group["weight_decay"], group["momentum"], group["lr"]
        if wd != 0:
            grad = grad + param * wd  # out of place: SGD never writes into the gradient it is given
        if momentum != 0:
            buf = state["momentum_buffer"]
            if fresh:
                buf[...] = grad
            else:
                buf *= momentum
                buf += grad if group["dampening"] == 0 else grad * (1 - group["dampening"])
            grad = grad + buf * momentum if group["nesterov"] else buf
        param -= grad * lr
