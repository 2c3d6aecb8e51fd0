"""Adafactor: Adam-like steps with a factored (row x column) second moment."""

from __future__ import annotations

from typing import Any

from ember.optim.optimizer import Optimizer, ParamsT, check_options, lerp_, xp_of

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer & Stern, 2018) as PyTorch writes it.

    With :math:`\hat\beta_{2,t} = 1 - t^{c}` (``beta2_decay`` :math:`c \le 0`), relative step
    :math:`\rho_t = \min(\gamma, 1/\sqrt t)` and :math:`\alpha_t = \max(\epsilon_2,
    \mathrm{RMS}(\theta_{t-1}))\,\rho_t`: for a matrix gradient (the last two dims) the row and
    column means of :math:`g_t^2` are averaged into :math:`R_t, C_t` and
    :math:`\hat v_t = R_t C_t / \mathrm{mean}(R_t)`; for a vector :math:`\hat v_t` averages
    :math:`g_t^2` itself. Then

    .. math::
        u_t &= g_t / \sqrt{\max(\hat v_t, \epsilon_1^2)} \\
        \theta_t &= \theta_{t-1}(1 - \gamma\lambda)
            - \frac{\alpha_t}{\max(1, \mathrm{RMS}(u_t) / d)}\, u_t

    ``eps = (eps1, eps2)``; ``eps1=None`` is the dtype's machine epsilon.

    >>> import ember
    >>> w = ember.tensor([[1.0, -1.0], [0.5, 2.0]], requires_grad=True)
    >>> opt = ember.optim.Adafactor([w], lr=0.01)
    >>> w.grad = ember.ones(2, 2)
    >>> opt.step()
    >>> w.shape
    ember.Size([2, 2])
    """

    elementwise = False  # the factored moments reduce over rows and columns

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        check_options("Adafactor", lr=lr, weight_decay=weight_decay, foreach=foreach)
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        defaults = {
            "lr": lr,
            "beta2_decay": beta2_decay,
            "eps": tuple(eps),
            "d": d,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        xp, data = param.xp, param._data
        if data.ndim > 1:
            rows, cols = list(data.shape), list(data.shape)
            rows[-1], cols[-2] = 1, 1
            return {"step": 0.0, "row_var": xp.zeros(rows, data.dtype), "col_var": xp.zeros(cols, data.dtype)}
        return {"step": 0.0, "variance": xp.zeros_like(data)}

    def advance(self, group: dict[str, Any], scalars: dict[str, float], fresh: bool) -> Any:
        step = scalars["step"] = scalars["step"] + 1
        return step

    def update(self, group: dict[str, Any], param, grad, state: dict[str, Any], coeffs: Any) -> None:
        step, xp = coeffs, xp_of(param)
        eps1, eps2 = group["eps"]
        if eps1 is None:
            eps1 = float(xp.finfo(param.dtype).eps)
        lr, wd = group["lr"], group["weight_decay"]
        weight = step ** group["beta2_decay"]  # 1 - beta2_t
        rho = min(lr, 1 / step**0.5)
        alpha = max(eps2, float(xp.sqrt(xp.mean(param * param)))) * rho
        if wd != 0:
            param *= 1 - lr * wd
        square = grad * grad
        if grad.ndim > 1:
            row_var, col_var = state["row_var"], state["col_var"]
            lerp_(xp, row_var, square.mean(-1, keepdims=True), weight, xp.empty_like(row_var))
            lerp_(xp, col_var, square.mean(-2, keepdims=True), weight, xp.empty_like(col_var))
            estimate = xp.matmul(row_var, col_var)
            estimate /= xp.maximum(row_var.mean(-2, keepdims=True), eps1)
        else:
            variance = state["variance"]
            lerp_(xp, variance, square, weight, xp.empty_like(variance))
            estimate = variance.copy()
        step_dir = grad / xp.sqrt(xp.maximum(estimate, eps1 * eps1))
        rms = float(xp.sqrt(xp.mean(step_dir * step_dir))) if step_dir.size else 0.0
        param -= step_dir * (alpha / max(1.0, rms / group["d"]))
