"""Activation layers and functions against PyTorch, finite differences and their own reprs."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd.numerical import gradcheck, gradgradcheck
from ember.nn import functional as F
from tests.helpers import torch_or_skip

# (module name, constructor args, kwargs); the same call builds the ember and the torch layer
LAYERS = [
    ("ReLU", (), {}),
    ("ReLU6", (), {}),
    ("LeakyReLU", (0.2,), {}),
    ("ELU", (0.7,), {}),
    ("CELU", (1.3,), {}),
    ("SELU", (), {}),
    ("GELU", (), {}),
    ("GELU", (), {"approximate": "tanh"}),
    ("SiLU", (), {}),
    ("Mish", (), {}),
    ("Softplus", (), {}),
    ("Softplus", (2.0, 3.0), {}),
    ("Softsign", (), {}),
    ("Sigmoid", (), {}),
    ("LogSigmoid", (), {}),
    ("Hardsigmoid", (), {}),
    ("Hardswish", (), {}),
    ("Hardtanh", (-0.5, 1.5), {}),
    ("Tanh", (), {}),
    ("Tanhshrink", (), {}),
    ("Threshold", (0.3, -2.0), {}),
    ("GLU", (1,), {}),
    ("Softmax", (1,), {}),
    ("LogSoftmax", (-1,), {}),
    ("Softmin", (0,), {}),
    ("Softmax2d", (), {}),
    ("Hardshrink", (0.4,), {}),
    ("Softshrink", (0.4,), {}),
    ("PReLU", (), {}),
    ("PReLU", (4,), {"init": 0.1}),
    ("RReLU", (0.1, 0.3), {}),
]


def _input(shape=(3, 4, 2, 2), scale=3.0, dtype=np.float32):
    x = (np.random.randn(*shape) * scale).astype(dtype)
    x[np.abs(x) < 1e-3] = 0.5  # keep clear of the kinks
    for kink in (-3.0, 3.0, 0.3, -0.5, 1.5, 0.4, -0.4, 6.0):
        x[np.abs(x - kink) < 1e-2] += 0.05
    return x


@pytest.mark.parametrize("name,args,kwargs", LAYERS, ids=[f"{n}{a}{k}" for n, a, k in LAYERS])
def test_layer_matches_torch(name, args, kwargs):
    torch = torch_or_skip()
    t_layer = getattr(torch.nn, name)(*args, **kwargs).eval()
    e_layer = getattr(nn, name)(*args, **kwargs).eval()
    assert repr(e_layer) == repr(t_layer)
    e_layer.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t_layer.state_dict().items()})
    x = _input()
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    t_out, e_out = t_layer(tx), e_layer(ex)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = np.random.randn(*t_out.shape).astype(np.float32)
    t_out.backward(torch.tensor(g))
    e_out.backward(ember.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    for (_, ep), (_, tp) in zip(e_layer.named_parameters(), t_layer.named_parameters()):
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-5)


FUNCS = [
    (F.relu, {}),
    (F.relu6, {}),
    (F.leaky_relu, {"negative_slope": 0.1}),
    (F.elu, {"alpha": 0.5}),
    (F.celu, {"alpha": 2.0}),
    (F.selu, {}),
    (F.gelu, {}),
    (F.gelu, {"approximate": "tanh"}),
    (F.silu, {}),
    (F.mish, {}),
    (F.softplus, {"beta": 1.5, "threshold": 2.0}),
    (F.softsign, {}),
    (F.sigmoid, {}),
    (F.logsigmoid, {}),
    (F.hardsigmoid, {}),
    (F.hardswish, {}),
    (F.hardtanh, {}),
    (F.tanh, {}),
    (F.tanhshrink, {}),
    (F.threshold, {"threshold": 0.3, "value": 1.0}),
    (F.glu, {"dim": 0}),
    (F.softmax, {"dim": 1}),
    (F.log_softmax, {"dim": 0}),
    (F.softmin, {"dim": 1}),
    (F.hardshrink, {}),
    (F.softshrink, {}),
]


@pytest.mark.parametrize("fn,kwargs", FUNCS, ids=[f[0].__name__ + str(f[1]) for f in FUNCS])
def test_gradcheck_float64(fn, kwargs):
    x = ember.tensor(_input((4, 3), scale=2.0, dtype=np.float64), requires_grad=True)
    assert gradcheck(lambda t: fn(t, **kwargs), (x,))
    if fn not in (F.relu, F.relu6, F.hardtanh, F.threshold, F.hardshrink):
        assert gradgradcheck(lambda t: fn(t, **kwargs), (x,))


def test_prelu_and_rrelu_gradcheck():
    x = ember.tensor(_input((2, 3, 4), dtype=np.float64), requires_grad=True)
    w = ember.tensor([0.1, 0.2, 0.3], dtype=ember.float64, requires_grad=True)
    assert gradcheck(F.prelu, (x, w))
    assert gradcheck(lambda t: F.rrelu(t, 0.2, 0.2, training=True), (x,))


def test_inplace_twins_match_out_of_place():
    x = _input((5, 6))
    for fn, kwargs in [
        (F.relu, {}),
        (F.elu, {}),
        (F.leaky_relu, {}),
        (F.hardtanh, {}),
        (F.selu, {}),
        (F.silu, {}),
        (F.hardswish, {}),
        (F.threshold, {"threshold": 0.1, "value": 2.0}),
    ]:
        t = ember.tensor(x)
        out = fn(t, inplace=True, **kwargs)
        assert out is t
        np.testing.assert_allclose(t.numpy(), fn(ember.tensor(x), **kwargs).numpy())


def test_inplace_in_graph_backprops_like_out_of_place():
    torch = torch_or_skip()
    x = _input((4, 5))
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    e_mid, t_mid = ex * 2, tx * 2
    nn.ELU(inplace=True)(e_mid).sum().backward()
    torch.nn.ELU(inplace=True)(t_mid).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-7)
    leaf = ember.tensor(x, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        F.relu(leaf, inplace=True)


def test_rrelu_training_draws_slopes_in_range_and_reproduces():
    x = -ember.ones(1000)
    ember.manual_seed(3)
    a = F.rrelu(x, 0.1, 0.3, training=True)
    ember.manual_seed(3)
    b = F.rrelu(x, 0.1, 0.3, training=True)
    assert np.array_equal(a.numpy(), b.numpy())
    slopes = -a.numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and abs(slopes.mean() - 0.2) < 0.01
    m = nn.RReLU(0.1, 0.3).eval()
    np.testing.assert_allclose(m(x).numpy(), -0.2 * np.ones(1000), rtol=1e-6)


def test_numerical_stability():
    big = ember.tensor([-1e4, -100.0, 0.0, 100.0, 1e4], requires_grad=True)
    for fn in (F.logsigmoid, F.softplus, F.sigmoid, F.silu, F.mish, F.elu, F.selu, F.gelu):
        out = fn(big)
        out.sum().backward()
        assert np.isfinite(out.detach().numpy()).all(), fn.__name__
        assert np.isfinite(big.grad.numpy()).all(), fn.__name__
        big.grad = None
    np.testing.assert_allclose(F.logsigmoid(big).detach().numpy()[:2], [-1e4, -100.0])


def test_softmax_implicit_dim_warns_like_torch():
    x = ember.randn(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = F.softmax(x)
    np.testing.assert_allclose(out.sum(1).numpy(), [1.0, 1.0], rtol=1e-6)


def test_errors_name_the_problem():
    with pytest.raises(RuntimeError, match=r"glu.*dimension 1 is size 3"):
        F.glu(ember.randn(2, 3), 1)
    with pytest.raises(RuntimeError, match=r"prelu.*\[2, 3\].*3"):
        F.prelu(ember.randn(2, 3), ember.ones(2))
    with pytest.raises(RuntimeError, match="approximate"):
        F.gelu(ember.randn(2), approximate="fast")
    with pytest.raises(ValueError, match="Softmax2d"):
        nn.Softmax2d()(ember.randn(3))


def test_gumbel_softmax_samples_and_straight_through_gradient():
    ember.manual_seed(0)
    logits = ember.tensor(np.log([[0.7, 0.2, 0.1]] * 4000), requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.sum(-1).detach().numpy(), 1.0, rtol=1e-12)
    hard = F.gumbel_softmax(logits, tau=1.0, hard=True)
    assert set(np.unique(hard.detach().numpy())) == {0.0, 1.0}
    freq = hard.detach().numpy().mean(0)  # Gumbel-max samples the categorical exactly
    np.testing.assert_allclose(freq, [0.7, 0.2, 0.1], atol=0.03)
    (hard * ember.tensor([1.0, 2.0, 3.0], dtype=ember.float64)).sum().backward()
    assert logits.grad is not None and np.abs(logits.grad.numpy()).sum() > 0
    with pytest.warns(UserWarning, match="eps"):
        F.gumbel_softmax(logits, eps=1e-3)


def test_hardtanh_deprecated_min_value_max_value():
    with pytest.warns(FutureWarning, match="min_value"):
        layer = nn.Hardtanh(min_value=-2.0, max_value=3.0)
    assert (layer.min_val, layer.max_val) == (-2.0, 3.0)
