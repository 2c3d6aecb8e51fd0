"""nn.init: the statistics of large draws match the formulas; PyTorch's gains and fans."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from ember.nn import init
from tests.helpers import torch_or_skip


def _stats(t):
    a = t.detach().numpy().astype(np.float64)
    return a.mean(), a.std(), a.min(), a.max()


@pytest.mark.parametrize(
    "name,param",
    [
        ("linear", None),
        ("conv2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("leaky_relu", 1),
        ("selu", None),
    ],
)
def test_calculate_gain_matches_torch(name, param):
    torch = torch_or_skip()
    assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape", [(3, 4), (8, 4, 3, 3), (5, 2, 7)])
def test_fans_match_torch(shape):
    torch = torch_or_skip()
    assert init._calculate_fan_in_and_fan_out(
        ember.empty(*shape)
    ) == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(ember.empty(3))


def test_uniform_and_normal():
    mean, std, lo, hi = _stats(init.uniform_(ember.empty(200_000), -2.0, 3.0))
    assert lo >= -2.0 and hi <= 3.0 and abs(mean - 0.5) < 0.02 and abs(std - 5 / math.sqrt(12)) < 0.01
    mean, std, _, _ = _stats(init.normal_(ember.empty(200_000), 1.5, 0.5))
    assert abs(mean - 1.5) < 0.01 and abs(std - 0.5) < 0.01


def test_trunc_normal():
    mean, std, lo, hi = _stats(init.trunc_normal_(ember.empty(200_000), 0.0, 1.0, -1.0, 2.0))
    torch = torch_or_skip()
    ref = torch.nn.init.trunc_normal_(torch.empty(200_000), 0.0, 1.0, -1.0, 2.0).double()
    assert lo >= -1.0 and hi <= 2.0
    assert abs(mean - ref.mean().item()) < 0.01 and abs(std - ref.std().item()) < 0.01
    with pytest.warns(UserWarning, match="more than 2 std"):
        init.trunc_normal_(ember.empty(10), mean=10.0, a=-1.0, b=1.0)


@pytest.mark.parametrize(
    "fn,shape,expected_std",
    [
        (init.xavier_uniform_, (400, 600), math.sqrt(2 / 1000)),
        (init.xavier_normal_, (400, 600), math.sqrt(2 / 1000)),
        (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), (300, 500), math.sqrt(2 / 500)),
        (
            lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"),
            (300, 500),
            math.sqrt(2 / 300),
        ),
        (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), (64, 16, 3, 3), math.sqrt(2 / 6) / 12),
    ],
)
def test_scaled_inits_std(fn, shape, expected_std):
    mean, std, lo, hi = _stats(fn(ember.empty(*shape)))
    assert abs(mean) < 0.05 * expected_std + 1e-3
    assert abs(std - expected_std) < 0.02 * expected_std
    if fn is init.xavier_uniform_:
        assert max(-lo, hi) <= math.sqrt(3) * expected_std


def test_kaiming_errors_and_zero_element():
    with pytest.raises(ValueError, match="Mode fan_middle not supported"):
        init.kaiming_uniform_(ember.empty(2, 2), mode="fan_middle")
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_normal_(ember.empty(0, 3))


def test_constant_ones_zeros_eye():
    assert init.constant_(ember.empty(3), 0.25).tolist() == [0.25] * 3
    assert init.ones_(ember.empty(2)).tolist() == [1.0, 1.0]
    assert init.zeros_(ember.empty(2)).tolist() == [0.0, 0.0]
    np.testing.assert_array_equal(init.eye_(ember.empty(3, 4)).numpy(), np.eye(3, 4))
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(ember.empty(2, 2, 2))


@pytest.mark.parametrize("shape,groups", [((4, 4, 3), 1), ((6, 3, 3, 3), 2), ((2, 3, 3, 3, 3), 1)])
def test_dirac_matches_torch(shape, groups):
    torch = torch_or_skip()
    expected = torch.nn.init.dirac_(torch.empty(*shape), groups).numpy()
    np.testing.assert_array_equal(init.dirac_(ember.empty(*shape), groups).numpy(), expected)


@pytest.mark.parametrize("shape", [(5, 5), (3, 8), (8, 3), (4, 2, 3)])
def test_orthogonal(shape):
    w = init.orthogonal_(ember.empty(*shape), gain=2.0).numpy().reshape(shape[0], -1)
    if w.shape[0] <= w.shape[1]:
        np.testing.assert_allclose(w @ w.T, 4 * np.eye(w.shape[0]), atol=1e-5)
    else:
        np.testing.assert_allclose(w.T @ w, 4 * np.eye(w.shape[1]), atol=1e-5)


def test_sparse():
    w = init.sparse_(ember.empty(100, 40), sparsity=0.25, std=0.5).numpy()
    assert ((w == 0).sum(axis=0) == 25).all()
    assert abs(w[w != 0].std() - 0.5) < 0.05


def test_generator_makes_draws_reproducible():
    draws = []
    for _ in range(2):
        g = ember.Generator().manual_seed(7)
        draws.append(init.kaiming_uniform_(ember.empty(4, 5), generator=g).numpy().copy())
        draws.append(init.trunc_normal_(ember.empty(100), generator=g).numpy().copy())
        draws.append(init.orthogonal_(ember.empty(3, 3), generator=g).numpy().copy())
    for a, b in zip(draws[:3], draws[3:]):
        np.testing.assert_array_equal(a, b)


def test_init_does_not_record_graph():
    w = ember.nn.Parameter(ember.empty(3, 3))
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.orthogonal_, init.zeros_, init.eye_):
        out = fn(w)
        assert out is w and w.grad_fn is None and w.requires_grad


@pytest.mark.parametrize(
    "name", ["uniform", "normal", "eye", "dirac", "xavier_uniform", "kaiming_normal", "orthogonal"]
)
def test_deprecated_spellings_warn_and_fill(name):
    torch = torch_or_skip()
    shape = (3, 2, 3) if name == "dirac" else (3, 3)
    with pytest.warns(FutureWarning, match=f"nn.init.{name}` is now deprecated"):
        out = getattr(init, name)(ember.empty(*shape))
    assert out.shape == shape
    assert getattr(torch.nn.init, name).__name__ == getattr(init, name).__name__
