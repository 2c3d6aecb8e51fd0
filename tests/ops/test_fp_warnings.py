"""Values outside an op's domain give inf or nan silently, as in PyTorch: no NumPy warnings."""

import warnings

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip

EDGES = [0.0, -1.0, 1.0, 2.0, 1000.0]
UNARY = {
    "log": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "log1p": np.log1p,
    "sqrt": np.sqrt,
    "exp": np.exp,
    "exp2": np.exp2,
    "expm1": np.expm1,
    "acos": np.arccos,
    "asin": np.arcsin,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
    "cosh": np.cosh,
    "sinh": np.sinh,
}
OPS = {
    **{name: (lambda t, name=name: getattr(t, name)()) for name in UNARY},
    "div": lambda t: t / 0,
    "div_tensor": lambda t: t / (t * 0),
    "rdiv": lambda t: 1 / t,
    "pow_scalar": lambda t: t**-1,
    "pow_half": lambda t: t**0.5,
    "pow_tensor": lambda t: t ** (t * 0 - 1),
    "rpow": lambda t: 2**t,
}


@pytest.mark.parametrize("name", OPS)
def test_domain_edges_give_no_warnings(name):
    t = ember.tensor(EDGES)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = OPS[name](t)
    with np.errstate(all="ignore"):
        expected = UNARY.get(name, OPS[name])(np.array(EDGES, dtype=np.float32))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("name", ["log", "sqrt", "rdiv", "pow_scalar"])
def test_backward_at_the_domain_edge_gives_no_warnings(name):
    t = ember.tensor(EDGES, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        OPS[name](t).sum().backward()
    assert t.grad.shape == (len(EDGES),)


@pytest.mark.parametrize("name", OPS)
def test_domain_edges_match_pytorch(name):
    torch = torch_or_skip()
    ours = OPS[name](ember.tensor(EDGES)).numpy()
    theirs = OPS[name](torch.tensor(EDGES)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


@pytest.mark.parametrize("log", [False, True])
def test_softmax_of_a_fully_masked_row_is_nan_without_warnings(log):
    x = ember.tensor([[float("-inf")] * 3, [0.0, 1.0, float("-inf")]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = x.log_softmax(-1) if log else x.softmax(-1)
    assert np.isnan(out[0].numpy()).all()
    expected = np.array([0.0, 1.0]) - np.log(np.exp(0.0) + np.exp(1.0))
    np.testing.assert_allclose(out[1, :2].numpy(), expected if log else np.exp(expected), rtol=1e-6)


def test_narrowing_casts_overflow_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ember.tensor([1e10]).half().tolist() == [float("inf")]
        ember.tensor([float("nan")]).long()  # undefined value, as in PyTorch, but no warning


def test_variance_without_degrees_of_freedom_warns_like_pytorch():
    with pytest.warns(UserWarning, match=r"var\(\): degrees of freedom is <= 0"):
        assert np.isnan(ember.ones(1).var().item())
    with pytest.warns(UserWarning, match=r"std\(\): degrees of freedom is <= 0"):
        x = ember.ones(1, requires_grad=True)
        x.std().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ember.tensor([1.0, 3.0]).var().item() == 2.0
