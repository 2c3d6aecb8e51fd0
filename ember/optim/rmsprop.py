"""RMSprop: divide the gradient by a running root mean square of recent gradients."""

from __future__ import annotations

from typing import Any

from ember.optim.optimizer import Optimizer, ParamsT, check_options, lerp_, xp_of

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton), optionally centered and with momentum.

    With gradient :math:`g_t` (negated under ``maximize``), smoothing :math:`\alpha`:

    .. math::
        g_t &\leftarrow g_t + \lambda\theta_{t-1} \\
        v_t &\leftarrow \alpha v_{t-1} + (1-\alpha) g_t^2 \\
        \tilde v_t &\leftarrow v_t - \bar g_t^2,\;\; \bar g_t \leftarrow \alpha \bar g_{t-1}
            + (1-\alpha) g_t \quad\text{if centered, else } \tilde v_t \leftarrow v_t \\
        b_t &\leftarrow \mu b_{t-1} + g_t / (\sqrt{\tilde v_t} + \epsilon),\;\;
            \theta_t \leftarrow \theta_{t-1} - \gamma b_t \quad (\mu > 0) \\
        \theta_t &\leftarrow \theta_{t-1} - \gamma\, g_t / (\sqrt{\tilde v_t} + \epsilon)
            \quad (\mu = 0)

    >>> import ember
    >>> w = ember.tensor([1.0], requires_grad=True)
    >>> opt = ember.optim.RMSprop([w], lr=0.01)
    >>> w.grad = ember.tensor([1.0])
    >>> opt.step()
    >>> w
    tensor([0.9000], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_options(
            "RMSprop",
            lr=lr,
            eps=eps,
            momentum=momentum,
            weight_decay=weight_decay,
            alpha=alpha,
            capturable=capturable,
            differentiable=differentiable,
        )
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        zeros = param.xp.zeros_like
        state = {"step": 0.0, "square_avg": zeros(param._data)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = zeros(param._data)
        if group["centered"]:
            state["grad_avg"] = zeros(param._data)
        return state

    def update(self, group: dict[str, Any], param, grad, state: dict[str, Any], coeffs: Any) -> None:
        xp = xp_of(param)
        alpha, wd = group["alpha"], group["weight_decay"]
        if wd != 0:
            grad += param * wd
        square_avg = state["square_avg"]
        square_avg *= alpha
        scratch = xp.multiply(grad, 1 - alpha)
        scratch *= grad
        square_avg += scratch
        if group["centered"]:
            grad_avg = state["grad_avg"]
            lerp_(xp, grad_avg, grad, 1 - alpha, scratch)
            xp.multiply(grad_avg, grad_avg, out=scratch)
            xp.subtract(square_avg, scratch, out=scratch)
            avg = xp.sqrt(scratch, out=scratch)
        else:
            avg = xp.sqrt(square_avg, out=scratch)
        avg += group["eps"]
        xp.divide(grad, avg, out=avg)
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += avg
            xp.multiply(buf, group["lr"], out=avg)
        else:
            avg *= group["lr"]
        param -= avg
