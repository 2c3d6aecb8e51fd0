"""CosineSimilarity, PairwiseDistance and pdist against PyTorch and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd.numerical import gradcheck, gradgradcheck
from ember.nn import functional as F
from tests.helpers import torch_or_skip

SHAPES = [((4, 5), (4, 5), 1), ((4, 5), (1, 5), 1), ((3, 4, 5), (4, 5), -1), ((2, 3), (2, 3), 0)]


def _both(torch, *arrays):
    return [ember.tensor(a, requires_grad=True) for a in arrays], [
        torch.tensor(a, requires_grad=True) for a in arrays
    ]


@pytest.mark.parametrize("s1,s2,dim", SHAPES)
def test_cosine_similarity_matches_torch(s1, s2, dim):
    torch = torch_or_skip()
    a, b = np.random.randn(*s1).astype(np.float32), np.random.randn(*s2).astype(np.float32)
    (ea, eb), (ta, tb) = _both(torch, a, b)
    e_out, t_out = nn.CosineSimilarity(dim)(ea, eb), torch.nn.CosineSimilarity(dim)(ta, tb)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    e_out.sum().backward()
    t_out.sum().backward()
    np.testing.assert_allclose(ea.grad.numpy(), ta.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(eb.grad.numpy(), tb.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_cosine_similarity_eps_clamps_each_norm_like_torch():
    torch = torch_or_skip()
    a = np.array([[1e-9, 0.0], [3.0, 4.0]], dtype=np.float32)
    b = np.array([[1.0, 0.0], [1e-10, 0.0]], dtype=np.float32)
    (ea, eb), (ta, tb) = _both(torch, a, b)
    e_out, t_out = (
        F.cosine_similarity(ea, eb, eps=1e-3),
        torch.nn.functional.cosine_similarity(ta, tb, eps=1e-3),
    )
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5)
    e_out.sum().backward()
    t_out.sum().backward()
    np.testing.assert_allclose(ea.grad.numpy(), ta.grad.numpy(), rtol=1e-4)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance_matches_torch(p, keepdim):
    torch = torch_or_skip()
    a, b = np.random.randn(6, 4).astype(np.float32), np.random.randn(6, 4).astype(np.float32)
    (ea, eb), (ta, tb) = _both(torch, a, b)
    e_out = nn.PairwiseDistance(p, keepdim=keepdim)(ea, eb)
    t_out = torch.nn.PairwiseDistance(p, keepdim=keepdim)(ta, tb)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5)
    e_out.sum().backward()
    t_out.sum().backward()
    np.testing.assert_allclose(ea.grad.numpy(), ta.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_pdist_matches_torch():
    torch = torch_or_skip()
    a = np.random.randn(5, 3).astype(np.float32)
    np.testing.assert_allclose(
        F.pdist(ember.tensor(a), 1.5).numpy(),
        torch.nn.functional.pdist(torch.tensor(a), 1.5).numpy(),
        rtol=1e-5,
    )


def test_gradcheck_float64():
    a = ember.randn(3, 4, dtype=ember.float64, requires_grad=True)
    b = ember.randn(3, 4, dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda x, y: F.cosine_similarity(x, y, dim=1), (a, b))
    assert gradgradcheck(lambda x, y: F.cosine_similarity(x, y, dim=0), (a, b))
    assert gradcheck(lambda x, y: F.pairwise_distance(x, y, p=3.0), (a, b))
    assert gradgradcheck(lambda x, y: F.pairwise_distance(x, y), (a, b))
    assert gradcheck(F.pdist, (a,))


def test_errors():
    with pytest.raises(RuntimeError, match=r"cosine_similarity.*\[2, 3\].*\[4\]"):
        F.cosine_similarity(ember.ones(2, 3), ember.ones(4))
    with pytest.raises(RuntimeError, match="pdist only supports 2D"):
        F.pdist(ember.ones(3))
