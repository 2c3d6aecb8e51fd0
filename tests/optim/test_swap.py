"""swap_in_optimizer_params_and_state against PyTorch."""

from __future__ import annotations

import numpy as np

import ember
from tests.helpers import torch_or_skip


def _session(lib):
    w = lib.tensor([1.0, 2.0], requires_grad=True)
    opt = lib.optim.Adam([w], lr=0.1)
    for _ in range(2):
        w.grad = lib.tensor([1.0, -1.0])
        opt.step()
    sd = opt.state_dict()
    swapped = {
        "state": {0: {k: v.clone() for k, v in sd["state"][0].items()}},
        "param_groups": [dict(sd["param_groups"][0], lr=0.5)],
    }
    other = lib.tensor([5.0, 5.0], requires_grad=True)
    other.grad = lib.tensor([1.0, 1.0])
    with lib.optim.swap_in_optimizer_params_and_state(opt, {"w": other}, swapped):
        opt.step()
    inside = (
        other.detach().numpy().copy(),
        swapped["state"][0]["exp_avg"].numpy().copy(),
        float(swapped["state"][0]["step"]),
    )
    w.grad = lib.tensor([1.0, -1.0])
    opt.step()
    return inside, w.detach().numpy().copy(), opt.param_groups[0]["lr"]


def test_swap_in_matches_torch_and_restores_the_optimizer():
    torch = torch_or_skip()
    ours, theirs = _session(ember), _session(torch)
    for a, b in zip(ours[0], theirs[0]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)
    assert ours[2] == theirs[2] == 0.1
