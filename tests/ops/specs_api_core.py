"""Op-table rows for the long-tail torch functions: scans, order statistics, structure ops,
distances and extra elementwise math (ember/methods/{stats,structure,extra_math}.py)."""

import numpy as np

from tests.ops.spec import OpSpec


def _logcumsumexp(a, axis):
    return np.logaddexp.accumulate(a, axis=axis)


def _renorm(a, p, dim, maxnorm):
    others = tuple(i for i in range(a.ndim) if i != dim)
    norms = (np.abs(a) ** p).sum(others, keepdims=True) ** (1 / p)
    return a * np.where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)


def _cdist(x1, x2):
    return np.sqrt(((x1[:, None, :] - x2[None, :, :]) ** 2).sum(-1))


def _diag_embed(a):
    out = np.zeros(a.shape + (a.shape[-1],))
    idx = np.arange(a.shape[-1])
    out[..., idx, idx] = a
    return out


def _scatter_reference(kind):
    def ref(a, src):
        out = a.copy()
        if kind == "diagonal":
            out[np.arange(3), np.arange(3)] = src
        elif kind == "select":
            out[:, 1] = src
        else:
            out[1:3] = src
        return out

    return ref


def _block_diag(a, b):
    out = np.zeros((a.shape[0] + b.shape[0], a.shape[1] + b.shape[1]))
    out[: a.shape[0], : a.shape[1]] = a
    out[a.shape[0] :, a.shape[1] :] = b
    return out


def _cummax_values(a):
    return np.maximum.accumulate(a, axis=1)


def _quantile_inputs(rng, dt):
    return [rng.uniform(-2, 2, (3, 7)).astype(dt)]


SPECS = [
    OpSpec("logcumsumexp", lambda m, a: m.logcumsumexp(a, 1), lambda a: _logcumsumexp(a, 1), [(3, 5)]),
    OpSpec("cummax", lambda m, a: m.cummax(a, 1).values, _cummax_values, [(3, 5)]),
    OpSpec(
        "cummin", lambda m, a: m.cummin(a, 1).values, lambda a: np.minimum.accumulate(a, axis=1), [(3, 5)]
    ),
    OpSpec(
        "quantile",
        lambda m, a: m.quantile(a, 0.3, dim=1),
        lambda a: np.quantile(a, 0.3, axis=1),
        [(3, 7)],
        make_inputs=_quantile_inputs,
    ),
    OpSpec(
        "nanquantile",
        lambda m, a: m.nanquantile(a, 0.8, dim=0, keepdim=True),
        lambda a: np.nanquantile(a, 0.8, axis=0, keepdims=True),
        [(5, 3)],
    ),
    OpSpec("cov", lambda m, a: m.cov(a), np.cov, [(3, 6)]),
    OpSpec("corrcoef", lambda m, a: m.corrcoef(a), np.corrcoef, [(3, 6)]),
    OpSpec(
        "dist",
        lambda m, a, b: m.dist(a, b, 3),
        lambda a, b: (np.abs(a - b) ** 3).sum() ** (1 / 3),
        [(3, 4), (4,)],
    ),
    OpSpec("renorm", lambda m, a: m.renorm(a, 2, 0, 1.0), lambda a: _renorm(a, 2, 0, 1.0), [(3, 4)]),
    OpSpec("cdist", lambda m, a, b: m.cdist(a, b), _cdist, [(4, 3), (5, 3)]),
    OpSpec("diff", lambda m, a: m.diff(a, n=2, dim=0), lambda a: np.diff(a, n=2, axis=0), [(5, 3)]),
    OpSpec("rot90", lambda m, a: m.rot90(a, 1, [0, 1]), lambda a: np.rot90(a, 1, (0, 1)), [(3, 4)]),
    OpSpec("rot90_k3", lambda m, a: m.rot90(a, 3, [1, 2]), lambda a: np.rot90(a, 3, (1, 2)), [(2, 3, 4)]),
    OpSpec("diag_embed", lambda m, a: m.diag_embed(a), _diag_embed, [(2, 3)]),
    OpSpec("diagflat", lambda m, a: m.diagflat(a, 1), lambda a: np.diagflat(a, 1), [(2, 2)]),
    OpSpec(
        "diagonal_scatter",
        lambda m, a, s: m.diagonal_scatter(a, s),
        _scatter_reference("diagonal"),
        [(3, 3), (3,)],
    ),
    OpSpec(
        "select_scatter",
        lambda m, a, s: m.select_scatter(a, s, 1, 1),
        _scatter_reference("select"),
        [(3, 4), (3,)],
    ),
    OpSpec(
        "slice_scatter",
        lambda m, a, s: m.slice_scatter(a, s, 0, 1, 3),
        _scatter_reference("slice"),
        [(4, 3), (2, 3)],
    ),
    OpSpec("block_diag", lambda m, a, b: m.block_diag(a, b), _block_diag, [(2, 3), (3, 2)]),
    OpSpec("trapezoid", lambda m, a: m.trapezoid(a, dx=0.5), lambda a: np.trapezoid(a, dx=0.5), [(3, 5)]),
    # torch.vander's own backward trips its version check (an in-place op on a saved view)
    OpSpec("vander", lambda m, a: m.vander(a, 4), lambda a: np.vander(a, 4), [(3,)], torch=False),
    OpSpec(
        "float_power",
        lambda m, a, b: m.float_power(a, b),
        np.power,
        [(3, 4), (3, 4)],
        domain=(0.5, 2.0),
        float32=False,
    ),  # the result is float64 by definition
    OpSpec(
        "ldexp",
        lambda m, a: m.ldexp(a, m.tensor([1, -2, 3], device=a.device)),
        lambda a: a * 2.0 ** np.array([1, -2, 3]),
        [(2, 3)],
        torch=False,
    ),
    OpSpec("logaddexp2", lambda m, a, b: m.logaddexp2(a, b), np.logaddexp2, [(3, 4), (4,)], broadcast=True),
    OpSpec(
        "hardshrink", lambda m, a: a.hardshrink(0.5), lambda a: np.where(np.abs(a) > 0.5, a, 0.0), [(3, 4)]
    ),
    OpSpec(
        "as_strided",
        lambda m, a: m.as_strided(a, (2, 2), (1, 2), 1),
        lambda a: np.lib.stride_tricks.as_strided(a.reshape(-1)[1:], (2, 2), (a.itemsize, 2 * a.itemsize)),
        [(3, 3)],
    ),
]
