"""Embedding, EmbeddingBag and one_hot against PyTorch; padding_idx, max_norm, from_pretrained, errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd.numerical import gradcheck, gradgradcheck
from ember.nn import functional as F
from tests.helpers import torch_or_skip


def _load(e_module, t_module):
    e_module.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t_module.state_dict().items()})


EMBEDDINGS = [
    {},
    {"padding_idx": 2},
    {"padding_idx": -1},
    {"scale_grad_by_freq": True},
    {"padding_idx": 0, "scale_grad_by_freq": True},
    {"max_norm": 1.0},
    {"max_norm": 0.5, "norm_type": 1.0},
]


@pytest.mark.parametrize("kwargs", EMBEDDINGS, ids=str)
def test_embedding_matches_torch(kwargs):
    torch = torch_or_skip()
    t_emb, e_emb = torch.nn.Embedding(7, 4, **kwargs), nn.Embedding(7, 4, **kwargs)
    assert repr(e_emb) == repr(t_emb)
    assert list(e_emb.state_dict()) == ["weight"]
    _load(e_emb, t_emb)
    idx = np.array([[0, 2, 6, 2], [1, 1, 1, 5]])
    t_out, e_out = t_emb(torch.tensor(idx)), e_emb(ember.tensor(idx))
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        e_emb.weight.detach().numpy(), t_emb.weight.detach().numpy(), rtol=1e-5, atol=1e-7
    )
    g = np.random.randn(*t_out.shape).astype(np.float32)
    t_out.backward(torch.tensor(g))
    e_out.backward(ember.tensor(g))
    np.testing.assert_allclose(e_emb.weight.grad.numpy(), t_emb.weight.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_padding_idx_row_starts_at_zero_and_gets_no_gradient():
    emb = nn.Embedding(5, 3, padding_idx=1)
    np.testing.assert_array_equal(emb.weight.detach().numpy()[1], np.zeros(3))
    out = emb(ember.tensor([1, 1, 3]))
    (out * 2).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[1], np.zeros(3))
    np.testing.assert_array_equal(emb.weight.grad.numpy()[3], np.full(3, 2.0))


def test_max_norm_renormalizes_in_place_without_grad():
    emb = nn.Embedding(4, 3, max_norm=1.0)
    with ember.no_grad():
        emb.weight.copy_(ember.tensor([[3.0, 4.0, 0.0], [0.1, 0.0, 0.0], [6.0, 8.0, 0.0], [0.0, 0.0, 9.0]]))
    emb(ember.tensor([0, 1, 0]))
    w = emb.weight.detach().numpy()
    np.testing.assert_allclose(np.linalg.norm(w[0]), 1.0, rtol=1e-5)
    np.testing.assert_allclose(w[1], [0.1, 0.0, 0.0])
    np.testing.assert_allclose(w[2], [6.0, 8.0, 0.0])  # unused rows are left alone
    assert emb.weight.grad_fn is None and emb.weight.is_leaf


def test_from_pretrained():
    weights = ember.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    emb = nn.Embedding.from_pretrained(weights, padding_idx=1)
    assert not emb.weight.requires_grad and emb.padding_idx == 1
    np.testing.assert_array_equal(emb(ember.tensor([1])).numpy(), [[3.0, 4.0]])  # padding row kept
    trainable = nn.Embedding.from_pretrained(weights, freeze=False)
    trainable(ember.tensor([0, 2])).sum().backward()
    np.testing.assert_array_equal(trainable.weight.grad.numpy(), [[1, 1], [0, 0], [1, 1]])
    with pytest.raises(ValueError, match="2-dimensional"):
        nn.Embedding.from_pretrained(ember.ones(3))


def test_embedding_gradcheck():
    # padding_idx and scale_grad_by_freq change the gradient on purpose: checked against torch above
    w = ember.randn(6, 3, dtype=ember.float64, requires_grad=True)
    idx = ember.tensor([[0, 5], [2, 2]])
    assert gradcheck(lambda w: F.embedding(idx, w) ** 2, (w,))
    assert gradgradcheck(lambda w: F.embedding(idx, w) ** 2, (w,))
    assert gradcheck(
        lambda w: F.embedding_bag(ember.tensor([0, 1, 4, 4, 5]), w, ember.tensor([0, 2, 2]), mode="max"), (w,)
    )


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 3])
def test_embedding_bag_matches_torch(mode, padding_idx):
    torch = torch_or_skip()
    t_bag = torch.nn.EmbeddingBag(8, 3, mode=mode, padding_idx=padding_idx)
    e_bag = nn.EmbeddingBag(8, 3, mode=mode, padding_idx=padding_idx)
    assert repr(e_bag) == repr(t_bag)
    _load(e_bag, t_bag)
    for idx, offsets in [
        (np.array([1, 3, 4, 7, 3, 0, 2]), np.array([0, 2, 2, 5])),
        (np.array([[1, 3, 3], [0, 7, 6]]), None),
    ]:
        t_bag.zero_grad()
        e_bag.zero_grad()
        t_off = None if offsets is None else torch.tensor(offsets)
        e_off = None if offsets is None else ember.tensor(offsets)
        t_out, e_out = t_bag(torch.tensor(idx), t_off), e_bag(ember.tensor(idx), e_off)
        np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-7)
        t_out.sum().backward()
        e_out.sum().backward()
        np.testing.assert_allclose(e_bag.weight.grad.numpy(), t_bag.weight.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_embedding_bag_per_sample_weights():
    torch = torch_or_skip()
    w = np.random.randn(5, 2).astype(np.float32)
    idx, off, psw = np.array([0, 4, 4, 1]), np.array([0, 1]), np.random.rand(4).astype(np.float32)
    t = torch.nn.functional.embedding_bag(
        torch.tensor(idx),
        torch.tensor(w),
        torch.tensor(off),
        mode="sum",
        per_sample_weights=torch.tensor(psw),
    )
    e = F.embedding_bag(
        ember.tensor(idx),
        ember.tensor(w),
        ember.tensor(off),
        mode="sum",
        per_sample_weights=ember.tensor(psw),
    )
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)


def test_one_hot():
    torch = torch_or_skip()
    idx = np.array([[0, 3], [2, 1]])
    out = F.one_hot(ember.tensor(idx))
    assert out.dtype == ember.int64
    np.testing.assert_array_equal(out.numpy(), torch.nn.functional.one_hot(torch.tensor(idx)).numpy())
    assert F.one_hot(ember.tensor([1]), 5).shape == (1, 5)
    with pytest.raises(RuntimeError, match="smaller than num_classes.*got 3 with num_classes=3"):
        F.one_hot(ember.tensor([3]), 3)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(ember.tensor([-1]))
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(ember.tensor([1.0]))


def test_errors_name_index_and_range():
    emb = nn.Embedding(10, 3)
    with pytest.raises(IndexError, match=r"index 10 is out of range.*10 rows.*0 to 9"):
        emb(ember.tensor([1, 10]))
    with pytest.raises(IndexError, match=r"index -1 is out of range"):
        emb(ember.tensor([-1]))
    with pytest.raises(RuntimeError, match="integer tensor.*float32"):
        emb(ember.tensor([1.0]))
    with pytest.raises(ValueError, match="padding_idx must be within num_embeddings"):
        nn.Embedding(4, 2, padding_idx=4)
    with pytest.raises(NotImplementedError, match="sparse=True"):
        nn.Embedding(4, 2, sparse=True)
    with pytest.raises(ValueError, match=r"Shape of weight.*\[3, 2\].*\[4, 2\]"):
        nn.Embedding(4, 2, _weight=ember.ones(3, 2))
