"""``ember.optim.swa_utils``: SWA and EMA averaged models, SWALR and update_bn."""

import warnings

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip


def _set_weights(lib, model, offset=0.0):
    with lib.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(lib.linspace(-0.5, 0.5, p.numel()).reshape(p.shape) + 0.1 * i + offset)


def _program(lib):
    swa_utils = lib.optim.swa_utils
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.ReLU(), lib.nn.Linear(4, 1))
    _set_weights(lib, model)
    averaged = {
        "swa": swa_utils.AveragedModel(model),
        "ema": swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.9)),
        "ema_buffers": swa_utils.AveragedModel(model, avg_fn=swa_utils.get_ema_avg_fn(0.8), use_buffers=True),
    }
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    sched = swa_utils.SWALR(opt, swa_lr=0.02, anneal_epochs=3, anneal_strategy="linear")
    x = lib.linspace(-1, 1, 24).reshape(8, 3)
    y = x.sum(1, keepdim=True)
    record = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(6):
            loss = ((model(x) - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            for avg in averaged.values():
                avg.update_parameters(model)
            sched.step()
            record.append([loss.item(), opt.param_groups[0]["lr"], int(averaged["swa"].n_averaged)])
        swa_utils.update_bn([(x, y)], averaged["swa"])
    for avg in averaged.values():
        record.append(avg.module[0].weight.detach().numpy().ravel().tolist())
        record.append(avg.module[1].running_mean.numpy().tolist())
    averaged["swa"].eval()
    record.append(averaged["swa"](x).detach().numpy().ravel().tolist())
    record.append(sorted(averaged["swa"].state_dict()))
    return record


def test_matches_pytorch():
    torch = torch_or_skip()
    ours, theirs = _program(ember), _program(torch)
    assert ours[-1] == theirs[-1]
    for a, b in zip(ours[:-1], theirs[:-1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_swa_is_the_mean_and_ema_the_decayed_average():
    model = ember.nn.Linear(2, 1)
    swa = ember.optim.swa_utils.AveragedModel(model)
    ema = ember.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=ember.optim.swa_utils.get_ema_multi_avg_fn(0.5)
    )
    for value in (1.0, 2.0, 6.0):
        with ember.no_grad():
            model.weight.fill_(value)
        swa.update_parameters(model)
        ema.update_parameters(model)
    np.testing.assert_allclose(swa.module.weight.detach().numpy(), [[3.0, 3.0]])
    np.testing.assert_allclose(ema.module.weight.detach().numpy(), [[3.75, 3.75]])  # 1 -> 1.5 -> 3.75
    assert int(swa.n_averaged) == 3 and swa(ember.ones(1, 2)).shape == (1, 1)


def test_swalr_anneals_to_swa_lr_and_validates():
    opt = ember.optim.SGD([ember.nn.Parameter(ember.ones(1))], lr=1.0)
    sched = ember.optim.swa_utils.SWALR(opt, swa_lr=0.5, anneal_epochs=2, anneal_strategy="linear")
    rates = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            sched.step()
            rates.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(rates, [0.75, 0.5, 0.5])
    with pytest.raises(ValueError, match="anneal_strategy"):
        ember.optim.swa_utils.SWALR(opt, swa_lr=0.5, anneal_strategy="exp")
