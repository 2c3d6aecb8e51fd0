"""The Optimizer base: validation, groups, zero_grad, hooks, state dicts, repr."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import ember
from ember import optim
from tests.optim._cases import ALL, case_id, gradient_sequence, initial_params


def _leaf(*shape):
    return ember.randn(*shape, requires_grad=True)


@pytest.mark.parametrize(
    "factory,message",
    [
        (lambda p: optim.SGD(p, lr=-0.1), "Invalid learning rate: -0.1"),
        (lambda p: optim.SGD(p, momentum=-1), "Invalid momentum value: -1"),
        (lambda p: optim.SGD(p, weight_decay=-1), "Invalid weight_decay value: -1"),
        (lambda p: optim.SGD(p, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
        (lambda p: optim.Adam(p, lr=-0.1), "Invalid learning rate: -0.1"),
        (lambda p: optim.Adam(p, eps=-1.0), "Invalid epsilon value: -1.0"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
        (lambda p: optim.AdamW(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
        (lambda p: optim.RMSprop(p, alpha=-1), "Invalid alpha value: -1"),
        (lambda p: optim.Adagrad(p, lr_decay=-1), "Invalid lr_decay value: -1"),
        (
            lambda p: optim.Adagrad(p, initial_accumulator_value=-1),
            "Invalid initial_accumulator_value value: -1",
        ),
        (lambda p: optim.Adadelta(p, rho=1.5), "Invalid rho value: 1.5"),
        (lambda p: optim.NAdam(p, momentum_decay=-1), "Invalid momentum_decay value: -1"),
        (lambda p: optim.Rprop(p, etas=(1.5, 1.2)), "Invalid eta values: 1.5, 1.2"),
        (lambda p: optim.LBFGS(p, lr=-1), "Invalid learning rate: -1"),
        (lambda p: optim.SGD([], lr=0.1), "optimizer got an empty parameter list"),
    ],
)
def test_validation_messages(factory, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        factory([_leaf(2)])


def test_param_errors():
    w = _leaf(2)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {w}}], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([w * 2], lr=0.1)
    opt = optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [w]})
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        opt.add_param_group({"params": [1.0]})
    with pytest.raises(RuntimeError, match="cannot be `True` together"):
        optim.Adam([w], foreach=True, fused=True)


def test_groups_defaults_and_names():
    a, b = _leaf(2), _leaf(3)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["params"] == [b]
    named = optim.Adam([("w", a), ("v", b)])
    assert named.param_groups[0]["param_names"] == ["w", "v"]
    assert "Parameter Group 1" in repr(opt) and "lr: 0.5" in repr(opt)


def test_zero_grad():
    w = _leaf(3)
    opt = optim.SGD([w], lr=0.1)
    w.grad = ember.ones(3)
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and not w.grad.numpy().any()
    opt.zero_grad()
    assert w.grad is None


def test_step_skips_params_without_grad_and_returns_closure_loss():
    a, b = _leaf(2), _leaf(2)
    before = b.detach().numpy().copy()
    opt = optim.Adam([a, b], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert isinstance(loss, ember.Tensor)
    assert np.array_equal(b.detach().numpy(), before)
    assert b not in opt.state or not opt.state[b]


def test_step_hooks():
    w = _leaf(2)
    opt = optim.SGD([w], lr=0.1)
    calls = []
    pre = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o is opt)))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", o is opt)))
    w.grad = ember.ones(2)
    opt.step()
    pre.remove()
    opt.step()
    assert calls == [("pre", True), ("post", True), ("post", True)]


def test_state_dict_hooks():
    w = _leaf(2)
    opt = optim.SGD([w], lr=0.1)
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    assert opt.state_dict()["extra"] == 1
    seen = []
    opt.register_load_state_dict_post_hook(lambda o: seen.append(True))
    opt.load_state_dict(opt.state_dict())
    assert seen == [True]


def test_state_dict_uses_integer_ids_across_groups():
    a, b, c = _leaf(2), _leaf(2), _leaf(2)
    opt = optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.1}])
    for p in (a, b, c):
        p.grad = ember.ones(2)
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sorted(sd["state"]) == [0, 1, 2]
    assert sd["state"][2]["step"].item() == 1.0


def test_load_state_dict_errors():
    a, b = _leaf(2), _leaf(2)
    opt = optim.SGD([a, b], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    other = optim.SGD([a], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict(other.state_dict())


def test_load_state_dict_casts_to_param_dtype():
    w64 = ember.tensor(np.zeros(3), requires_grad=True)
    source = optim.Adam([w64], lr=0.1)
    w64.grad = ember.tensor(np.ones(3))
    source.step()
    w32 = ember.zeros(3, requires_grad=True)
    target = optim.Adam([w32], lr=0.1)
    target.load_state_dict(source.state_dict())
    state = target.state[w32]
    assert state["exp_avg"].dtype == ember.float32
    assert state["step"].dtype == ember.float32 and state["step"].item() == 1.0
    assert state["exp_avg"]._data is not source.state[w64]["exp_avg"]._data


@pytest.mark.parametrize("case", ALL, ids=case_id)
def test_state_dict_round_trip_resumes_exactly(case):
    name, kwargs = case
    init, grads = initial_params(), gradient_sequence(10)
    params = [ember.tensor(a, requires_grad=True) for a in init]
    opt = getattr(optim, name)(params, **kwargs)
    for g in grads[:5]:
        for p, a in zip(params, g):
            p.grad = ember.tensor(a)
        opt.step()
    saved = copy.deepcopy(opt.state_dict())
    snapshot = [p.detach().numpy().copy() for p in params]
    resumed = [ember.tensor(a, requires_grad=True) for a in snapshot]
    fresh = getattr(optim, name)(resumed, **kwargs)
    fresh.load_state_dict(saved)
    for g in grads[5:]:
        for ps, o in ((params, opt), (resumed, fresh)):
            for p, a in zip(ps, g):
                p.grad = ember.tensor(a)
            o.step()
    for p, r in zip(params, resumed):
        assert np.array_equal(p.detach().numpy(), r.detach().numpy())


def test_lr_written_mid_run_takes_effect_next_step():
    w = ember.zeros(2, requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    w.grad = ember.ones(2)
    opt.step()
    opt.param_groups[0]["lr"] = 0.25
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), [-1.25, -1.25])


def test_lbfgs_rejects_groups_and_missing_closure():
    a, b = _leaf(2), _leaf(2)
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": [a]}, {"params": [b]}])
    with pytest.raises(RuntimeError, match="closure"):
        optim.LBFGS([a]).step(None)
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt = optim.LBFGS([a], line_search_fn="armijo")

        def closure():
            opt.zero_grad()
            loss = (a * a).sum()
            loss.backward()
            return loss

        opt.step(closure)


def test_custom_optimizer_written_pytorch_style_gets_hooks():
    class Plain(optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        @ember.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.sub_(p.grad * group["lr"])

    w = ember.zeros(2, requires_grad=True)
    opt = Plain([w])
    seen = []
    opt.register_step_post_hook(lambda o, a, k: seen.append(1))
    w.grad = ember.ones(2)
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), [-0.1, -0.1])
    assert seen == [1]
