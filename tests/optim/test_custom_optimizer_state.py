"""A user's Optimizer subclass with its own ``step`` keeps the plain numbers it stores in state."""

import ember
from ember.optim import Optimizer
from tests.helpers import torch_or_skip


def _counting_sgd(base):
    class CountingSGD(base):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    state = self.state[p]
                    state["step"] = state.get("step", 0) + 1
                    p.data.add_(p.grad, alpha=-group["lr"])

    return CountingSGD


def _steps_after_reload(lib, base):
    cls = _counting_sgd(base)
    w = lib.nn.Parameter(lib.ones(2))
    opt = cls([w])
    for _ in range(3):
        w.grad = lib.ones(2)
        opt.step()
    fresh = cls([lib.nn.Parameter(lib.ones(2))])
    fresh.load_state_dict(opt.state_dict())
    return next(iter(fresh.state.values()))["step"]


def test_custom_step_state_stays_an_int_after_load_state_dict():
    step = _steps_after_reload(ember, Optimizer)
    assert type(step) is int and step == 3


def test_builtin_optimizer_step_state_is_still_a_tensor():
    w = ember.nn.Parameter(ember.ones(2))
    opt = ember.optim.Adam([w])
    w.grad = ember.ones(2)
    opt.step()
    state = opt.state_dict()
    state["state"][0]["step"] = 1.0
    opt.load_state_dict(state)
    assert isinstance(opt.state[w]["step"], ember.Tensor)
    w.grad = ember.ones(2)
    opt.step()
    assert opt.state[w]["step"].item() == 2


def test_custom_step_state_matches_pytorch():
    torch = torch_or_skip()
    ours = _steps_after_reload(ember, Optimizer)
    theirs = _steps_after_reload(torch, torch.optim.Optimizer)
    assert type(ours) is type(theirs) and ours == theirs
