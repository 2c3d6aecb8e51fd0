"""Each optimizer, in each of its modes, follows PyTorch's parameter trajectory."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip
from tests.optim._cases import ALL, case_id, gradient_sequence, initial_params

RTOL, ATOL = 1e-5, 1e-6


def _ember_run(name, kwargs, init, grads, foreach=None):
    params = [ember.tensor(a, requires_grad=True) for a in init]
    opt = getattr(ember.optim, name)(params, foreach=foreach, **kwargs)
    trajectory = []
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = ember.tensor(g)
        opt.step()
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory, opt


@pytest.mark.parametrize("foreach", [None, False], ids=["flat", "per_param"])
@pytest.mark.parametrize("case", ALL, ids=case_id)
def test_trajectory_matches_torch(case, foreach):
    torch = torch_or_skip()
    name, kwargs = case
    init, grads = initial_params(), gradient_sequence()
    ours, _ = _ember_run(name, kwargs, init, grads, foreach)
    params = [torch.tensor(a, requires_grad=True) for a in init]
    opt = getattr(torch.optim, name)(params, foreach=False, **kwargs)
    for step, (step_grads, mine) in enumerate(zip(grads, ours)):
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g)
        opt.step()
        for i, (p, m) in enumerate(zip(params, mine)):
            np.testing.assert_allclose(
                m, p.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=f"step {step}, param {i}"
            )


@pytest.mark.parametrize("case", ALL, ids=case_id)
def test_state_dict_layout_matches_torch(case):
    torch = torch_or_skip()
    name, kwargs = case
    init, grads = initial_params(), gradient_sequence(3)
    _, ours = _ember_run(name, kwargs, init, grads)
    params = [torch.tensor(a, requires_grad=True) for a in init]
    theirs = getattr(torch.optim, name)(params, **kwargs)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g)
        theirs.step()
    mine, ref = ours.state_dict(), theirs.state_dict()
    assert sorted(mine["state"]) == sorted(ref["state"])
    assert set(mine["param_groups"][0]) == set(ref["param_groups"][0])
    assert mine["param_groups"][0]["params"] == ref["param_groups"][0]["params"]
    for key, state in ref["state"].items():
        assert set(mine["state"][key]) == set(state)
        for k, v in state.items():
            np.testing.assert_allclose(np.asarray(mine["state"][key][k]), v.numpy(), rtol=RTOL, atol=ATOL)


def _torch_and_ember(name, kwargs, init):
    torch = torch_or_skip()
    tp = [torch.tensor(a, requires_grad=True) for a in init]
    ep = [ember.tensor(a, requires_grad=True) for a in init]
    return (
        torch,
        tp,
        getattr(torch.optim, name)(tp, foreach=False, **kwargs),
        ep,
        getattr(ember.optim, name)(ep, **kwargs),
    )


def _both_step(torch, tp, topt, ep, eopt, grads, skip=()):
    for i, (t, e, g) in enumerate(zip(tp, ep, grads)):
        t.grad = None if i in skip else torch.tensor(g)
        e.grad = None if i in skip else ember.tensor(g)
    topt.step()
    eopt.step()
    for t, e in zip(tp, ep):
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("Adam", {"lr": 0.01}),
        ("SGD", {"lr": 0.1, "momentum": 0.9}),
        ("RMSprop", {"lr": 0.01, "centered": True}),
    ],
)
def test_mid_training_changes_match_torch(name, kwargs):
    """lr/betas written mid-run, params without grads, and a param group added mid-run."""
    init, grads = initial_params(), gradient_sequence(24)
    torch, tp, topt, ep, eopt = _torch_and_ember(name, kwargs, init[:3])
    for step, g in enumerate(grads[:16]):
        if step == 5:
            for opt in (topt, eopt):
                opt.param_groups[0]["lr"] *= 0.5
        skip = (1,) if 8 <= step < 11 else ()
        _both_step(torch, tp, topt, ep, eopt, g[:3], skip)
    extra_t = torch.tensor(init[3], requires_grad=True)
    extra_e = ember.tensor(init[3], requires_grad=True)
    topt.add_param_group({"params": [extra_t], "lr": 0.003})
    eopt.add_param_group({"params": [extra_e], "lr": 0.003})
    for g in grads[16:]:
        _both_step(torch, tp + [extra_t], topt, ep + [extra_e], eopt, g)


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_matches_torch(line_search):
    torch = torch_or_skip()
    rng = np.random.default_rng(3)
    # float64: near the optimum float32 noise, not the algorithm, would decide the line search
    a = rng.standard_normal((20, 4))
    b = rng.standard_normal((20, 1))
    w0 = rng.standard_normal((4, 1))

    def run(lib, tensor):
        w = tensor(w0.copy(), requires_grad=True)
        x, y = tensor(a), tensor(b)
        opt = lib.optim.LBFGS([w], lr=0.5, max_iter=4, history_size=3, line_search_fn=line_search)

        def closure():
            opt.zero_grad()
            loss = (((x @ w) - y) ** 2).sum() + (w**4).sum() * 0.1
            loss.backward()
            return loss

        out, evals = [], []
        for _ in range(5):
            opt.step(closure)
            out.append(w.detach().numpy().copy())
            evals.append(opt.state_dict()["state"][0]["func_evals"])
        return out, evals

    mine, my_evals = run(ember, ember.tensor)
    ref, ref_evals = run(torch, torch.tensor)
    for m, r in zip(mine, ref):
        np.testing.assert_allclose(m, r, rtol=1e-9, atol=1e-10)
    assert my_evals == ref_evals


def test_torch_state_dict_round_trip_through_numpy():
    """A state dict converted from PyTorch's (tensor by tensor) loads and resumes in ember."""
    torch_or_skip()
    init, grads = initial_params(), gradient_sequence(10)
    torch_mod, tp, topt, ep, eopt = _torch_and_ember("Adam", {"lr": 0.01}, init)
    for g in grads[:5]:
        _both_step(torch_mod, tp, topt, ep, eopt, g)
    converted = copy.deepcopy(topt.state_dict())
    converted["state"] = {
        k: {n: ember.tensor(v.numpy()) for n, v in s.items()} for k, s in converted["state"].items()
    }
    fresh = ember.optim.Adam(ep, lr=0.01)
    fresh.load_state_dict(converted)
    for g in grads[5:]:
        _both_step(torch_mod, tp, topt, ep, fresh, g)
