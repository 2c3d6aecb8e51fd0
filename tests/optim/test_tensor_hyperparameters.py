"""Hyperparameters given as one-element Tensors (``lr=ember.tensor(0.01)``), as PyTorch allows:
the steps equal those with the same numbers, and schedulers fill the Tensor in place."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip
from tests.optim._cases import ALL, case_id, gradient_sequence, initial_params


def _run(lib, name, kwargs, steps: int = 5):
    params = [lib.tensor(a.copy(), requires_grad=True) for a in initial_params()]
    opt = getattr(lib.optim, name)(params, **kwargs)
    for grads in gradient_sequence(steps):
        for p, g in zip(params, grads):
            p.grad = lib.tensor(g)
        opt.step()
    return [p.detach().numpy().copy() for p in params], opt


def _as_tensors(lib, kwargs):
    out = dict(kwargs)
    if "lr" in out:
        out["lr"] = lib.tensor(out["lr"])
    if "betas" in out:
        out["betas"] = tuple(lib.tensor(b) for b in out["betas"])
    return out


WITH_LR = [c for c in ALL if "lr" in c[1]]


@pytest.mark.parametrize(("name", "kwargs"), WITH_LR, ids=[case_id(c) for c in WITH_LR])
def test_tensor_lr_steps_like_the_number(name, kwargs):
    expected, _ = _run(ember, name, kwargs)
    got, opt = _run(ember, name, _as_tensors(ember, kwargs))
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-7)
    assert isinstance(opt.param_groups[0]["lr"], ember.Tensor)  # the group keeps the Tensor


def test_tensor_lr_matches_pytorch():
    torch = torch_or_skip()
    kwargs = {"lr": 0.01, "betas": (0.8, 0.95)}
    got, _ = _run(ember, "Adam", _as_tensors(ember, kwargs))
    expected, _ = _run(torch, "Adam", _as_tensors(torch, kwargs))
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def test_changing_the_tensor_in_place_changes_the_step():
    p = ember.zeros(2, requires_grad=True)
    lr = ember.tensor(0.5)
    opt = ember.optim.SGD([p], lr=lr)
    p.grad = ember.ones(2)
    opt.step()
    lr.fill_(0.25)
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), [-0.75, -0.75])


def test_schedulers_fill_a_tensor_lr_in_place():
    lr = ember.tensor(0.1)
    opt = ember.optim.SGD([ember.zeros(1, requires_grad=True)], lr=lr)
    schedulers = [ember.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)]
    for _ in range(2):
        opt.step()
        for s in schedulers:
            s.step()
    assert opt.param_groups[0]["lr"] is lr
    assert lr.item() == pytest.approx(0.025)
    plateau = ember.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    for loss in (1.0, 1.0):
        plateau.step(loss)
    assert opt.param_groups[0]["lr"] is lr and lr.item() == pytest.approx(0.0125)


def test_a_many_element_tensor_hyperparameter_is_refused():
    with pytest.raises(ValueError, match="1-element"):
        ember.optim.SGD([ember.zeros(1, requires_grad=True)], lr=ember.ones(2))
