"""SparseAdam (on the entries a dense gradient touches) and Muon against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip


def _run(ember_cls, torch_cls, shapes, kwargs, steps=6, sparse_rows=False):
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s) for s in shapes]
    ep = [ember.tensor(a, requires_grad=True) for a in init]
    tp = [torch.tensor(a, requires_grad=True) for a in init]
    e_opt, t_opt = ember_cls(ep, **kwargs), torch_cls(tp, **kwargs)
    for _ in range(steps):
        grads = [rng.standard_normal(s) for s in shapes]
        if sparse_rows:  # the rows an embedding did not look up get no gradient
            for g in grads:
                g[rng.random(g.shape[0]) < 0.5] = 0.0
        for p, g in zip(ep, grads):
            p.grad = ember.tensor(g)
        for p, g in zip(tp, grads):
            p.grad = torch.tensor(g).to_sparse() if sparse_rows else torch.tensor(g)
        e_opt.step()
        t_opt.step()
    return ep, tp, e_opt


@pytest.mark.parametrize(
    "kwargs",
    [{"lr": 0.05}, {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-4}, {"lr": 0.05, "maximize": True}],
    ids=str,
)
def test_sparse_adam_matches_torch_sparse_gradients(kwargs):
    ep, tp, opt = _run(
        ember.optim.SparseAdam, torch_or_skip().optim.SparseAdam, [(6, 3), (4, 2)], kwargs, sparse_rows=True
    )
    for e, t in zip(ep, tp):
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert sorted(opt.state_dict()["state"][0]) == ["exp_avg", "exp_avg_sq", "step"]


def test_sparse_adam_trains_an_embedding_and_leaves_untouched_rows():
    emb = ember.nn.Embedding(10, 3)
    before = emb.weight.detach().numpy().copy()
    opt = ember.optim.SparseAdam(emb.parameters(), lr=0.1)
    emb(ember.tensor([1, 4])).sum().backward()
    opt.step()
    after = emb.weight.detach().numpy()
    changed = np.flatnonzero(np.abs(after - before).sum(1) > 0)
    assert changed.tolist() == [1, 4]
    with pytest.raises(ValueError, match="learning rate"):
        ember.optim.SparseAdam(emb.parameters(), lr=-1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": 0.05},
        {"lr": 0.05, "nesterov": False, "adjust_lr_fn": "match_rms_adamw"},
        {"lr": 0.02, "weight_decay": 0.0, "momentum": 0.5},
    ],
    ids=str,
)
def test_muon_matches_torch_within_bfloat16(kwargs):
    """PyTorch orthogonalises in bfloat16, ember in the parameter's dtype: ~1e-2 apart."""
    ep, tp, _ = _run(ember.optim.Muon, torch_or_skip().optim.Muon, [(4, 3), (2, 5)], kwargs)
    for e, t in zip(ep, tp):
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), atol=1e-2)


def test_muon_orthogonalises_and_validates():
    from ember.optim.muon import zeropower_via_newtonschulz

    g = np.random.default_rng(1).standard_normal((6, 4))
    u = zeropower_via_newtonschulz(np, g, (3.4445, -4.775, 2.0315), 5, 1e-7)
    singular = np.linalg.svd(u, compute_uv=False)
    assert singular.min() > 0.5 and singular.max() < 1.5
    with pytest.raises(ValueError, match="2D"):
        ember.optim.Muon([ember.zeros(3, requires_grad=True)])
    with pytest.raises(ValueError, match="not supported"):
        ember.optim.Muon([ember.zeros(2, 2, requires_grad=True)], adjust_lr_fn="other")


def test_adafactor_validates_like_torch():
    p = [ember.zeros(2, 2, requires_grad=True)]
    with pytest.raises(ValueError, match="beta2_decay"):
        ember.optim.Adafactor(p, beta2_decay=0.5)
    with pytest.raises(ValueError, match="Clipping threshold"):
        ember.optim.Adafactor(p, d=0.5)
    with pytest.raises(ValueError, match="epsilon2"):
        ember.optim.Adafactor(p, eps=(None, -1.0))
