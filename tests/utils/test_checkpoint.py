"""``ember.utils.checkpoint``: the same gradients as running the function directly."""

import warnings

import numpy as np
import pytest

import ember
from ember.utils.checkpoint import checkpoint, checkpoint_sequential
from tests.helpers import torch_or_skip


class Block(ember.nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = ember.nn.Linear(4, 8)
        self.drop = ember.nn.Dropout(0.5)
        self.outer = ember.nn.Linear(8, 4)

    def forward(self, x, scale=1.0):
        return self.outer(self.drop(ember.relu(self.inner(x)))) * scale


def _gradients(block, x, run):
    block.zero_grad()
    x = x.detach().requires_grad_(x.requires_grad)
    ember.manual_seed(5)
    (run(block, x) ** 2).sum().backward()
    grads = [p.grad.numpy().copy() for p in block.parameters()]
    return grads + ([x.grad.numpy().copy()] if x.requires_grad else [])


@pytest.mark.parametrize("reentrant", [True, False])
def test_checkpoint_gives_the_plain_gradients_with_dropout(reentrant):
    ember.manual_seed(0)
    block = Block()
    x = ember.randn(3, 4, requires_grad=True)
    plain = _gradients(block, x, lambda b, v: b(v, 2.0))
    kwargs = {} if reentrant else {"scale": 2.0}
    args = (2.0,) if reentrant else ()
    checked = _gradients(block, x, lambda b, v: checkpoint(b, v, *args, use_reentrant=reentrant, **kwargs))
    for ours, expected in zip(checked, plain):
        np.testing.assert_allclose(ours, expected, rtol=1e-6)


def test_non_reentrant_reaches_parameters_when_no_input_requires_grad():
    ember.manual_seed(0)
    block = Block()
    x = ember.randn(3, 4)
    plain = _gradients(block, x, lambda b, v: b(v))
    checked = _gradients(block, x, lambda b, v: checkpoint(b, v, use_reentrant=False))
    for ours, expected in zip(checked, plain):
        np.testing.assert_allclose(ours, expected, rtol=1e-6)


def test_reentrant_without_grad_inputs_warns_and_gives_no_graph():
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        out = checkpoint(ember.nn.Linear(2, 2), ember.ones(1, 2), use_reentrant=True)
    assert not out.requires_grad


def test_missing_use_reentrant_warns_like_pytorch():
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        checkpoint(lambda a: a * 2, ember.ones(1, requires_grad=True))


def test_non_tensor_outputs_and_no_grad():
    out = checkpoint(lambda a: (a * 2, 3), ember.ones(1, requires_grad=True), use_reentrant=False)
    assert out[1] == 3 and out[0].requires_grad
    with ember.no_grad():
        assert not checkpoint(
            lambda a: a * 2, ember.ones(1, requires_grad=True), use_reentrant=False
        ).requires_grad


def test_checkpoint_sequential_matches_the_plain_run():
    ember.manual_seed(0)
    seq = ember.nn.Sequential(
        ember.nn.Linear(4, 4), ember.nn.Tanh(), ember.nn.Linear(4, 4), ember.nn.Tanh(), ember.nn.Linear(4, 2)
    )
    x = ember.randn(2, 4, requires_grad=True)
    checkpoint_sequential(seq, 2, x, use_reentrant=False).sum().backward()
    checked = x.grad.numpy().copy()
    x.grad = None
    seq(x).sum().backward()
    np.testing.assert_allclose(checked, x.grad.numpy(), rtol=1e-6)


def test_checkpoint_gradients_match_pytorch():
    torch = torch_or_skip()
    from torch.utils.checkpoint import checkpoint as torch_checkpoint

    weights = np.random.default_rng(0).normal(size=(4, 4)).astype(np.float32)
    data = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)

    def run(lib, ckpt):
        w = lib.tensor(weights, requires_grad=True)
        x = lib.tensor(data, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = ckpt(lambda a: lib.tanh(a @ w).exp(), x, use_reentrant=False)
        out.sum().backward()
        return w.grad.numpy(), x.grad.numpy()

    for ours, theirs in zip(run(ember, checkpoint), run(torch, torch_checkpoint)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5)
