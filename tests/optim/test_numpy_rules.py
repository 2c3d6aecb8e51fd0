"""Optimizers against plain NumPy transcriptions of their documented rules (no torch needed).

Run in float64 so that the comparison tests the rule, not the rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.optim._cases import gradient_sequence, initial_params


def sgd_rule(
    params, grads_seq, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False
):
    params = [p.copy() for p in params]
    bufs = [None] * len(params)
    out = []
    for grads in grads_seq:
        for i, (p, g) in enumerate(zip(params, grads)):
            g = -g if maximize else g.copy()
            g = g + weight_decay * p
            if momentum:
                bufs[i] = g.copy() if bufs[i] is None else momentum * bufs[i] + (1 - dampening) * g
                g = g + momentum * bufs[i] if nesterov else bufs[i]
            params[i] = p - lr * g
        out.append([p.copy() for p in params])
    return out


def adam_rule(
    params,
    grads_seq,
    lr,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    amsgrad=False,
    maximize=False,
    decoupled=False,
):
    b1, b2 = betas
    params = [p.copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    vmax = [np.zeros_like(p) for p in params]
    out = []
    for t, grads in enumerate(grads_seq, start=1):
        for i, (p, g) in enumerate(zip(params, grads)):
            g = -g if maximize else g
            if decoupled:
                p = p * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * p
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            vmax[i] = np.maximum(vmax[i], v[i])
            vhat = vmax[i] if amsgrad else v[i]
            denom = np.sqrt(vhat) / np.sqrt(1 - b2**t) + eps
            params[i] = p - lr / (1 - b1**t) * m[i] / denom
        out.append([p.copy() for p in params])
    return out


def rmsprop_rule(
    params,
    grads_seq,
    lr,
    alpha=0.99,
    eps=1e-8,
    weight_decay=0.0,
    momentum=0.0,
    centered=False,
    maximize=False,
):
    params = [p.copy() for p in params]
    sq = [np.zeros_like(p) for p in params]
    ga = [np.zeros_like(p) for p in params]
    buf = [np.zeros_like(p) for p in params]
    out = []
    for grads in grads_seq:
        for i, (p, g) in enumerate(zip(params, grads)):
            g = -g if maximize else g
            g = g + weight_decay * p
            sq[i] = alpha * sq[i] + (1 - alpha) * g * g
            var = sq[i]
            if centered:
                ga[i] = alpha * ga[i] + (1 - alpha) * g
                var = var - ga[i] ** 2
            step = g / (np.sqrt(var) + eps)
            if momentum > 0:
                buf[i] = momentum * buf[i] + step
                step = buf[i]
            params[i] = p - lr * step
        out.append([p.copy() for p in params])
    return out


CASES = [
    ("SGD", sgd_rule, {"lr": 0.1}),
    ("SGD", sgd_rule, {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", sgd_rule, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", sgd_rule, {"lr": 0.1, "momentum": 0.5, "maximize": True}),
    ("Adam", adam_rule, {"lr": 0.01}),
    ("Adam", adam_rule, {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    ("Adam", adam_rule, {"lr": 0.01, "betas": (0.5, 0.9), "maximize": True}),
    ("AdamW", adam_rule, {"lr": 0.01, "weight_decay": 0.2}),
    ("AdamW", adam_rule, {"lr": 0.01, "weight_decay": 0.2, "amsgrad": True}),
    ("RMSprop", rmsprop_rule, {"lr": 0.01}),
    ("RMSprop", rmsprop_rule, {"lr": 0.01, "centered": True, "momentum": 0.9, "weight_decay": 0.1}),
    ("RMSprop", rmsprop_rule, {"lr": 0.01, "alpha": 0.5, "maximize": True}),
]


@pytest.mark.parametrize("foreach", [None, False], ids=["flat", "per_param"])
@pytest.mark.parametrize("name,rule,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(CASES)])
def test_matches_numpy_rule(name, rule, kwargs, foreach):
    init = initial_params(dtype=np.float64)
    grads = gradient_sequence(dtype=np.float64)
    rule_kwargs = dict(kwargs)
    if name == "AdamW":
        rule_kwargs["decoupled"] = True
    expected = rule(init, grads, **rule_kwargs)
    params = [ember.tensor(a, requires_grad=True) for a in init]
    opt = getattr(ember.optim, name)(params, foreach=foreach, **kwargs)
    for step, (g, want) in enumerate(zip(grads, expected)):
        for p, a in zip(params, g):
            p.grad = ember.tensor(a)
        opt.step()
        for p, w in zip(params, want):
            np.testing.assert_allclose(
                p.detach().numpy(), w, rtol=1e-10, atol=1e-12, err_msg=f"{name} step {step}"
            )
