"""Op-table rows for reductions, selections, scans and the softmax family.

Random uniform inputs have no ties, so max/min/sort/median pick the same element as PyTorch.
"""

import numpy as np

from tests.ops.spec import OpSpec


def _softmax(a, axis):
    e = np.exp(a - a.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _log_softmax(a, axis):
    s = a - a.max(axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis, keepdims=True))


def _logsumexp(a, axis, keepdims=False):
    m = a.max(axis, keepdims=True)
    out = np.log(np.exp(a - m).sum(axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis)


def _nll(logp, target, reduction="mean", weight=None):
    """NumPy reference of nll_loss with ignore_index -100 (class dim 1, or 0 for 1-D input)."""
    rows = logp.reshape(1, -1) if logp.ndim == 1 else np.moveaxis(logp, 1, -1).reshape(-1, logp.shape[1])
    flat = target.reshape(-1)
    kept = flat != -100
    safe = np.where(kept, flat, 0)
    w = kept * (1.0 if weight is None else weight[safe])
    losses = -rows[np.arange(len(flat)), safe] * w
    if reduction == "none":
        return losses.reshape(target.shape)
    return losses.sum() / w.sum() if reduction == "mean" else losses.sum()


def _nll_inputs(logp_shape, target):
    target = np.asarray(target, dtype=np.int64)
    return lambda rng, dtype: [rng.uniform(-3, 0, logp_shape).astype(dtype), target]


_NLL_WEIGHT = [0.5, 2.0, 1.0, 1.5]


def _with_zeros(shape, positions):
    def make(rng, dt):
        a = rng.uniform(-2, 2, shape)
        for p in positions:
            a[p] = 0.0
        return [a.astype(dt)]

    return make


def _with_nans(rng, dt):
    a = rng.uniform(-2, 2, (3, 4))
    a[0, 1] = a[2, 3] = np.nan
    return [a.astype(dt)]


def _lower_median(a, axis):
    s = np.sort(a, axis)
    return np.take(s, (a.shape[axis] - 1) // 2, axis)


def _median_pair(a, axis):
    order = np.argsort(a, axis, kind="stable")
    idx = np.take(order, [(a.shape[axis] - 1) // 2], axis)
    return np.take_along_axis(a, idx, axis).squeeze(axis), idx.squeeze(axis)


def _norm(a, p, axis=None, keepdims=False):
    if p == np.inf:
        return np.abs(a).max(axis, keepdims=keepdims)
    if p == -np.inf:
        return np.abs(a).min(axis, keepdims=keepdims)
    if p == 0:
        return (a != 0).sum(axis, keepdims=keepdims).astype(a.dtype)
    return (np.abs(a) ** p).sum(axis, keepdims=keepdims) ** (1.0 / p)


def _topk(a, k, axis, largest=True):
    order = np.argsort(-a if largest else a, axis, kind="stable")
    idx = np.take(order, np.arange(k), axis)
    return np.take_along_axis(a, idx, axis), idx


def _extreme_logits(rng, dt):
    a = rng.uniform(-1, 1, (3, 5)) * 1e4
    a[0, :2] = [1e4, -1e4]
    return [a.astype(dt)]


SPECS = [
    # sums and products
    OpSpec(
        "sum_tuple_dims", lambda m, a: m.sum(a, (-1, 0)), lambda a: a.sum((-1, 0)), [(2, 3, 4)], gradgrad=True
    ),
    OpSpec("sum_dtype", lambda m, a: a.sum(1, dtype=m.float64), lambda a: a.sum(1), [(3, 4)], float32=False),
    OpSpec(
        "sum_keepdim_0d_ok",
        lambda m, a: a.sum(0, keepdim=True),
        lambda a: a.sum(0, keepdims=True) if a.ndim else a.copy(),
        [(3,)],
        zero_dim=True,
    ),
    OpSpec("mean_all", lambda m, a: a.mean(), np.mean, [(3, 4)], gradgrad=True, zero_dim=True),
    OpSpec(
        "mean_dims_keepdim",
        lambda m, a: m.mean(a, (0, 2), keepdim=True),
        lambda a: a.mean((0, 2), keepdims=True),
        [(2, 3, 4)],
        gradgrad=True,
    ),
    OpSpec(
        "prod_all", lambda m, a: a.prod(), np.prod, [(2, 3)], domain=(0.5, 1.5), gradgrad=True, zero_dim=True
    ),
    OpSpec("prod_dim", lambda m, a: m.prod(a, 1), lambda a: a.prod(1), [(3, 4)], gradgrad=True),
    OpSpec(
        "prod_keepdim", lambda m, a: a.prod(0, keepdim=True), lambda a: a.prod(0, keepdims=True), [(3, 4)]
    ),
    OpSpec(
        "prod_with_zeros",
        lambda m, a: a.prod(1),
        lambda a: a.prod(1),
        [(3, 4)],
        make_inputs=_with_zeros((3, 4), [(0, 1), (1, 0), (1, 3)]),
    ),
    OpSpec(
        "prod_all_with_zero",
        lambda m, a: a.prod(),
        np.prod,
        [(2, 3)],
        make_inputs=_with_zeros((2, 3), [(1, 1)]),
    ),
    OpSpec(
        "nansum", lambda m, a: m.nansum(a, 1), lambda a: np.nansum(a, 1), [(3, 4)], make_inputs=_with_nans
    ),
    OpSpec("nanmean", lambda m, a: m.nanmean(a), np.nanmean, [(3, 4)], make_inputs=_with_nans),
    OpSpec(
        "nanmean_dim",
        lambda m, a: a.nanmean(0, keepdim=True),
        lambda a: np.nanmean(a, 0, keepdims=True),
        [(3, 4)],
        make_inputs=_with_nans,
    ),
    # scans
    OpSpec("cumsum", lambda m, a: m.cumsum(a, 1), lambda a: np.cumsum(a, 1), [(3, 4)], gradgrad=True),
    OpSpec(
        "cumsum_0d_ok",
        lambda m, a: a.cumsum(0),
        lambda a: np.cumsum(a, 0) if a.ndim else a.copy(),
        [(4,)],
        zero_dim=True,
    ),
    OpSpec("cumsum_neg_dim", lambda m, a: a.cumsum(-3), lambda a: np.cumsum(a, 0), [(2, 3, 4)]),
    OpSpec("cumprod", lambda m, a: m.cumprod(a, 1), lambda a: np.cumprod(a, 1), [(3, 4)], gradgrad=True),
    OpSpec("cumprod_dim0_3d", lambda m, a: a.cumprod(0), lambda a: np.cumprod(a, 0), [(3, 2, 4)]),
    OpSpec(
        "cumprod_with_zeros",
        lambda m, a: a.cumprod(1),
        lambda a: np.cumprod(a, 1),
        [(3, 5)],
        make_inputs=_with_zeros((3, 5), [(0, 1), (1, 0), (1, 3), (2, 4), (2, 2)]),
    ),
    OpSpec(
        "cumprod_with_zeros_dim0",
        lambda m, a: a.cumprod(0),
        lambda a: np.cumprod(a, 0),
        [(4, 2, 3)],
        make_inputs=_with_zeros((4, 2, 3), [(1, 0, 0), (0, 1, 2), (2, 1, 2)]),
    ),
    # extremes
    OpSpec("max_all", lambda m, a: a.max(), np.max, [(3, 4)], zero_dim=True),
    OpSpec("min_all", lambda m, a: m.min(a), np.min, [(3, 4)]),
    OpSpec("max_dim", lambda m, a: a.max(1), lambda a: (a.max(1), a.argmax(1)), [(3, 4)]),
    OpSpec(
        "max_dim_keepdim",
        lambda m, a: m.max(a, 0, keepdim=True),
        lambda a: (a.max(0, keepdims=True), a.argmax(0)[None]),
        [(3, 4)],
    ),
    OpSpec("min_dim", lambda m, a: a.min(dim=-1), lambda a: (a.min(-1), a.argmin(-1)), [(2, 3, 4)]),
    OpSpec("max_dim_values", lambda m, a: a.max(1).values * 2, lambda a: a.max(1) * 2, [(3, 4)]),
    OpSpec("amax", lambda m, a: a.amax(1), lambda a: a.max(1), [(3, 4)]),
    OpSpec(
        "amax_dims_keepdim",
        lambda m, a: m.amax(a, (0, 2), keepdim=True),
        lambda a: a.max((0, 2), keepdims=True),
        [(2, 3, 4)],
    ),
    OpSpec("amin_all", lambda m, a: a.amin(), np.min, [(3, 4)], zero_dim=True),
    OpSpec("aminmax", lambda m, a: m.aminmax(a, dim=1), lambda a: (a.min(1), a.max(1)), [(3, 4)]),
    OpSpec("argmax", lambda m, a: a.argmax(), lambda a: np.array(a.argmax()), [(3, 4)]),
    OpSpec(
        "argmax_dim_keepdim", lambda m, a: a.argmax(1, keepdim=True), lambda a: a.argmax(1)[:, None], [(3, 4)]
    ),
    OpSpec("argmin_dim", lambda m, a: m.argmin(a, 0), lambda a: a.argmin(0), [(3, 4)]),
    # order statistics
    OpSpec("sort", lambda m, a: a.sort(1), lambda a: (np.sort(a, 1), np.argsort(a, 1)), [(3, 4)]),
    OpSpec(
        "sort_0d_ok",
        lambda m, a: a.sort(0),
        lambda a: (np.sort(a, 0), np.argsort(a, 0)) if a.ndim else (a.copy(), np.array(0)),
        [(4,)],
        zero_dim=True,
    ),
    OpSpec(
        "sort_descending",
        lambda m, a: m.sort(a, 0, descending=True),
        lambda a: (-np.sort(-a, 0), np.argsort(-a, 0)),
        [(4, 3)],
    ),
    OpSpec("argsort", lambda m, a: a.argsort(-1, descending=True), lambda a: np.argsort(-a, -1), [(3, 5)]),
    OpSpec("topk", lambda m, a: a.topk(2), lambda a: _topk(a, 2, -1), [(3, 5)]),
    OpSpec(
        "topk_smallest_dim0",
        lambda m, a: m.topk(a, 3, dim=0, largest=False),
        lambda a: _topk(a, 3, 0, False),
        [(4, 3)],
    ),
    OpSpec("median_all", lambda m, a: a.median(), lambda a: np.array(_lower_median(a.ravel(), 0)), [(3, 4)]),
    OpSpec("median_dim", lambda m, a: a.median(1), lambda a: _median_pair(a, 1), [(3, 4)]),
    OpSpec("median_dim_odd", lambda m, a: m.median(a, 0), lambda a: _median_pair(a, 0), [(5, 2)]),
    OpSpec(
        "kthvalue",
        lambda m, a: a.kthvalue(2, 1),
        lambda a: (np.sort(a, 1)[:, 1], np.argsort(a, 1)[:, 1]),
        [(3, 4)],
    ),
    # logical
    OpSpec(
        "all",
        lambda m, a: a.all(),
        lambda a: np.array(np.all(a)),
        [(3, 4)],
        differentiable=False,
        make_inputs=_with_zeros((3, 4), [(1, 0), (1, 1), (1, 2), (1, 3), (2, 2)]),
    ),
    OpSpec(
        "all_dim_keepdim",
        lambda m, a: m.all(a, 1, keepdim=True),
        lambda a: np.all(a, 1, keepdims=True),
        [(3, 4)],
        differentiable=False,
        make_inputs=_with_zeros((3, 4), [(1, 0), (2, 2)]),
    ),
    OpSpec(
        "any_dim",
        lambda m, a: m.any(a, 1),
        lambda a: np.any(a, 1),
        [(3, 4)],
        differentiable=False,
        make_inputs=_with_zeros((3, 4), [(1, 0), (1, 1), (1, 2), (1, 3), (2, 2)]),
    ),
    OpSpec(
        "any_all",
        lambda m, a: a.any(),
        lambda a: np.array(np.any(a)),
        [(3, 4)],
        differentiable=False,
        zero_dim=True,
    ),
    OpSpec(
        "count_nonzero",
        lambda m, a: m.count_nonzero(a, 0),
        lambda a: np.count_nonzero(a, 0),
        [(3, 4)],
        make_inputs=_with_zeros((3, 4), [(0, 1), (2, 1), (1, 3)]),
        differentiable=False,
    ),
    # statistics
    OpSpec("var_all", lambda m, a: a.var(), lambda a: a.var(ddof=1), [(3, 4)], gradgrad=True),
    OpSpec(
        "var_dim_correction0",
        lambda m, a: a.var(1, correction=0),
        lambda a: a.var(1),
        [(3, 4)],
        gradgrad=True,
    ),
    OpSpec(
        "var_unbiased_false",
        lambda m, a: m.var(a, 0, False, True),
        lambda a: a.var(0, keepdims=True),
        [(3, 4)],
    ),
    OpSpec(
        "var_dims_correction2",
        lambda m, a: a.var((0, 2), correction=2),
        lambda a: a.var((0, 2), ddof=2),
        [(2, 3, 4)],
    ),
    OpSpec("std", lambda m, a: a.std(1), lambda a: a.std(1, ddof=1), [(3, 4)], gradgrad=True),
    OpSpec("std_all_biased", lambda m, a: m.std(a, unbiased=False), lambda a: a.std(), [(3, 4)]),
    OpSpec("var_mean", lambda m, a: m.var_mean(a, 1), lambda a: (a.var(1, ddof=1), a.mean(1)), [(3, 4)]),
    OpSpec(
        "std_mean_keepdim",
        lambda m, a: m.std_mean(a, 0, keepdim=True, correction=0),
        lambda a: (a.std(0, keepdims=True), a.mean(0, keepdims=True)),
        [(3, 4)],
    ),
    # norms
    OpSpec(
        "norm_2",
        lambda m, a: a.norm(),
        lambda a: np.sqrt((a * a).sum()),
        [(3, 4)],
        gradgrad=True,
        zero_dim=True,
    ),
    OpSpec(
        "norm_fro_dims", lambda m, a: m.norm(a, "fro", (1, 2)), lambda a: _norm(a, 2, (1, 2)), [(2, 3, 4)]
    ),
    OpSpec("norm_1_dim", lambda m, a: a.norm(1, 1), lambda a: _norm(a, 1, 1), [(3, 4)]),
    OpSpec(
        "norm_3_keepdim",
        lambda m, a: a.norm(3, 0, keepdim=True),
        lambda a: _norm(a, 3, 0, True),
        [(3, 4)],
        gradgrad=True,
    ),
    OpSpec("norm_1_5", lambda m, a: a.norm(1.5), lambda a: _norm(a, 1.5), [(3, 4)]),
    OpSpec("norm_inf", lambda m, a: a.norm(float("inf"), 1), lambda a: _norm(a, np.inf, 1), [(3, 4)]),
    OpSpec("norm_neg_inf", lambda m, a: a.norm(float("-inf")), lambda a: _norm(a, -np.inf), [(3, 4)]),
    OpSpec(
        "norm_0",
        lambda m, a: a.norm(0, 1),
        lambda a: _norm(a, 0, 1),
        [(3, 4)],
        make_inputs=_with_zeros((3, 4), [(0, 1), (2, 2)]),
    ),
    # softmax family
    OpSpec("logsumexp", lambda m, a: m.logsumexp(a, 1), lambda a: _logsumexp(a, 1), [(3, 4)], gradgrad=True),
    OpSpec(
        "logsumexp_dims_keepdim",
        lambda m, a: a.logsumexp((0, 2), keepdim=True),
        lambda a: _logsumexp(a, (0, 2), True),
        [(2, 3, 4)],
        domain=(-30, 30),
    ),
    OpSpec("softmax", lambda m, a: m.softmax(a, 1), lambda a: _softmax(a, 1), [(3, 4)], gradgrad=True),
    OpSpec(
        "softmax_dim0_3d", lambda m, a: a.softmax(0), lambda a: _softmax(a, 0), [(3, 2, 4)], domain=(-20, 20)
    ),
    OpSpec(
        "softmax_dtype",
        lambda m, a: a.softmax(-1, dtype=m.float64),
        lambda a: _softmax(a, -1),
        [(3, 4)],
        float32=False,
    ),
    OpSpec(
        "log_softmax",
        lambda m, a: m.log_softmax(a, -1),
        lambda a: _log_softmax(a, -1),
        [(3, 4)],
        gradgrad=True,
    ),
    OpSpec(
        "softmin",
        lambda m, a: m.softmin(a, 1),
        lambda a: _softmax(-a, 1),
        [(3, 4)],
        torch_fn=lambda m, a: m.nn.functional.softmin(a, 1),
    ),
    OpSpec(
        "softmax_extreme_logits",
        lambda m, a: a.softmax(1),
        lambda a: _softmax(a, 1),
        [(3, 5)],
        make_inputs=_extreme_logits,
        grad_atol=1e-4,
    ),
    OpSpec(
        "log_softmax_extreme_logits",
        lambda m, a: a.log_softmax(1),
        lambda a: _log_softmax(a, 1),
        [(3, 5)],
        make_inputs=_extreme_logits,
        atol=1e-3,
        grad_atol=1e-4,
    ),
    OpSpec(
        "nll_loss",
        lambda m, a, t: m.nn.functional.nll_loss(a, t),
        _nll,
        [],
        make_inputs=_nll_inputs((4, 3), [0, 2, -100, 1]),
        gradgrad=True,
    ),
    OpSpec(
        "nll_loss_weight_sum",
        lambda m, a, t: m.nn.functional.nll_loss(
            a, t, m.tensor(_NLL_WEIGHT, dtype=a.dtype, device=a.device), reduction="sum"
        ),
        lambda a, t: _nll(a, t, "sum", np.asarray(_NLL_WEIGHT)),
        [],
        make_inputs=_nll_inputs((3, 4), [3, 0, 2]),
    ),
    OpSpec(
        "nll_loss_4d_none",
        lambda m, a, t: m.nn.functional.nll_loss(a, t, reduction="none"),
        lambda a, t: _nll(a, t, "none"),
        [],
        make_inputs=_nll_inputs((2, 3, 2, 2), [[[0, 2], [1, -100]], [[2, 2], [0, 1]]]),
    ),
    OpSpec(
        "nll_loss_1d",
        lambda m, a, t: m.nn.functional.nll_loss(a, t),
        _nll,
        [],
        make_inputs=_nll_inputs((5,), 3),
    ),
]
