"""Tiny end-to-end uses: a VAE step (rsample + KL) and a REINFORCE policy gradient."""

from __future__ import annotations

import ember
import ember.distributions as D
from ember import nn, optim


def test_vae_loss_decreases():
    ember.manual_seed(0)
    prototypes = ember.tensor([[1.0, 1, 1, 1, 0, 0, 0, 0], [0.0, 0, 0, 0, 1, 1, 1, 1]])
    data = prototypes[ember.randint(0, 2, (64,))]
    enc, dec = nn.Linear(8, 4), nn.Linear(2, 8)
    opt = optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=0.03)
    prior = D.Normal(ember.zeros(2), ember.ones(2))
    losses = []
    for _ in range(60):
        h = enc(data)
        q = D.Normal(h[:, :2], nn.functional.softplus(h[:, 2:]) + 1e-3)
        z = q.rsample()
        recon = D.Bernoulli(logits=dec(z)).log_prob(data).sum(-1)
        kl = D.kl_divergence(q, prior).sum(-1)
        loss = (kl - recon).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) / 10 < 0.85 * sum(losses[:10]) / 10
    assert enc.weight.grad is not None


def test_reinforce_learns_the_best_arm():
    ember.manual_seed(0)
    rewards = ember.tensor([0.0, 1.0, 0.2])
    logits = ember.zeros(3, requires_grad=True)
    opt = optim.SGD([logits], lr=0.5)
    for _ in range(100):
        policy = D.Categorical(logits=logits)
        actions = policy.sample((16,))
        reward = rewards[actions]
        loss = -(policy.log_prob(actions) * (reward - reward.mean())).mean() - 0.01 * policy.entropy()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert D.Categorical(logits=logits).probs.argmax().item() == 1
    assert D.Categorical(logits=logits).probs[1].item() > 0.8


def test_sac_style_tanh_gaussian_policy_gradient():
    ember.manual_seed(0)
    mu = ember.zeros(2, requires_grad=True)
    log_std = ember.zeros(2, requires_grad=True)
    dist = D.TransformedDistribution(D.Normal(mu, log_std.exp()), [D.transforms.TanhTransform(cache_size=1)])
    action = dist.rsample((32,))
    loss = (dist.log_prob(action).sum(-1) - action.sum(-1)).mean()
    loss.backward()
    assert mu.grad is not None and bool(ember.isfinite(mu.grad).all())
    assert log_std.grad is not None and bool(ember.isfinite(log_std.grad).all())
