"""One table of distributions built the same way in ember and in PyTorch (float64 parameters)."""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng(0)
B = 4  # batch size of every case


def _pos(*shape, low=0.5, high=3.0):
    return _rng.uniform(low, high, shape)


def _real(*shape):
    return _rng.normal(size=shape)


def _spd(n):
    a = _rng.normal(size=(B, n, n))
    return a @ a.transpose(0, 2, 1) + n * np.eye(n)


def _simplex(*shape):
    x = _rng.uniform(0.1, 1.0, shape)
    return x / x.sum(-1, keepdims=True)


_cov = _spd(3)


def _corr_cholesky(n):
    spd = _spd(n)
    scale = 1 / np.sqrt(np.diagonal(spd, axis1=-2, axis2=-1))
    return np.linalg.cholesky(spd * scale[:, :, None] * scale[:, None, :])


class Case:
    """``build(D, T)``: the distribution from the module ``D`` (ember/torch .distributions),
    ``T`` turning a NumPy array into that framework's tensor."""

    def __init__(
        self,
        name,
        params,
        build,
        value,
        *,
        kl=False,
        cdf=False,
        icdf=False,
        entropy=True,
        mean=True,
        variance=True,
        mode=True,
    ):
        self.name, self.params, self.build, self.value = name, params, build, value
        self.kl, self.cdf, self.icdf = kl, cdf, icdf
        self.entropy, self.mean, self.variance, self.mode = entropy, mean, variance, mode

    def __repr__(self):
        return self.name


CASES = [
    Case(
        "Normal",
        {"loc": _real(B), "scale": _pos(B)},
        lambda D, p: D.Normal(p["loc"], p["scale"]),
        _real(B),
        kl=True,
        cdf=True,
        icdf=True,
    ),
    Case(
        "Laplace",
        {"loc": _real(B), "scale": _pos(B)},
        lambda D, p: D.Laplace(p["loc"], p["scale"]),
        _real(B),
        kl=True,
        cdf=True,
        icdf=True,
    ),
    Case(
        "Cauchy",
        {"loc": _real(B), "scale": _pos(B)},
        lambda D, p: D.Cauchy(p["loc"], p["scale"]),
        _real(B),
        kl=True,
        cdf=True,
        icdf=True,
        mean=False,
        variance=False,
    ),
    Case(
        "Uniform",
        {"low": _rng.uniform(-2, 0.5, B), "high": _rng.uniform(2.5, 4, B)},
        lambda D, p: D.Uniform(p["low"], p["high"]),
        _rng.uniform(1, 2, B),
        kl=True,
        cdf=True,
        icdf=True,
        mode=False,
    ),
    Case(
        "Exponential",
        {"rate": _pos(B)},
        lambda D, p: D.Exponential(p["rate"]),
        _pos(B),
        kl=True,
        cdf=True,
        icdf=True,
    ),
    Case(
        "Gamma",
        {"concentration": _pos(B), "rate": _pos(B)},
        lambda D, p: D.Gamma(p["concentration"], p["rate"]),
        _pos(B),
        kl=True,
        cdf=True,
    ),
    Case("Chi2", {"df": _pos(B, low=2.5, high=5)}, lambda D, p: D.Chi2(p["df"]), _pos(B)),
    Case(
        "Beta",
        {"c1": _pos(B), "c0": _pos(B)},
        lambda D, p: D.Beta(p["c1"], p["c0"]),
        _rng.uniform(0.1, 0.9, B),
        kl=True,
    ),
    Case(
        "Dirichlet",
        {"concentration": _pos(B, 3)},
        lambda D, p: D.Dirichlet(p["concentration"]),
        _simplex(B, 3),
        kl=True,
    ),
    Case(
        "StudentT",
        {"df": _pos(B, low=2.5, high=6), "loc": _real(B), "scale": _pos(B)},
        lambda D, p: D.StudentT(p["df"], p["loc"], p["scale"]),
        _real(B),
    ),
    Case(
        "LogNormal",
        {"loc": _real(B), "scale": _pos(B)},
        lambda D, p: D.LogNormal(p["loc"], p["scale"]),
        _pos(B),
        kl=True,
        cdf=True,
        icdf=True,
    ),
    Case(
        "Bernoulli-probs",
        {"probs": _rng.uniform(0.1, 0.9, B)},
        lambda D, p: D.Bernoulli(probs=p["probs"]),
        _rng.integers(0, 2, B).astype(float),
        kl=True,
    ),
    Case(
        "Bernoulli-logits",
        {"logits": _real(B)},
        lambda D, p: D.Bernoulli(logits=p["logits"]),
        _rng.integers(0, 2, B).astype(float),
        kl=True,
    ),
    Case(
        "Categorical-probs",
        {"probs": _simplex(B, 5)},
        lambda D, p: D.Categorical(probs=p["probs"]),
        _rng.integers(0, 5, B).astype(float),
        kl=True,
        mean=False,
        variance=False,
    ),
    Case(
        "Categorical-logits",
        {"logits": _real(B, 5)},
        lambda D, p: D.Categorical(logits=p["logits"]),
        _rng.integers(0, 5, B).astype(float),
        kl=True,
        mean=False,
        variance=False,
    ),
    Case(
        "OneHotCategorical",
        {"logits": _real(B, 5)},
        lambda D, p: D.OneHotCategorical(logits=p["logits"]),
        np.eye(5)[[0, 3, 2, 4]],
        kl=True,
    ),
    Case(
        "Poisson",
        {"rate": _pos(B)},
        lambda D, p: D.Poisson(p["rate"]),
        _rng.integers(0, 6, B).astype(float),
        kl=True,
        entropy=False,
    ),
    Case(
        "Binomial",
        {"probs": _rng.uniform(0.1, 0.9, B)},
        lambda D, p: D.Binomial(7, probs=p["probs"]),
        _rng.integers(0, 8, B).astype(float),
        kl=True,
    ),
    Case(
        "Multinomial",
        {"probs": _simplex(B, 3)},
        lambda D, p: D.Multinomial(6, probs=p["probs"]),
        np.array([[1, 2, 3], [6, 0, 0], [2, 2, 2], [0, 5, 1]], float),
        mode=False,
    ),
    Case(
        "MVN-cov",
        {"loc": _real(B, 3), "cov": _cov},
        lambda D, p: D.MultivariateNormal(p["loc"], covariance_matrix=p["cov"]),
        _real(B, 3),
        kl=True,
    ),
    Case(
        "MVN-prec",
        {"loc": _real(B, 3), "prec": _spd(3)},
        lambda D, p: D.MultivariateNormal(p["loc"], precision_matrix=p["prec"]),
        _real(B, 3),
        kl=True,
    ),
    Case(
        "MVN-tril",
        {"loc": _real(3), "tril": np.linalg.cholesky(_cov)},
        lambda D, p: D.MultivariateNormal(p["loc"], scale_tril=p["tril"]),
        _real(B, 3),
        kl=True,
    ),
    Case(
        "Independent-Normal",
        {"loc": _real(B, 2), "scale": _pos(B, 2)},
        lambda D, p: D.Independent(D.Normal(p["loc"], p["scale"]), 1),
        _real(B, 2),
        kl=True,
    ),
    Case(
        "RelaxedBernoulli",
        {"t": np.array(0.7), "probs": _rng.uniform(0.1, 0.9, B)},
        lambda D, p: D.RelaxedBernoulli(p["t"], probs=p["probs"]),
        _rng.uniform(0.1, 0.9, B),
        entropy=False,
        mean=False,
        variance=False,
        mode=False,
    ),
    Case(
        "RelaxedOneHotCategorical",
        {"t": np.array(0.7), "logits": _real(B, 3)},
        lambda D, p: D.RelaxedOneHotCategorical(p["t"], logits=p["logits"]),
        _simplex(B, 3),
        entropy=False,
        mean=False,
        variance=False,
        mode=False,
    ),
    Case(
        "Geometric-probs",
        {"probs": _rng.uniform(0.1, 0.9, B)},
        lambda D, p: D.Geometric(probs=p["probs"]),
        _rng.integers(0, 6, B).astype(float),
    ),
    Case(
        "Geometric-logits",
        {"logits": _real(B)},
        lambda D, p: D.Geometric(logits=p["logits"]),
        _rng.integers(0, 6, B).astype(float),
    ),
    Case(
        "NegativeBinomial",
        {"n": _pos(B, low=1, high=5), "probs": _rng.uniform(0.1, 0.7, B)},
        lambda D, p: D.NegativeBinomial(p["n"], probs=p["probs"]),
        _rng.integers(0, 6, B).astype(float),
        entropy=False,
    ),
    Case(
        "HalfNormal", {"scale": _pos(B)}, lambda D, p: D.HalfNormal(p["scale"]), _pos(B), cdf=True, icdf=True
    ),
    Case(
        "Gumbel",
        {"loc": _real(B), "scale": _pos(B)},
        lambda D, p: D.Gumbel(p["loc"], p["scale"]),
        _real(B),
        cdf=True,
    ),
    Case(
        "HalfCauchy",
        {"scale": _pos(B)},
        lambda D, p: D.HalfCauchy(p["scale"]),
        _pos(B),
        cdf=True,
        icdf=True,
        mean=False,
        variance=False,
    ),
    Case(
        "Pareto",
        {"scale": _pos(B, low=0.1, high=0.5), "alpha": _pos(B, low=2.5, high=4)},
        lambda D, p: D.Pareto(p["scale"], p["alpha"]),
        _pos(B, low=0.6, high=3),
        cdf=True,
    ),
    Case(
        "Weibull",
        {"scale": _pos(B), "c": _pos(B, low=1.2, high=3)},
        lambda D, p: D.Weibull(p["scale"], p["c"]),
        _pos(B),
    ),
    Case(
        "GMM",
        {"logits": _real(B, 3), "loc": _real(B, 3), "scale": _pos(B, 3)},
        lambda D, p: D.MixtureSameFamily(D.Categorical(logits=p["logits"]), D.Normal(p["loc"], p["scale"])),
        _real(B),
        entropy=False,
        mode=False,
        cdf=True,
    ),
    Case(
        "GMM-2d",
        {"logits": _real(B, 3), "loc": _real(B, 3, 2), "scale": _pos(B, 3, 2)},
        lambda D, p: D.MixtureSameFamily(
            D.Categorical(logits=p["logits"]), D.Independent(D.Normal(p["loc"], p["scale"]), 1)
        ),
        _real(B, 2),
        entropy=False,
        mode=False,
    ),
    Case(
        "InverseGamma",
        {"c": _pos(B, low=2.5, high=4), "rate": _pos(B)},
        lambda D, p: D.InverseGamma(p["c"], p["rate"]),
        _pos(B),
    ),
    Case(
        "FisherSnedecor",
        {"df1": _pos(B, low=3, high=6), "df2": _pos(B, low=12, high=16)},
        lambda D, p: D.FisherSnedecor(p["df1"], p["df2"]),
        _pos(B),
        entropy=False,
    ),
    Case(
        "Kumaraswamy",
        {"c1": _pos(B, low=1.5, high=3), "c0": _pos(B, low=1.5, high=3)},
        lambda D, p: D.Kumaraswamy(p["c1"], p["c0"]),
        _rng.uniform(0.1, 0.9, B),
        mode=False,
    ),  # PyTorch's mode is NaN for concentration0 > 1 (test_against_scipy)
    Case(
        "LogisticNormal",
        {"loc": _real(B, 2), "scale": _pos(B, 2)},
        lambda D, p: D.LogisticNormal(p["loc"], p["scale"]),
        _simplex(B, 3),
        entropy=False,
        mean=False,
        variance=False,
        mode=False,
    ),
    Case(
        "ContinuousBernoulli",
        {"probs": np.array([0.2, 0.4995, 0.7, 0.9])},
        lambda D, p: D.ContinuousBernoulli(probs=p["probs"]),
        _rng.uniform(0.1, 0.9, B),
        cdf=True,
        icdf=True,
        mode=False,
    ),
    Case(
        "ContinuousBernoulli-logits",
        {"logits": _real(B)},
        lambda D, p: D.ContinuousBernoulli(logits=p["logits"]),
        _rng.uniform(0.1, 0.9, B),
        cdf=True,
        icdf=True,
        mode=False,
    ),
    Case(
        "LowRankMVN",
        {"loc": _real(B, 3), "w": _real(B, 3, 2), "d": _pos(B, 3)},
        lambda D, p: D.LowRankMultivariateNormal(p["loc"], p["w"], p["d"]),
        _real(B, 3),
    ),
    Case(
        "VonMises",
        {"loc": _rng.uniform(-2, 2, B), "k": _pos(B, low=0.5, high=5)},
        lambda D, p: D.VonMises(p["loc"], p["k"]),
        _rng.uniform(-3, 3, B),
        entropy=False,
    ),
    Case(
        "GeneralizedPareto",
        {
            "loc": np.array([0.1, -0.3, 0.5, 1.0]),
            "scale": np.array([1.0, 2.0, 0.5, 1.5]),
            "xi": np.array([0.2, -0.2, 0.0, 0.3]),
        },
        lambda D, p: D.GeneralizedPareto(p["loc"], p["scale"], p["xi"]),
        np.array([0.6, 0.7, 0.7, 3.0]),
        cdf=True,
        icdf=True,
    ),
    Case(
        "Wishart",
        {"df": _pos(B, low=3.5, high=6), "cov": _cov},
        lambda D, p: D.Wishart(p["df"], covariance_matrix=p["cov"]),
        _spd(3),
    ),
    Case(
        "Wishart-prec",
        {"df": _pos(B, low=3.5, high=6), "prec": _cov},
        lambda D, p: D.Wishart(p["df"], precision_matrix=p["prec"]),
        _spd(3),
    ),
    Case(
        "LKJCholesky",
        {"c": _pos(B, low=0.5, high=3)},
        lambda D, p: D.LKJCholesky(3, p["c"]),
        _corr_cholesky(3),
        entropy=False,
        mean=False,
        variance=False,
        mode=False,
    ),
    Case(
        "Tanh-Normal",
        {"loc": _real(B), "scale": _pos(B)},
        lambda D, p: D.TransformedDistribution(
            D.Normal(p["loc"], p["scale"]), [D.transforms.TanhTransform()]
        ),
        np.tanh(_real(B)),
        entropy=False,
        mean=False,
        variance=False,
        mode=False,
    ),
    Case(
        "Affine-Sigmoid-Normal",
        {"loc": _real(B), "scale": _pos(B)},
        lambda D, p: D.TransformedDistribution(
            D.Normal(p["loc"], p["scale"]),
            [D.transforms.AffineTransform(1.0, 2.0), D.transforms.SigmoidTransform()],
        ),
        _rng.uniform(0.1, 0.9, B),
        entropy=False,
        mean=False,
        variance=False,
        mode=False,
        cdf=True,
    ),
]
