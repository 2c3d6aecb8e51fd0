"""SparseAdam: Adam that moves only the entries a gradient touches (embedding tables)."""

from __future__ import annotations

from typing import Any

from ember.optim.optimizer import Optimizer, ParamsT, check_options, xp_of

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    r"""Lazy Adam: moments and parameters change only where the gradient has entries.

    ember's gradients are dense, so "an entry" is a non-zero gradient element (the rows an
    embedding looked up); elsewhere moments and weights stay as they were, which is what
    PyTorch's SparseAdam does with the sparse gradients of ``Embedding(sparse=True)``. On
    those entries, with :math:`g_t` negated under ``maximize``:

    .. math::
        m &\leftarrow \beta_1 m + (1-\beta_1) g_t, \quad
        v \leftarrow \beta_2 v + (1-\beta_2) g_t^2 \\
        \theta &\leftarrow \theta - \frac{\gamma\sqrt{1-\beta_2^t}}{1-\beta_1^t}\,
            \frac{m}{\sqrt v + \epsilon}

    >>> import ember
    >>> w = ember.tensor([1.0, 1.0], requires_grad=True)
    >>> opt = ember.optim.SparseAdam([w], lr=0.1)
    >>> w.grad = ember.tensor([0.5, 0.0])
    >>> opt.step()
    >>> w
    tensor([0.9000, 1.0000], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        maximize: bool = False,
    ) -> None:
        check_options("SparseAdam", lr=lr, eps=eps, betas=betas)
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps, "maximize": maximize})
        for group in self.param_groups:
            for p in group["params"]:
                if p.is_complex():
                    raise RuntimeError("SparseAdam does not support complex parameters")

    def init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        zeros = param.xp.zeros_like
        return {"step": 0.0, "exp_avg": zeros(param._data), "exp_avg_sq": zeros(param._data)}

    def advance(self, group: dict[str, Any], scalars: dict[str, float], fresh: bool) -> Any:
        step = scalars["step"] = scalars["step"] + 1
        beta1, beta2 = group["betas"]
        return group["lr"] * (1 - beta2**step) ** 0.5 / (1 - beta1**step)

    def update(self, group: dict[str, Any], param, grad, state: dict[str, Any], coeffs: Any) -> None:
        xp, step_size = xp_of(param), coeffs
        beta1, beta2 = group["betas"]
        touched = grad != 0
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        new_avg = exp_avg + (grad - exp_avg) * (1 - beta1)
        new_sq = exp_avg_sq + (grad * grad - exp_avg_sq) * (1 - beta2)
        xp.copyto(exp_avg, new_avg, where=touched)
        xp.copyto(exp_avg_sq, new_sq, where=touched)
        change = new_avg / (xp.sqrt(new_sq) + group["eps"]) * step_size
        param -= xp.where(touched, change, 0)
