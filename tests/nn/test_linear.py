"""Linear, Bilinear, Identity, Flatten, Unflatten and F.linear / F.bilinear against PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd.numerical import gradcheck
from ember.nn import functional as F
from tests.helpers import torch_or_skip


def _load_from_torch(e_module, t_module):
    e_module.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t_module.state_dict().items()})


def _compare(e_out, t_out, e_params, t_params, e_inputs, t_inputs):
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    e_out.sum().backward()
    t_out.sum().backward()
    for e, t in zip(list(e_params) + list(e_inputs), list(t_params) + list(t_inputs)):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(shape, bias):
    torch = torch_or_skip()
    t_fc, e_fc = torch.nn.Linear(3, 4, bias=bias), nn.Linear(3, 4, bias=bias)
    _load_from_torch(e_fc, t_fc)
    x = np.random.randn(*shape).astype(np.float32)
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    _compare(e_fc(ex), t_fc(tx), e_fc.parameters(), t_fc.parameters(), [ex], [tx])


@pytest.mark.parametrize("lead", [(5,), (2, 3), ()])
def test_bilinear_matches_torch(lead):
    torch = torch_or_skip()
    t_bl, e_bl = torch.nn.Bilinear(3, 2, 4), nn.Bilinear(3, 2, 4)
    _load_from_torch(e_bl, t_bl)
    x1 = np.random.randn(*lead, 3).astype(np.float32)
    x2 = np.random.randn(*lead, 2).astype(np.float32)
    t1, t2 = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
    e1, e2 = ember.tensor(x1, requires_grad=True), ember.tensor(x2, requires_grad=True)
    _compare(e_bl(e1, e2), t_bl(t1, t2), e_bl.parameters(), t_bl.parameters(), [e1, e2], [t1, t2])


def test_functional_gradcheck():
    x = ember.randn(3, 2, dtype=ember.float64, requires_grad=True)
    y = ember.randn(3, 4, dtype=ember.float64, requires_grad=True)
    w = ember.randn(5, 2, dtype=ember.float64, requires_grad=True)
    w3 = ember.randn(5, 2, 4, dtype=ember.float64, requires_grad=True)
    b = ember.randn(5, dtype=ember.float64, requires_grad=True)
    assert gradcheck(nn.functional.linear, (x, w, b))
    assert gradcheck(nn.functional.bilinear, (x, y, w3, b))


def test_default_init_bounds():
    fc = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w = fc.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert np.abs(fc.bias.detach().numpy()).max() <= bound
    bl = nn.Bilinear(50, 20, 30)
    assert np.abs(bl.weight.detach().numpy()).max() <= 1 / math.sqrt(50)
    before = fc.weight.detach().numpy().copy()
    fc.reset_parameters()
    assert not np.array_equal(before, fc.weight.detach().numpy())


def test_dtype_and_device_arguments():
    fc = nn.Linear(2, 3, dtype=ember.float64, device="cpu")
    assert fc.weight.dtype == ember.float64 and fc.bias.dtype == ember.float64


def test_errors_name_shapes():
    with pytest.raises(RuntimeError, match=r"linear: input of shape \[2, 5\].*\[4, 3\]"):
        nn.Linear(3, 4)(ember.ones(2, 5))
    with pytest.raises(RuntimeError, match=r"bilinear: inputs of shapes \[2, 3\] and \[2, 5\]"):
        nn.Bilinear(3, 2, 4)(ember.ones(2, 3), ember.ones(2, 5))


def test_identity_flatten_unflatten():
    torch = torch_or_skip()
    x = np.random.randn(2, 3, 4, 5).astype(np.float32)
    ex = ember.tensor(x)
    assert nn.Identity(3, foo=1)(ex) is ex
    for args in [(), (0, -1), (1, 2), (2, 3)]:
        np.testing.assert_array_equal(
            nn.Flatten(*args)(ex).numpy(), torch.nn.Flatten(*args)(torch.tensor(x)).numpy()
        )
    for dim, size in [(1, (3, 1)), (-1, (5, 1)), (2, (2, -1))]:
        expected = torch.nn.Unflatten(dim, size)(torch.tensor(x)).shape
        assert tuple(nn.Unflatten(dim, size)(ex).shape) == tuple(expected)
    with pytest.raises(TypeError, match="tuple of ints"):
        nn.Unflatten(1, (2, 1.5))
    with pytest.raises(RuntimeError, match="Unflatten"):
        nn.Unflatten(1, (2, 2))(ex)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Unflatten(1, (2, 3))) == "Unflatten(dim=1, unflattened_size=(2, 3))"
    assert repr(nn.Bilinear(2, 3, 4)) == "Bilinear(in1_features=2, in2_features=3, out_features=4, bias=True)"


@pytest.mark.parametrize("x_shape", [(5,), (4, 5), (2, 3, 5)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_fused_linear_matches_the_composite_to_second_order(x_shape, with_bias):
    from ember.ops.linalg import Linear

    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal(x_shape), requires_grad=True)
    w = ember.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    b = ember.tensor(rng.standard_normal(3), requires_grad=True) if with_bias else None
    fused = Linear.apply(x, w, b)
    composite = x @ w.t() + (b if with_bias else 0.0)
    np.testing.assert_allclose(fused.detach().numpy(), composite.detach().numpy(), rtol=1e-12)
    inputs = (x, w, b) if with_bias else (x, w)
    assert ember.autograd.gradcheck(lambda *t: Linear.apply(t[0], t[1], t[2] if with_bias else None), inputs)
    assert ember.autograd.gradgradcheck(
        lambda *t: Linear.apply(t[0], t[1], t[2] if with_bias else None), inputs
    )


@pytest.mark.parametrize(
    "a_shape,b_shape,offs",
    [
        ((8, 4), (3, 4, 8), [2, 3, 8]),
        ((8, 4), (2, 4, 4), [3, 8]),  # rows past offs[-1] are undefined in PyTorch
        ((3, 4, 4), (3, 4, 8), None),
        ((4, 8), (8, 4), [2, 4, 8]),
        ((3, 4, 4), (4, 8), [4, 4, 8]),
    ],
    ids=str,
)
def test_grouped_mm_matches_torch(a_shape, b_shape, offs):
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(a_shape).astype(np.float32), rng.standard_normal(b_shape).astype(np.float32)
    e_offs = None if offs is None else ember.tensor(offs, dtype=ember.int32)
    t_offs = None if offs is None else torch.tensor(offs, dtype=torch.int32)
    ea, eb = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    e_out = F.grouped_mm(ea, eb, offs=e_offs)
    t_out = torch.nn.functional.grouped_mm(ta, tb, offs=t_offs)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = rng.standard_normal(tuple(t_out.shape)).astype(np.float32)  # torch's kernel needs it dense
    e_out.backward(ember.tensor(g))
    t_out.backward(torch.tensor(g))
    np.testing.assert_allclose(ea.grad.numpy(), ta.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(eb.grad.numpy(), tb.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_grouped_mm_errors():
    with pytest.raises(RuntimeError, match="offs is required"):
        F.grouped_mm(ember.ones(4, 2), ember.ones(2, 2, 3))
    with pytest.raises(RuntimeError, match="increase"):
        F.grouped_mm(ember.ones(4, 2), ember.ones(2, 2, 3), offs=ember.tensor([3, 1]))
