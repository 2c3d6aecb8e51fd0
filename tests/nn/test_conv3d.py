"""3-D convolutions (functional and layers) and conv_tbc against PyTorch and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd.numerical import gradcheck, gradgradcheck
from ember.nn import functional as F
from tests.helpers import torch_or_skip

CONV_CASES = [
    ({}, (6, 4, 3, 2, 3)),
    ({"stride": 2, "padding": 1, "groups": 2}, (6, 2, 3, 2, 3)),
    ({"dilation": (1, 2, 1), "padding": "same"}, (4, 4, 2, 2, 3)),
    ({"stride": (1, 2, 3), "padding": (0, 1, 2)}, (3, 4, 1, 3, 2)),
]


def _run(fn, args, grads_of):
    out = fn(*args)
    g = np.random.default_rng(1).standard_normal(tuple(out.shape))
    out.backward(type(args[0])(g) if not isinstance(args[0], ember.Tensor) else ember.tensor(g))
    return out, [a.grad for a in grads_of]


@pytest.mark.parametrize("case,w_shape", CONV_CASES, ids=str)
def test_conv3d_matches_torch(case, w_shape):
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    x, w, b = (
        rng.standard_normal((2, 4, 5, 6, 7)),
        rng.standard_normal(w_shape),
        rng.standard_normal(w_shape[0]),
    )
    ex, ew, eb = (ember.tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    e_out = F.conv3d(ex, ew, eb, **case)
    t_out = torch.nn.functional.conv3d(tx, tw, tb, **case)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(tuple(t_out.shape))
    e_out.backward(ember.tensor(g))
    t_out.backward(torch.tensor(g))
    for e, t in ((ex, tx), (ew, tw), (eb, tb)):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "case",
    [
        {},
        {"stride": 2, "padding": 1, "output_padding": 1},
        {"stride": (1, 2, 2), "groups": 2, "dilation": (2, 1, 1)},
    ],
    ids=str,
)
def test_conv_transpose3d_matches_torch(case):
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    x, w, b = (
        rng.standard_normal((2, 4, 3, 4, 3)),
        rng.standard_normal((4, 3, 3, 2, 3)),
        rng.standard_normal(3 * case.get("groups", 1)),
    )
    ex, ew, eb = (ember.tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    e_out = F.conv_transpose3d(ex, ew, eb, **case)
    t_out = torch.nn.functional.conv_transpose3d(tx, tw, tb, **case)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(tuple(t_out.shape))
    e_out.backward(ember.tensor(g))
    t_out.backward(torch.tensor(g))
    for e, t in ((ex, tx), (ew, tw), (eb, tb)):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_conv3d_gradcheck_and_second_order():
    rng = np.random.default_rng(2)
    x = ember.tensor(rng.standard_normal((1, 2, 3, 3, 4)), requires_grad=True)
    w = ember.tensor(rng.standard_normal((2, 2, 2, 2, 2)), requires_grad=True)
    b = ember.tensor(rng.standard_normal(2), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv3d(x, w, b, stride=(1, 2, 1), padding=1), (x, w, b))
    assert gradgradcheck(lambda x, w: F.conv3d(x, w, padding=1), (x, w))
    assert gradcheck(lambda x, w: F.conv_transpose3d(x, w, stride=2), (x, w))


def test_conv3d_unbatched_and_errors():
    x, w = ember.ones(2, 4, 4, 4), ember.ones(3, 2, 3, 3, 3)
    assert F.conv3d(x, w).shape == (3, 2, 2, 2)
    with pytest.raises(RuntimeError, match="conv3d"):
        F.conv3d(ember.ones(1, 3, 4, 4, 4), w)
    with pytest.raises(RuntimeError, match="conv3d"):
        F.conv3d(ember.ones(4, 4), w)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "circular"])
def test_conv3d_layers_match_torch(mode):
    torch = torch_or_skip()
    ember.manual_seed(0)
    e = nn.Conv3d(2, 4, 3, padding=1, padding_mode=mode, dtype=ember.float64)
    t = torch.nn.Conv3d(2, 4, 3, padding=1, padding_mode=mode, dtype=torch.float64)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 5, 3))
    np.testing.assert_allclose(
        e(ember.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-10
    )
    assert repr(e) == repr(t)
    et = nn.ConvTranspose3d(4, 2, 2, stride=2, dtype=ember.float64)
    tt = torch.nn.ConvTranspose3d(4, 2, 2, stride=2, dtype=torch.float64)
    tt.load_state_dict({k: torch.tensor(v.numpy()) for k, v in et.state_dict().items()})
    y = np.random.default_rng(1).standard_normal((1, 4, 2, 3, 2))
    np.testing.assert_allclose(
        et(ember.tensor(y), output_size=[5, 7, 4]).detach().numpy(),
        tt(torch.tensor(y), output_size=[5, 7, 4]).detach().numpy(),
        rtol=1e-10,
        atol=1e-10,
    )


def test_conv_tbc_matches_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((5, 2, 3)), rng.standard_normal((3, 3, 4)), rng.standard_normal(4)
    ex, ew, eb = (ember.tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    e_out, t_out = F.conv_tbc(ex, ew, eb, 1), torch.conv_tbc(tx, tw, tb, 1)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10)
    e_out.sum().backward()
    t_out.sum().backward()
    np.testing.assert_allclose(ew.grad.numpy(), tw.grad.numpy(), rtol=1e-10)
