"""Learning-rate schedulers: PyTorch's rates over 100 steps, with a state-dict round trip."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import ember
from ember.optim import lr_scheduler as ours
from tests.helpers import torch_or_skip

STEPS, RESUME_AT = 100, 50


def _half(epoch):
    return 0.95**epoch


def _mult(epoch):
    return 0.97


# name -> (optimizer name, optimizer kwargs, scheduler factory(lib_sched_module, optimizer))
SCHEDULES = {
    "LambdaLR": ("SGD", {}, lambda m, o: m.LambdaLR(o, _half)),
    "LambdaLR-list": ("SGD", {}, lambda m, o: m.LambdaLR(o, [_half, lambda e: 1 / (1 + e)])),
    "MultiplicativeLR": ("SGD", {}, lambda m, o: m.MultiplicativeLR(o, _mult)),
    "StepLR": ("SGD", {}, lambda m, o: m.StepLR(o, step_size=7, gamma=0.5)),
    "MultiStepLR": ("SGD", {}, lambda m, o: m.MultiStepLR(o, milestones=[10, 30, 30, 80], gamma=0.3)),
    "ConstantLR": ("SGD", {}, lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=12)),
    "LinearLR": ("SGD", {}, lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=60)),
    "ExponentialLR": ("SGD", {}, lambda m, o: m.ExponentialLR(o, gamma=0.96)),
    "PolynomialLR": ("SGD", {}, lambda m, o: m.PolynomialLR(o, total_iters=70, power=2.0)),
    "CosineAnnealingLR": ("SGD", {}, lambda m, o: m.CosineAnnealingLR(o, T_max=30, eta_min=0.001)),
    "CosineAnnealingWarmRestarts": (
        "SGD",
        {},
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7, T_mult=2, eta_min=0.002),
    ),
    "CyclicLR-triangular": (
        "SGD",
        {"momentum": 0.9},
        lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=9, step_size_down=5),
    ),
    "CyclicLR-triangular2": (
        "SGD",
        {"momentum": 0.9},
        lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=6, mode="triangular2"),
    ),
    "CyclicLR-exp_range-adam": (
        "Adam",
        {},
        lambda m, o: m.CyclicLR(
            o,
            base_lr=0.001,
            max_lr=0.01,
            step_size_up=8,
            mode="exp_range",
            gamma=0.99,
            base_momentum=0.85,
            max_momentum=0.95,
        ),
    ),
    "CyclicLR-no-momentum": (
        "Adagrad",
        {},
        lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4, cycle_momentum=False),
    ),
    "OneCycleLR-cos": (
        "SGD",
        {"momentum": 0.9},
        lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 1.0], total_steps=101),
    ),
    "OneCycleLR-linear-adam": (
        "Adam",
        {},
        lambda m, o: m.OneCycleLR(
            o, max_lr=0.01, epochs=10, steps_per_epoch=11, anneal_strategy="linear", pct_start=0.25
        ),
    ),
    "OneCycleLR-three-phase": (
        "SGD",
        {"momentum": 0.9},
        lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=120, three_phase=True, div_factor=10.0),
    ),
    "SequentialLR": (
        "SGD",
        {},
        lambda m, o: m.SequentialLR(
            o,
            [
                m.LinearLR(o, start_factor=0.1, total_iters=10),
                m.ExponentialLR(o, gamma=0.97),
                m.StepLR(o, step_size=5),
            ],
            milestones=[10, 40],
        ),
    ),
    "ChainedScheduler": (
        "SGD",
        {},
        lambda m, o: m.ChainedScheduler(
            [
                m.ConstantLR(o, factor=0.5, total_iters=20),
                m.ExponentialLR(o, gamma=0.98),
                m.MultiStepLR(o, milestones=[30, 60]),
            ]
        ),
    ),
}


def _opt(lib, name, kwargs, params):
    groups = [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.05}]
    return getattr(lib.optim, name)(groups, lr=0.1, **kwargs)


def _group_values(opt):
    out = []
    for g in opt.param_groups:
        out.append(g["lr"])
        if "momentum" in g:
            out.append(g["momentum"])
        if "betas" in g:
            out.append(g["betas"][0])
    return out


def _run(lib, opt_name, opt_kwargs, factory, tensor):
    params = [tensor(np.zeros(2, np.float32), requires_grad=True) for _ in range(2)]
    opt = _opt(lib, opt_name, opt_kwargs, params)
    sched = factory(lib.optim.lr_scheduler, opt)
    rates = [list(sched.get_last_lr())]
    values = [_group_values(opt)]
    for step in range(1, STEPS + 1):
        for p in params:
            p.grad = tensor(np.ones(2, np.float32))
        opt.step()
        sched.step()
        rates.append(list(sched.get_last_lr()))
        values.append(_group_values(opt))
        if step == RESUME_AT:  # checkpoint, rebuild everything, resume
            opt_state = copy.deepcopy(opt.state_dict())
            sched_state = copy.deepcopy(sched.state_dict())
            opt = _opt(lib, opt_name, opt_kwargs, params)
            sched = factory(lib.optim.lr_scheduler, opt)
            opt.load_state_dict(opt_state)
            sched.load_state_dict(sched_state)
    return rates, values


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_matches_torch(name):
    torch = torch_or_skip()
    opt_name, opt_kwargs, factory = SCHEDULES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine = _run(ember, opt_name, opt_kwargs, factory, ember.tensor)
        ref = _run(torch, opt_name, opt_kwargs, factory, torch.tensor)
    np.testing.assert_allclose(np.array(mine[0]), np.array(ref[0]), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.array(mine[1]), np.array(ref[1]), rtol=1e-12, atol=1e-15)


def test_reduce_on_plateau_matches_torch():
    torch = torch_or_skip()
    metrics = [1.0 / (1 + i) if i < 20 else 0.05 + 0.001 * (i % 3) for i in range(100)]

    def run(lib, tensor, mode):
        params = [tensor(np.zeros(2, np.float32), requires_grad=True) for _ in range(2)]
        opt = _opt(lib, "SGD", {}, params)

        def make(o):
            return lib.optim.lr_scheduler.ReduceLROnPlateau(
                o, mode=mode, factor=0.5, patience=3, cooldown=2, min_lr=[1e-3, 1e-4], threshold=0.01
            )

        sched = make(opt)
        out = []
        for i, m in enumerate(metrics):
            opt.step()
            sched.step(m if mode == "min" else -m)
            out.append(sched.get_last_lr())
            if i == RESUME_AT:
                saved_opt, saved = copy.deepcopy(opt.state_dict()), copy.deepcopy(sched.state_dict())
                opt = _opt(lib, "SGD", {}, params)
                sched = make(opt)
                opt.load_state_dict(saved_opt)
                sched.load_state_dict(saved)
        return out

    for mode in ("min", "max"):
        np.testing.assert_allclose(run(ember, ember.tensor, mode), run(torch, torch.tensor, mode))


def test_warning_when_scheduler_steps_before_optimizer():
    w = ember.zeros(2, requires_grad=True)
    opt = ember.optim.SGD([w], lr=0.1)
    sched = ours.StepLR(opt, step_size=1)
    with pytest.warns(
        UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"
    ):
        sched.step()


def test_no_warning_in_the_right_order():
    w = ember.zeros(2, requires_grad=True)
    opt = ember.optim.SGD([w], lr=0.1)
    sched = ours.StepLR(opt, step_size=1)
    w.grad = ember.ones(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()
    assert sched.get_last_lr() == [pytest.approx(0.01)]


def test_get_lr_outside_step_warns():
    opt = ember.optim.SGD([ember.zeros(2, requires_grad=True)], lr=0.1)
    sched = ours.ExponentialLR(opt, gamma=0.5)
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


def test_scheduler_errors():
    opt = ember.optim.SGD([ember.zeros(2, requires_grad=True)], lr=0.1)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        ours.StepLR(object(), step_size=1)
    with pytest.raises(KeyError, match="initial_lr"):
        ours.StepLR(opt, step_size=1, last_epoch=3)
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        ours.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="total_steps"):
        ours.OneCycleLR(opt, max_lr=0.1)
    adagrad = ember.optim.Adagrad([ember.zeros(2, requires_grad=True)])
    with pytest.raises(ValueError, match="momentum or beta1"):
        ours.OneCycleLR(adagrad, max_lr=0.1, total_steps=10)
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        ours.ChainedScheduler([ours.ReduceLROnPlateau(opt)])


def test_closed_form_with_epoch_argument():
    opt = ember.optim.SGD([ember.zeros(2, requires_grad=True)], lr=1.0)
    sched = ours.StepLR(opt, step_size=3, gamma=0.5)
    opt._opt_called = True
    with pytest.warns(UserWarning, match="epoch parameter"):
        sched.step(7)
    assert sched.get_last_lr() == [0.25]


def test_scheduler_drives_training():
    """A scheduler's rates reach the optimizer's update."""
    w = ember.zeros(1, requires_grad=True)
    opt = ember.optim.SGD([w], lr=1.0)
    sched = ours.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        w.grad = ember.ones(1)
        opt.step()
        sched.step()
    np.testing.assert_allclose(w.detach().numpy(), [-1.75])
