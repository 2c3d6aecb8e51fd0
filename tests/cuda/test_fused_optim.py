"""The fused CUDA optimizer step and embedding backward against the plain path and the CPU.

On the device, each optimizer runs three ways: the fused multi-tensor path (one kernel launch
per group), the plain path (``with fused.disabled():``) and the CPU; all three must agree over
several steps with ``lr`` changed mid-run, parameters that skip a gradient, a parameter added to
a group, and a ``state_dict`` save/load round trip.
"""

from __future__ import annotations

import contextlib
import copy

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.backend import fused
from tests.cuda.conftest import host

SHAPES = [(5, 3), (7,), (2, 2, 2), (1,)]
STEPS = 6

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.5, "nesterov": True, "weight_decay": 0.1, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.05}),
    ("Adam", {"lr": 0.01, "maximize": True, "betas": (0.3, 0.5)}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.3, "maximize": True}),
]


def _case_id(case):
    name, kwargs = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


def _data(dtype="float32", seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(STEPS)]
    return params, grads


def _set_grads(tensors, step_grads, step, where):
    for k, (t, g) in enumerate(zip(tensors, step_grads)):
        # parameter 2 has no gradient on odd steps: it is left out of those steps
        t.grad = None if (k == 2 and step % 2) else ember.tensor(g, device=where)


def _train(name, kwargs, where, dtype="float32", steps=STEPS, plain=False):
    params, grads = _data(dtype)
    tensors = [ember.tensor(p, device=where, requires_grad=True) for p in params]
    opt = getattr(ember.optim, name)(tensors, **kwargs)
    with fused.disabled() if plain else contextlib.nullcontext():
        for step in range(steps):
            if step == 3:
                opt.param_groups[0]["lr"] = kwargs["lr"] * 0.3  # lr changed mid-run
            _set_grads(tensors, grads[step], step, where)
            opt.step()
    return tensors, opt


def _assert_close(got, want, what):
    for g, w in zip(got, want):
        np.testing.assert_allclose(host(g), host(w), rtol=2e-6, atol=1e-7, err_msg=what)


def _fused_ran(opt) -> bool:
    return bool(opt.__dict__.get("_fused_layouts"))


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_fused_step_matches_the_plain_path_and_the_cpu(case, device):
    name, kwargs = case
    on_fused, opt = _train(name, kwargs, device)
    on_plain, plain_opt = _train(name, kwargs, device, plain=True)
    on_cpu, _ = _train(name, kwargs, "cpu")
    assert _fused_ran(opt), "the fused path stepped the group"
    assert not _fused_ran(plain_opt)
    _assert_close(on_fused, on_plain, f"{_case_id(case)}: fused vs plain")
    _assert_close(on_fused, on_cpu, f"{_case_id(case)}: fused vs cpu")
    for p in on_fused:
        for key, value in opt.state[p].items():
            if isinstance(value, ember.Tensor) and value.dim() > 0:
                assert value.device == p.device, f"state {key} on {value.device}"


@pytest.mark.parametrize("case", [CASES[1], CASES[5], CASES[9]], ids=_case_id)
def test_fused_step_in_float64(case, device):
    name, kwargs = case
    on_fused, opt = _train(name, kwargs, device, dtype="float64")
    on_cpu, _ = _train(name, kwargs, "cpu", dtype="float64")
    assert _fused_ran(opt)
    for g, w in zip(on_fused, on_cpu):
        np.testing.assert_allclose(host(g), host(w), rtol=1e-12, atol=1e-14)


def _train_with_added_parameter(name, kwargs, where, plain=False):
    params, grads = _data(seed=4)
    tensors = [ember.tensor(p, device=where, requires_grad=True) for p in params]
    late = ember.tensor(params[0] * 0.5, device=where, requires_grad=True)
    extra = ember.tensor(params[1] * 2.0, device=where, requires_grad=True)
    opt = getattr(ember.optim, name)(tensors, **kwargs)
    with fused.disabled() if plain else contextlib.nullcontext():
        for step in range(STEPS):
            if step == 2:
                opt.param_groups[0]["params"].append(late)  # its state starts two steps behind
                opt.add_param_group({"params": [extra], "lr": kwargs["lr"] * 2})
            _set_grads(tensors, grads[step], 0, where)
            if step >= 2:
                late.grad = ember.tensor(grads[step][0] * 0.7, device=where)
                extra.grad = ember.tensor(grads[step][1] * -1.5, device=where)
            opt.step()
    return tensors + [late, extra], opt


@pytest.mark.parametrize("case", [CASES[1], CASES[5], CASES[8]], ids=_case_id)
def test_parameter_added_to_a_group(case, device):
    name, kwargs = case
    on_fused, opt = _train_with_added_parameter(name, kwargs, device)
    on_plain, _ = _train_with_added_parameter(name, kwargs, device, plain=True)
    on_cpu, _ = _train_with_added_parameter(name, kwargs, "cpu")
    assert _fused_ran(opt)
    _assert_close(on_fused, on_plain, "fused vs plain")
    _assert_close(on_fused, on_cpu, "fused vs cpu")


@pytest.mark.parametrize("case", [CASES[2], CASES[5], CASES[9]], ids=_case_id)
def test_state_dict_round_trip(case, device):
    name, kwargs = case
    straight, _ = _train(name, kwargs, device, steps=STEPS)
    first, opt = _train(name, kwargs, device, steps=3)
    saved = copy.deepcopy(opt.state_dict())
    resumed = [ember.tensor(host(t), device=device, requires_grad=True) for t in first]
    opt2 = getattr(ember.optim, name)(resumed, **kwargs)
    opt2.load_state_dict(saved)
    _, grads = _data()
    for step in range(3, STEPS):
        if step == 3:
            opt2.param_groups[0]["lr"] = kwargs["lr"] * 0.3
        _set_grads(resumed, grads[step], step, device)
        opt2.step()
    assert _fused_ran(opt2)
    _assert_close(resumed, straight, "resumed vs straight")
    # loading into the live optimizer replaces its state: the layout is rebuilt, not reused
    opt.load_state_dict(saved)
    _set_grads(first, grads[3], 3, device)
    opt.step()
    for p in first:
        for value in opt.state[p].values():
            if isinstance(value, ember.Tensor) and value.dim() > 0:
                assert value.device == p.device


def test_paths_that_keep_the_plain_step(device):
    params, grads = _data()
    half = [ember.tensor(p, device=device, dtype=ember.float16, requires_grad=True) for p in params]
    opts = {
        "float16": ember.optim.Adam(half, lr=0.01, eps=1e-3),
        "foreach=False": ember.optim.SGD(
            [ember.tensor(p, device=device, requires_grad=True) for p in params], lr=0.1, foreach=False
        ),
        "fused=False": ember.optim.AdamW(
            [ember.tensor(p, device=device, requires_grad=True) for p in params], lr=0.1, fused=False
        ),
    }

    class OwnRule(ember.optim.SGD):
        def update(self, group, param, grad, state, coeffs):
            param -= grad * 2 * group["lr"]

    own = [ember.tensor(p, device=device, requires_grad=True) for p in params]
    opts["own update"] = OwnRule(own, lr=0.1)
    for what, opt in opts.items():
        tensors = opt.param_groups[0]["params"]
        for t, g in zip(tensors, grads[0]):
            t.grad = ember.tensor(g, device=device, dtype=t.dtype)
        opt.step()
        assert not _fused_ran(opt), what
    np.testing.assert_allclose(host(own[0]), params[0] - 0.2 * grads[0][0], rtol=1e-6)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_one_kernel_launch_per_group_and_step(name, device, monkeypatch):
    launches = []
    real_kernel = fused.kernel

    def counting_kernel(xp, kernel_name):
        found = real_kernel(xp, kernel_name)
        if found is None or not kernel_name.startswith("optim."):
            return found

        def run(*args, **kwargs):
            launches.append(kernel_name)
            return found(*args, **kwargs)

        return run

    monkeypatch.setattr(fused, "kernel", counting_kernel)
    params, grads = _data()
    first = [ember.tensor(p, device=device, requires_grad=True) for p in params[:2]]
    second = [ember.tensor(p, device=device, requires_grad=True) for p in params[2:]]
    options = {"momentum": 0.9} if name == "SGD" else {}
    groups = [{"params": first}, {"params": second, "lr": 0.5}]
    opt = getattr(ember.optim, name)(groups, lr=0.1, **options)
    for step in range(3):
        for t, g in zip(first + second, grads[step]):
            t.grad = ember.tensor(g, device=device)
        opt.step()
    assert len(launches) == 3 * 2, launches


def test_fused_true_on_cuda_takes_the_fused_path(device):
    tensors, opt = _train("Adam", {"lr": 0.01, "fused": True}, device)
    on_cpu, _ = _train("Adam", {"lr": 0.01, "fused": True}, "cpu")
    assert _fused_ran(opt)
    _assert_close(tensors, on_cpu, "fused=True vs cpu")


@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_backward_with_repeated_indices(padding_idx, device):
    rng = np.random.default_rng(6)
    weight = rng.standard_normal((9, 5)).astype("float32")
    indices = rng.integers(0, 7, (6, 11))
    indices[0, :4] = 2
    grad = rng.standard_normal((6, 11, 5)).astype("float32")
    results = {}
    for what, where, plain in (("fused", device, False), ("plain", device, True), ("cpu", "cpu", False)):
        with fused.disabled() if plain else contextlib.nullcontext():
            w = ember.tensor(weight, device=where, requires_grad=True)
            out = F.embedding(ember.tensor(indices, device=where), w, padding_idx=padding_idx)
            if what == "fused":
                assert type(out.grad_fn).__name__ == "EmbeddingLookupBackward0"
            out.backward(ember.tensor(grad, device=where))
            results[what] = w.grad
    assert results["fused"].device.type == "cuda"
    for other in ("plain", "cpu"):
        np.testing.assert_allclose(host(results["fused"]), host(results[other]), rtol=1e-5, atol=1e-6)
    if padding_idx is not None:
        assert not host(results["fused"])[padding_idx].any()
    assert not host(results["fused"])[7:].any()


def test_embedding_module_trains_on_the_fused_backward(device):
    rng = np.random.default_rng(7)
    indices = rng.integers(0, 20, (8, 12))
    for where in (device, "cpu"):
        ember.manual_seed(0)
        layer = ember.nn.Embedding(20, 6, padding_idx=0).to(where)
        opt = ember.optim.Adam(layer.parameters(), lr=0.05)
        for _ in range(3):
            opt.zero_grad()
            (layer(ember.tensor(indices, device=where)) ** 2).sum().backward()
            opt.step()
        if where == device:
            trained = host(layer.weight)
    np.testing.assert_allclose(trained, host(layer.weight), rtol=1e-5, atol=1e-6)
