"""Transforms and the constraint registry against PyTorch: forward, inverse, log-det-Jacobian."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.distributions as ED
from tests.helpers import torch_or_skip

rng = np.random.default_rng(3)

# (name, build(module), input in the domain)
TRANSFORMS = [
    ("Exp", lambda T: T.ExpTransform(), rng.normal(size=(3, 4))),
    ("Affine", lambda T: T.AffineTransform(0.5, -2.0), rng.normal(size=(3, 4))),
    ("Sigmoid", lambda T: T.SigmoidTransform(), rng.normal(size=(3, 4))),
    ("Tanh", lambda T: T.TanhTransform(), rng.normal(size=(3, 4))),
    ("Softplus", lambda T: T.SoftplusTransform(), rng.normal(size=(3, 4))),
    ("Power", lambda T: T.PowerTransform(2.5), rng.uniform(0.5, 2, size=(3, 4))),
    ("StickBreaking", lambda T: T.StickBreakingTransform(), rng.normal(size=(3, 4))),
    ("LowerCholesky", lambda T: T.LowerCholeskyTransform(), rng.normal(size=(2, 3, 3))),
    (
        "Compose",
        lambda T: T.ComposeTransform([T.ExpTransform(), T.AffineTransform(1.0, 3.0)]),
        rng.normal(size=(3, 4)),
    ),
    ("Independent", lambda T: T.IndependentTransform(T.SigmoidTransform(), 1), rng.normal(size=(3, 4))),
    ("Reshape", lambda T: T.ReshapeTransform((4,), (2, 2)), rng.normal(size=(3, 4))),
    ("CorrCholesky", lambda T: T.CorrCholeskyTransform(), rng.normal(size=(2, 6))),
    ("PositiveDefinite", lambda T: T.PositiveDefiniteTransform(), rng.normal(size=(2, 3, 3))),
    (
        "Cat",
        lambda T: T.CatTransform([T.ExpTransform(), T.SigmoidTransform()], dim=1, lengths=[1, 3]),
        rng.normal(size=(3, 4)),
    ),
    (
        "Stack",
        lambda T: T.StackTransform([T.ExpTransform(), T.TanhTransform()], dim=0),
        rng.normal(size=(2, 4)),
    ),
]
NO_LOG_DET = {"LowerCholesky", "PositiveDefinite"}  # PyTorch defines none


@pytest.mark.parametrize("name, build, x", TRANSFORMS, ids=[t[0] for t in TRANSFORMS])
def test_transform_matches_torch(name, build, x):
    torch = torch_or_skip()
    e, t = build(ED.transforms), build(torch.distributions.transforms)
    ex, tx = ember.tensor(x), torch.tensor(x)
    ey, ty = e(ex), t(tx)
    np.testing.assert_allclose(ey.numpy(), ty.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(e.inv(ey).numpy(), t.inv(ty).numpy(), rtol=1e-8, atol=1e-10)
    if name not in NO_LOG_DET:
        np.testing.assert_allclose(
            e.log_abs_det_jacobian(ex, ey).numpy(), t.log_abs_det_jacobian(tx, ty).numpy(), rtol=1e-9
        )
    if name not in ("Cat", "Stack"):
        assert e.domain.event_dim == t.domain.event_dim
        assert e.codomain.event_dim == t.codomain.event_dim


@pytest.mark.parametrize(
    "constraint",
    [
        "real",
        "positive",
        "unit_interval",
        "simplex",
        "lower_cholesky",
        "real_vector",
        "greater_than",
        "interval",
        "less_than",
        "corr_cholesky",
        "positive_definite",
    ],
)
@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_constraint_registry_matches_torch(constraint, registry):
    torch = torch_or_skip()

    def pick(module):
        c = module.constraints
        return {
            "greater_than": lambda: c.greater_than(1.5),
            "interval": lambda: c.interval(-1.0, 2.0),
            "less_than": lambda: c.less_than(-0.5),
        }.get(constraint, lambda: getattr(c, constraint))()

    matrix = constraint in ("lower_cholesky", "positive_definite")
    x = rng.normal(size=(2, 3, 3)) if matrix else rng.normal(size=(2, 3))
    if registry == "biject_to" and matrix:  # not registered in PyTorch
        with pytest.raises(NotImplementedError):
            ED.biject_to(getattr(ED.constraints, constraint))
        return
    e = getattr(ED, registry)(pick(ED))
    t = getattr(torch.distributions, registry)(pick(torch.distributions))
    ey, ty = e(ember.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(ey.numpy(), ty.numpy(), rtol=1e-10, atol=1e-12)
    assert bool(pick(ED).check(ey).all())


def test_cumulative_distribution_transform_and_registry_errors():
    normal = ED.Normal(ember.tensor(0.0, dtype=ember.float64), ember.tensor(1.0, dtype=ember.float64))
    t = ED.CumulativeDistributionTransform(normal)
    x = ember.tensor([-1.0, 0.0, 2.0], dtype=ember.float64)
    np.testing.assert_allclose(t.inv(t(x)).numpy(), x.numpy(), rtol=1e-10)
    with pytest.raises(NotImplementedError, match="Cannot transform"):
        ED.biject_to(ED.constraints.boolean)


def test_exponential_family_entropy_from_its_log_normalizer():
    class MyNormal(ED.ExponentialFamily):
        arg_constraints: dict = {}  # noqa: RUF012

        def __init__(self, loc, scale):
            self.loc, self.scale = loc, scale
            super().__init__(loc.shape)

        @property
        def _natural_params(self):
            return (self.loc / self.scale.pow(2), -0.5 * self.scale.pow(2).reciprocal())

        def _log_normalizer(self, x, y):
            return -0.25 * x.pow(2) / y + 0.5 * (-np.pi / y).log()

        _mean_carrier_measure = 0

    loc, scale = ember.tensor([0.3, -1.0]), ember.tensor([0.5, 2.0])
    np.testing.assert_allclose(
        MyNormal(loc, scale).entropy().detach().numpy(), ED.Normal(loc, scale).entropy().numpy(), rtol=1e-5
    )
    assert isinstance(ED.Normal(loc, scale), ED.ExponentialFamily)
