"""L-BFGS: a limited-memory quasi-Newton method, with an optional strong-Wolfe line search."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ember.autograd.grad_mode import enable_grad
from ember.optim.optimizer import Optimizer, ParamsT, check_options, xp_of
from ember.tensor import make

__all__ = ["LBFGS"]


class LBFGS(Optimizer):
    r"""L-BFGS (Nocedal, 1980), as PyTorch runs it: ``step(closure)`` does up to ``max_iter``
    iterations, each a quasi-Newton direction from the last ``history_size`` curvature pairs.

    With flat gradient :math:`g_k`, pairs :math:`s_i = \theta_{i+1} - \theta_i`,
    :math:`y_i = g_{i+1} - g_i` (kept when :math:`y_i^\top s_i > 10^{-10}`) and
    :math:`H_0 = y^\top s / y^\top y` of the newest pair, the two-loop recursion gives
    :math:`d_k = -H_k g_k`, and

    .. math::
        \theta_{k+1} \leftarrow \theta_k + t_k d_k, \qquad
        t_k = \begin{cases} \min(1, 1/\lVert g_0\rVert_1)\,\gamma & k = 0 \\
                            \gamma & k > 0 \end{cases}

    or :math:`t_k` from a strong-Wolfe line search (``line_search_fn='strong_wolfe'``).
    The loop stops when :math:`\lVert g\rVert_\infty \le` ``tolerance_grad``, when a step or
    the loss changes by less than ``tolerance_change``, or after ``max_eval`` evaluations.

    >>> import ember
    >>> w = ember.tensor([3.0, -2.0], requires_grad=True)
    >>> opt = ember.optim.LBFGS([w], line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = ((w - 1.0) ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> _ = opt.step(closure)
    >>> [round(v, 4) for v in w.tolist()]
    [1.0, 1.0]
    """

    elementwise = False

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        check_options("LBFGS", lr=lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {
            "lr": lr,
            "max_iter": max_iter,
            "max_eval": max_eval,
            "tolerance_grad": tolerance_grad,
            "tolerance_change": tolerance_change,
            "history_size": history_size,
            "line_search_fn": line_search_fn,
        }
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # -- the flat view of the parameters ---------------------------------------------------
    def _flat_grad(self):
        xp = xp_of(self._params[0]._data)
        parts = [
            p._grad._data.reshape(-1) if p._grad is not None else xp.zeros(p._data.size, p._data.dtype)
            for p in self._params
        ]
        return xp.concatenate(parts)

    def _add_to_params(self, t: float, direction) -> None:
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += (direction[offset : offset + n] * t).reshape(p._data.shape)
            p._bump_version("LBFGS.step")
            offset += n

    def _params_copy(self) -> list:
        return [p._data.copy() for p in self._params]

    def _set_params(self, arrays: list) -> None:
        for p, a in zip(self._params, arrays):
            p._data[...] = a
            p._bump_version("LBFGS.step")

    def _evaluate_at(self, closure, x0, t, direction):
        """Loss and flat gradient at ``x0 + t * direction``; the parameters go back to ``x0``."""
        self._add_to_params(t, direction)
        loss = float(closure())
        grad = self._flat_grad()
        self._set_params(x0)
        return loss, grad

    # -- the step --------------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """Run up to ``max_iter`` L-BFGS iterations; ``closure`` recomputes loss and gradients."""
        if closure is None:
            raise RuntimeError("LBFGS.step needs a closure that recomputes the loss and gradients")
        closure = enable_grad()(closure)
        group = self.param_groups[0]
        lr, max_iter, max_eval = float(group["lr"]), group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search = group["history_size"], group["line_search_fn"]
        if line_search is not None and line_search != "strong_wolfe":
            raise RuntimeError("only 'strong_wolfe' is supported")
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = closure()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        xp = xp_of(self._params[0]._data)
        grad = self._flat_grad()
        if float(xp.abs(grad).max()) <= tol_grad:
            return orig_loss

        d = _array(state.get("d"))
        t = state.get("t")
        old_dirs = [_array(v) for v in state.get("old_dirs", [])]
        old_stps = [_array(v) for v in state.get("old_stps", [])]
        ro = list(state.get("ro", []))
        h_diag = state.get("H_diag", 1.0)
        prev_grad = _array(state.get("prev_flat_grad"))
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -grad
                old_dirs, old_stps, ro, h_diag = [], [], [], 1.0
            else:
                y = grad - prev_grad
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                d = _two_loop(grad, old_dirs, old_stps, ro, h_diag)
            prev_grad = grad.copy()
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(xp.abs(grad).sum())) * lr
            else:
                t = lr
            gtd = float(grad @ d)
            if gtd > -tol_change:
                break

            if line_search is not None:
                x0 = self._params_copy()
                loss, grad, t, ls_evals = _strong_wolfe(
                    lambda x, step, direction: self._evaluate_at(closure, x, step, direction),
                    x0,
                    t,
                    d,
                    loss,
                    grad,
                    gtd,
                    max_ls=max_eval - evals,
                )
                self._add_to_params(t, d)
                done = float(xp.abs(grad).max()) <= tol_grad
            else:
                self._add_to_params(t, d)
                ls_evals = 0
                done = False
                if n_iter != max_iter:
                    loss = float(closure())
                    grad = self._flat_grad()
                    done = float(xp.abs(grad).max()) <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals

            if n_iter == max_iter or evals >= max_eval or done:
                break
            if float(xp.abs(d * t).max()) <= tol_change:
                break
            if abs(loss - prev_loss) < tol_change:
                break

        state["d"] = make(d)
        state["t"] = t
        state["old_dirs"] = [make(v) for v in old_dirs]
        state["old_stps"] = [make(v) for v in old_stps]
        state["ro"] = ro
        state["H_diag"] = h_diag
        state["prev_flat_grad"] = make(prev_grad)
        state["prev_loss"] = prev_loss
        return orig_loss


def _array(value):
    return value._data if value is not None and hasattr(value, "_data") else value


def _two_loop(grad, old_dirs, old_stps, ro, h_diag):
    """The L-BFGS two-loop recursion: ``-H grad`` from the stored curvature pairs."""
    q = -grad
    alphas = [0.0] * len(old_dirs)
    for i in range(len(old_dirs) - 1, -1, -1):
        alphas[i] = float(old_stps[i] @ q) * ro[i]
        q -= old_dirs[i] * alphas[i]
    r = q * h_diag
    for i in range(len(old_dirs)):
        beta = float(old_dirs[i] @ r) * ro[i]
        r += old_stps[i] * (alphas[i] - beta)
    return r


def _cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None) -> float:
    """Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to ``bounds``."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = disc**0.5
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


def _strong_wolfe(evaluate, x0, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Line search for a step satisfying the strong Wolfe conditions (bracket, then zoom)."""
    xp = xp_of(d)
    d_norm = float(xp.abs(d).max())
    f_new, g_new = evaluate(x0, t, d)
    evals = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g.copy(), gtd
    done = False
    ls_iter = 0
    # bracketing phase: grow t until an interval holds a point satisfying the conditions
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new.copy(), gtd_new]]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket = [[t, f_new, g_new, gtd_new]]
            done = True
            break
        if gtd_new >= 0:
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new.copy(), gtd_new]]
            break
        lo_step, hi_step = t + 0.01 * (t - t_prev), t * 10
        t_next = _cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, (lo_step, hi_step))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new.copy(), gtd_new
        t = t_next
        f_new, g_new = evaluate(x0, t, d)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket = [[0, f, g, None], [t, f_new, g_new, None]]

    # zoom phase: shrink the bracket by cubic interpolation
    insufficient = False
    low, high = (0, 1) if bracket[0][1] <= bracket[-1][1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1][0] - bracket[0][0]) * d_norm < tolerance_change:
            break
        t = _cubic_minimum(
            bracket[0][0], bracket[0][1], bracket[0][3], bracket[1][0], bracket[1][1], bracket[1][3]
        )
        b_max, b_min = max(bracket[0][0], bracket[1][0]), min(bracket[0][0], bracket[1][0])
        eps = 0.1 * (b_max - b_min)
        if min(b_max - t, t - b_min) < eps:
            if insufficient or t >= b_max or t <= b_min:
                t = b_max - eps if abs(t - b_max) < abs(t - b_min) else b_min + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(x0, t, d)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
            bracket[high] = [t, f_new, g_new.copy(), gtd_new]
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = list(bracket[low])
            bracket[low] = [t, f_new, g_new.copy(), gtd_new]
    t, f_new, g_new = bracket[low][0], bracket[low][1], bracket[low][2]
    return f_new, g_new, t, evals
