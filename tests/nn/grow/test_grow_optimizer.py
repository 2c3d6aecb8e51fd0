"""The optimizer carries on: state follows the units value by value, training continues."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn.grow import deepen_, prune_, widen_
from ember.nn.grow.optimizer_state import MAGNITUDE_STATE

from .nets import cnn_bn_flatten


def _problem(seed=0):
    ember.manual_seed(seed)
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    x = ember.randn(32, 4)
    y = (x[:, :2] * 2 - x[:, 2:] + 0.5).detach()
    return net, x, y


def _train(net, opt, x, y, steps):
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return losses


def _state(opt, p, key):
    return opt.state[p][key].detach().numpy().copy()


def _sources(old_rows, new_rows, old):
    """For each new unit, the old unit it copies (found by equal incoming weights)."""
    return [
        next(u for u in range(old) if (new_rows[j] == old_rows[u]).all()) for j in range(old, len(new_rows))
    ]


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda ps: ember.optim.SGD(ps, lr=0.05, momentum=0.9),
        lambda ps: ember.optim.Adam(ps, lr=0.01),
        lambda ps: ember.optim.AdamW(ps, lr=0.01, amsgrad=True),
        lambda ps: ember.optim.RMSprop(ps, lr=0.01, momentum=0.9, centered=True),
        lambda ps: ember.optim.Adagrad(ps, lr=0.01),
    ],
    ids=["sgd-momentum", "adam", "adamw-amsgrad", "rmsprop-centered", "adagrad"],
)
def test_state_follows_the_units_value_by_value(make_opt):
    net, x, y = _problem()
    opt = make_opt(net.parameters())
    _train(net, opt, x, y, 3)
    fc1, fc2 = net[0], net[2]
    keys = list(opt.state[fc1.weight])
    before = {
        (name, k): _state(opt, p, k)
        for name, p in [("w1", fc1.weight), ("b1", fc1.bias), ("w2", fc2.weight), ("b2", fc2.bias)]
        for k in keys
        if opt.state[p][k].dim() > 0
    }
    steps = {k: float(opt.state[fc1.weight][k]) for k in keys if opt.state[fc1.weight][k].dim() == 0}
    w1 = fc1.weight.detach().numpy().copy()
    widen_(net, "0", 5, example_input=x, optimizer=opt)
    src = _sources(w1, fc1.weight.detach().numpy(), 3)
    index = [0, 1, 2] + src
    counts = np.bincount(index, minlength=3).astype(np.float32)
    for k in keys:
        if (("w1", k)) not in before:
            assert float(opt.state[fc1.weight][k]) == steps[k]  # step counts kept
            continue
        np.testing.assert_array_equal(_state(opt, fc1.weight, k), before[("w1", k)][index])
        np.testing.assert_array_equal(_state(opt, fc1.bias, k), before[("b1", k)][index])
        np.testing.assert_array_equal(_state(opt, fc2.bias, k), before[("b2", k)])
        old = before[("w2", k)]
        linear = k not in MAGNITUDE_STATE
        want = old[:, index] / (counts[index] if linear else 1)
        np.testing.assert_allclose(_state(opt, fc2.weight, k), want, rtol=1e-6, atol=0)


def test_adam_next_step_is_split_like_the_weights():
    """With exp_avg split and exp_avg_sq copied, each copy's pending step is 1/c of the source's."""
    net, x, y = _problem(3)
    opt = ember.optim.Adam(net.parameters(), lr=0.01)
    _train(net, opt, x, y, 4)
    fc2 = net[2]
    st = opt.state[fc2.weight]
    old_step = (st["exp_avg"] / (st["exp_avg_sq"].sqrt() + 1e-8)).detach().numpy().copy()
    w1 = net[0].weight.detach().numpy().copy()
    widen_(net, "0", 6, example_input=x, optimizer=opt)
    index = [0, 1, 2] + _sources(w1, net[0].weight.detach().numpy(), 3)
    st = opt.state[fc2.weight]
    new_step = (st["exp_avg"] / (st["exp_avg_sq"].sqrt() + 1e-8)).detach().numpy()
    counts = np.bincount(index, minlength=3)
    np.testing.assert_allclose(new_step, old_step[:, index] / counts[index], rtol=1e-5)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_training_continues_and_the_loss_keeps_falling(name):
    net, x, y = _problem(4)
    make = {
        "sgd": lambda: ember.optim.SGD(net.parameters(), lr=0.05, momentum=0.9),
        "adam": lambda: ember.optim.Adam(net.parameters(), lr=0.02),
    }[name]
    opt = make()
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=100, gamma=0.5)
    _train(net, opt, x, y, 20)
    before_growth = float(((net(x) - y) ** 2).mean())
    widen_(net, "0", 12, example_input=x, optimizer=opt, noise=1e-3)
    deepen_(net, "0", example_input=x, optimizer=opt)
    assert abs(float(((net(x) - y) ** 2).mean()) - before_growth) < 0.02 * before_growth
    losses = _train(net, opt, x, y, 40)
    sched.step()
    assert losses[-1] < 0.8 * before_growth
    assert all(p.grad is not None for p in net.parameters())  # new layer's params train too
    assert opt.param_groups[0]["lr"] == pytest.approx(opt.defaults["lr"])


def test_flat_fast_path_rebuilds_and_matches_per_parameter_path():
    results = []
    for foreach in (None, False):
        net, x, y = _problem(5)
        opt = ember.optim.Adam(net.parameters(), lr=0.01, foreach=foreach)
        _train(net, opt, x, y, 3)
        ember.manual_seed(9)
        widen_(net, "0", 7, example_input=x, optimizer=opt)
        _train(net, opt, x, y, 3)
        results.append([p.detach().numpy().copy() for p in net.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_batchnorm_state_and_conv_consumer_state_follow():
    net, x = cnn_bn_flatten()
    opt = ember.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    y = ember.randn(3, 5)
    _train(net, opt, x, y, 2)
    bn_mom = _state(opt, net[1].weight, "momentum_buffer")
    widen_(net, "0", 6, example_input=x, optimizer=opt)
    assert opt.state[net[1].weight]["momentum_buffer"].shape == (6,)
    np.testing.assert_array_equal(_state(opt, net[1].weight, "momentum_buffer")[:4], bn_mom)
    assert opt.state[net[5].weight]["momentum_buffer"].shape == (5, 6 * 16)
    _train(net, opt, x, y, 2)


def test_new_layer_joins_the_group_with_fresh_state_and_names_follow():
    net, x, y = _problem(6)
    opt = ember.optim.SGD([{"params": list(net.named_parameters()), "lr": 0.03, "momentum": 0.5}])
    _train(net, opt, x, y, 2)
    deepen_(net, "0", example_input=x, optimizer=opt)
    group = opt.param_groups[0]
    assert len(group["params"]) == 6 and group["lr"] == 0.03
    new = net[1]
    assert any(p is new.weight for p in group["params"])
    assert not opt.state.get(new.weight)  # zero state: initialised on its first step
    assert group["param_names"] == [n for n, _ in net.named_parameters()][:2] + [
        "3.weight",
        "3.bias",
        "1.weight",
        "1.bias",
    ]
    _train(net, opt, x, y, 2)
    assert opt.state[new.weight]["momentum_buffer"].shape == (3, 3)


def test_prune_shrinks_state_with_the_units():
    net, x, y = _problem(7)
    opt = ember.optim.Adam(net.parameters(), lr=0.01)
    _train(net, opt, x, y, 2)
    widen_(net, "0", 6, example_input=x, optimizer=opt)
    avg = _state(opt, net[2].weight, "exp_avg")
    w = np.abs(net[0].weight.detach().numpy()).sum(1) + np.abs(net[0].bias.detach().numpy())
    w = w + np.abs(net[2].weight.detach().numpy()).sum(0)
    kept = sorted(np.argsort(-w, kind="stable")[:4].tolist())
    report = prune_(net, "0", 4, example_input=x, optimizer=opt)
    assert report.new_width == 4 and net[0].out_features == 4 and net[2].in_features == 4
    np.testing.assert_array_equal(_state(opt, net[2].weight, "exp_avg"), avg[:, kept])
    _train(net, opt, x, y, 2)
