"""Adam and AdamW with ``capturable=True``: the step count is a tensor, the updates unchanged."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.optim._cases import gradient_sequence, initial_params


def _train(name: str, foreach, **kwargs):
    params = [ember.tensor(a, requires_grad=True) for a in initial_params()]
    opt = getattr(ember.optim, name)(params, lr=0.01, foreach=foreach, **kwargs)
    for grads in gradient_sequence(6):
        for p, g in zip(params, grads):
            p.grad = ember.tensor(g)
        opt.step()
    return params, opt


@pytest.mark.parametrize("foreach", [None, False], ids=["flat", "per-parameter"])
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_capturable_gives_the_same_updates(name, foreach):
    plain, _ = _train(name, foreach, amsgrad=True)
    captured, opt = _train(name, foreach, amsgrad=True, capturable=True)
    # the bias corrections are computed in float32 on the step tensor (as PyTorch's capturable
    # path does) instead of in Python floats: a few float32 ulps apart after six steps
    for p, q in zip(plain, captured):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-5, atol=1e-6)
    step = opt.state[captured[0]]["step"]
    assert isinstance(step, ember.Tensor) and step.dtype == ember.float32 and step.item() == 6.0


def test_other_optimizers_still_refuse_capturable():
    with pytest.raises(NotImplementedError, match="capturable"):
        ember.optim.NAdam([ember.zeros(1, requires_grad=True)], capturable=True)
