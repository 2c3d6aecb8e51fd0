"""AdaptiveLogSoftmaxWithLoss and LinearCrossEntropyLoss / linear_cross_entropy against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd.numerical import gradcheck
from ember.nn import functional as F
from tests.helpers import torch_or_skip


def _copy_into(torch, t_module, e_module):
    t_module.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e_module.state_dict().items()})


def test_adaptive_log_softmax_matches_torch():
    torch = torch_or_skip()
    e = nn.AdaptiveLogSoftmaxWithLoss(8, 20, [5, 12], div_value=2.0, head_bias=True, dtype=ember.float64)
    t = torch.nn.AdaptiveLogSoftmaxWithLoss(
        8, 20, [5, 12], div_value=2.0, head_bias=True, dtype=torch.float64
    )
    assert sorted(e.state_dict()) == sorted(t.state_dict())
    _copy_into(torch, t, e)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 8)), np.array([0, 4, 5, 11, 12, 19])
    e_out, t_out = e(ember.tensor(x), ember.tensor(y)), t(torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(e_out.output.detach().numpy(), t_out.output.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(e_out.loss.item(), t_out.loss.item(), rtol=1e-12)
    e_out.loss.backward()
    t_out.loss.backward()
    for pe, pt in zip(e.parameters(), t.parameters()):
        np.testing.assert_allclose(pe.grad.numpy(), pt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(
        e.log_prob(ember.tensor(x)).detach().numpy(), t.log_prob(torch.tensor(x)).detach().numpy(), atol=1e-12
    )
    np.testing.assert_array_equal(e.predict(ember.tensor(x)).numpy(), t.predict(torch.tensor(x)).numpy())


def test_adaptive_log_softmax_errors():
    with pytest.raises(ValueError, match="cutoffs"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [5, 3])
    asm = nn.AdaptiveLogSoftmaxWithLoss(4, 10, [5])
    with pytest.raises(RuntimeError, match="target"):
        asm(ember.randn(2, 4), ember.tensor([0, 10]))
    assert asm(ember.randn(4), ember.tensor(7)).output.shape == ()


@pytest.mark.parametrize(
    "x_shape,w_shape,t_shape",
    [((5, 3), (4, 3), (5,)), ((5, 3), (4, 2, 3), (5, 2)), ((3,), (4, 3), ())],
    ids=str,
)
@pytest.mark.parametrize(
    "kw",
    [{}, {"label_smoothing": 0.1, "reduction": "sum"}, {"ignore_index": 1, "reduction": "none"}],
    ids=str,
)
def test_linear_cross_entropy_matches_torch(x_shape, w_shape, t_shape, kw):
    torch = torch_or_skip()
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b, target = rng.standard_normal(w_shape[:-1]), rng.integers(0, 4, t_shape)
    ex, ew, eb = (ember.tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    e_out = F.linear_cross_entropy(ex, ew, ember.tensor(target), linear_bias=eb, **kw)
    t_out = torch.nn.functional.linear_cross_entropy(tx, tw, torch.tensor(target), linear_bias=tb, **kw)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), atol=1e-12)
    e_out.sum().backward()
    t_out.sum().backward()
    for e, t in ((ex, tx), (ew, tw), (eb, tb)):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), atol=1e-12)


def test_linear_cross_entropy_loss_module_matches_torch():
    torch = torch_or_skip()
    e = nn.LinearCrossEntropyLoss(
        3, 4, out_features=(2,), bias=True, dtype=ember.float64, options=nn.LinearCrossEntropyOptions()
    )
    t = torch.nn.LinearCrossEntropyLoss(3, 4, out_features=(2,), bias=True, dtype=torch.float64)
    assert repr(e).replace(
        "LinearCrossEntropyOptions(allow_retain_graph=False, batch_chunk_size"
        "=None, chunking_method='auto', acc_policy='auto', acc_dtype=None)",
        "None",
    ) == repr(t)
    _copy_into(torch, t, e)
    x, y = np.random.default_rng(2).standard_normal((5, 3)), np.array([[0, 1]] * 5)
    np.testing.assert_allclose(
        e(ember.tensor(x), ember.tensor(y)).item(), t(torch.tensor(x), torch.tensor(y)).item(), rtol=1e-12
    )


def test_linear_cross_entropy_gradcheck():
    x = ember.tensor(np.random.default_rng(3).standard_normal((3, 2)), requires_grad=True)
    w = ember.tensor(np.random.default_rng(4).standard_normal((4, 2)), requires_grad=True)
    assert gradcheck(
        lambda x, w: F.linear_cross_entropy(x, w, ember.tensor([0, 3, 1]), label_smoothing=0.2), (x, w)
    )
