"""Rprop: resilient backpropagation, steps from the signs of the gradients alone."""

from __future__ import annotations

from typing import Any

from ember.optim.optimizer import Optimizer, ParamsT, check_options, xp_of

__all__ = ["Rprop"]


class Rprop(Optimizer):
    r"""Rprop (Riedmiller & Braun, 1993).

    Each coordinate has its own step size :math:`s`, grown by :math:`\eta_+` while the
    gradient keeps its sign and shrunk by :math:`\eta_-` when it flips (the gradient then
    counts as zero for this step):

    .. math::
        s_t &\leftarrow \operatorname{clip}\bigl(s_{t-1} \cdot
            \{\eta_+ \text{ if } g_t g_{t-1} > 0;\ \eta_- \text{ if } < 0;\ 1\},
            s_{\min}, s_{\max}\bigr) \\
        g_t &\leftarrow 0 \text{ where } g_t g_{t-1} < 0 \\
        \theta_t &\leftarrow \theta_{t-1} - s_t \operatorname{sign}(g_t)

    with :math:`s_0 = \gamma`.

    >>> import ember
    >>> w = ember.tensor([1.0], requires_grad=True)
    >>> opt = ember.optim.Rprop([w], lr=0.1)
    >>> w.grad = ember.tensor([3.0])
    >>> opt.step()
    >>> w
    tensor([0.9000], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_options("Rprop", lr=lr, etas=etas, capturable=capturable, differentiable=differentiable)
        defaults = {
            "lr": lr,
            "etas": tuple(etas),
            "step_sizes": tuple(step_sizes),
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        xp = param.xp
        return {
            "step": 0.0,
            "prev": xp.zeros_like(param._data),
            "step_size": xp.full_like(param._data, group["lr"]),
        }

    def update(self, group: dict[str, Any], param, grad, state: dict[str, Any], coeffs: Any) -> None:
        xp = xp_of(param)
        etaminus, etaplus = group["etas"]
        step_min, step_max = group["step_sizes"]
        prev, step_size = state["prev"], state["step_size"]
        product = xp.multiply(grad, prev)
        flipped = product < 0
        factor = xp.where(product > 0, param.dtype.type(etaplus), param.dtype.type(1))
        factor[flipped] = etaminus
        step_size *= factor
        xp.clip(step_size, step_min, step_max, out=step_size)
        grad[flipped] = 0
        xp.sign(grad, out=product)
        product *= step_size
        param -= product
        prev[...] = grad
