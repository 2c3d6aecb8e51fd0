"""Every optimizer and scheduler on "cuda": same updates as on the CPU, state on the device."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.optim import lr_scheduler
from tests.cuda.conftest import host
from tests.optim._cases import ALL, case_id, gradient_sequence, initial_params

STEPS = 6


def _train(name, kwargs, where):
    params = [ember.tensor(a, device=where, requires_grad=True) for a in initial_params()]
    opt = getattr(ember.optim, name)(params, **kwargs)
    for grads in gradient_sequence(STEPS):
        for p, g in zip(params, grads):
            p.grad = ember.tensor(g, device=where)
        opt.step()
    return params, opt


@pytest.mark.parametrize("case", ALL, ids=[case_id(c) for c in ALL])
def test_optimizer_on_cuda_matches_cpu(case, device):
    name, kwargs = case
    cpu_params, _ = _train(name, kwargs, "cpu")
    dev_params, opt = _train(name, kwargs, device)
    for pc, pd in zip(cpu_params, dev_params):
        assert pd.device.type == "cuda"
        np.testing.assert_allclose(host(pd), host(pc), rtol=1e-5, atol=1e-6, err_msg=case_id(case))
    for p in dev_params:
        for key, value in opt.state[p].items():
            if isinstance(value, ember.Tensor) and value.dim() > 0:
                assert value.device == p.device, f"{case_id(case)}: state {key} on {value.device}"


def test_lbfgs_on_cuda_matches_cpu(device):
    results = []
    for where in ("cpu", device):
        w = ember.tensor([1.5, -0.5], device=where, requires_grad=True)
        opt = ember.optim.LBFGS([w], lr=0.5, max_iter=5)

        def closure(w=w, opt=opt):
            opt.zero_grad()
            loss = ((w - 3.0) ** 2).sum() + (w[0] * w[1]) ** 2
            loss.backward()
            return loss

        for _ in range(3):
            opt.step(closure)
        results.append(w)
    np.testing.assert_allclose(host(results[1]), host(results[0]), rtol=1e-5, atol=1e-6)


SCHEDULERS = {
    "StepLR": lambda o: lr_scheduler.StepLR(o, 2),
    "MultiStepLR": lambda o: lr_scheduler.MultiStepLR(o, [1, 3]),
    "ExponentialLR": lambda o: lr_scheduler.ExponentialLR(o, 0.9),
    "CosineAnnealingLR": lambda o: lr_scheduler.CosineAnnealingLR(o, 5),
    "CosineAnnealingWarmRestarts": lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, 2),
    "CyclicLR": lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, 2),
    "OneCycleLR": lambda o: lr_scheduler.OneCycleLR(o, 0.1, total_steps=10),
    "LinearLR": lambda o: lr_scheduler.LinearLR(o),
    "ConstantLR": lambda o: lr_scheduler.ConstantLR(o),
    "LambdaLR": lambda o: lr_scheduler.LambdaLR(o, lambda e: 0.9**e),
    "MultiplicativeLR": lambda o: lr_scheduler.MultiplicativeLR(o, lambda e: 0.9),
    "PolynomialLR": lambda o: lr_scheduler.PolynomialLR(o, 5),
    "ReduceLROnPlateau": lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=0),
    "SequentialLR": lambda o: lr_scheduler.SequentialLR(
        o, [lr_scheduler.ConstantLR(o), lr_scheduler.ExponentialLR(o, 0.9)], milestones=[2]
    ),
    "ChainedScheduler": lambda o: lr_scheduler.ChainedScheduler(
        [lr_scheduler.ConstantLR(o), lr_scheduler.ExponentialLR(o, 0.9)]
    ),
}


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_on_cuda_matches_cpu(name, device):
    trajectories = []
    for where in ("cpu", device):
        w = ember.tensor([1.0, -2.0, 3.0], device=where, requires_grad=True)
        opt = ember.optim.SGD([w], lr=0.1, momentum=0.9)
        scheduler = SCHEDULERS[name](opt)
        lrs = []
        for _ in range(5):
            opt.zero_grad()
            loss = (w * w).sum()
            loss.backward()
            opt.step()
            scheduler.step(loss) if name == "ReduceLROnPlateau" else scheduler.step()
            lrs.append(opt.param_groups[0]["lr"])
        trajectories.append((lrs, host(w)))
    assert trajectories[0][0] == pytest.approx(trajectories[1][0])
    np.testing.assert_allclose(trajectories[1][1], trajectories[0][1], rtol=1e-6)


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_state_follows_the_model_and_load_state_dict_maps_to_parameter_devices(optimizer, device):
    model = ember.nn.Linear(3, 2)
    kwargs = {"lr": 0.1, "momentum": 0.9} if optimizer == "SGD" else {"lr": 0.1}
    opt = getattr(ember.optim, optimizer)(model.parameters(), **kwargs)
    x = ember.randn(4, 3)
    model(x).sum().backward()
    opt.step()
    saved = opt.state_dict()
    model.to(device)
    moved = getattr(ember.optim, optimizer)(model.parameters(), **kwargs)
    moved.load_state_dict(saved)  # CPU state mapped onto the parameters' device, as PyTorch does
    for p in model.parameters():
        for key, value in moved.state[p].items():
            if isinstance(value, ember.Tensor) and value.dim() > 0:
                assert value.device == p.device, key
    opt.zero_grad()
    model(x.to(device)).sum().backward()
    moved.step()
    opt.step()  # the old optimizer follows its parameters to the device too
    assert all(p.device.type == "cuda" for p in model.parameters())
