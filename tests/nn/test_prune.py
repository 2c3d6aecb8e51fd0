"""nn.utils.prune: masks, the ``_orig``/``_mask`` layout, iterative and global pruning, against
PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn.utils import prune
from tests.helpers import torch_or_skip


def _conv_pair(torch):
    """A Conv2d in ember and in torch with the same (tie-free) weights."""
    rng = np.random.default_rng(0)
    weight = rng.permutation(4 * 3 * 3 * 3).reshape(4, 3, 3, 3).astype(np.float32) - 50
    bias = np.array([0.3, -0.1, 0.2, -0.4], dtype=np.float32)
    e, t = nn.Conv2d(3, 4, 3), torch.nn.Conv2d(3, 4, 3)
    e.load_state_dict({"weight": ember.tensor(weight), "bias": ember.tensor(bias)})
    t.load_state_dict({"weight": torch.tensor(weight), "bias": torch.tensor(bias)})
    return e, t


def _assert_same_masks(e_module, t_module):
    e_buffers = {k: v.numpy() for k, v in e_module.named_buffers()}
    t_buffers = {k: v.numpy() for k, v in t_module.named_buffers()}
    assert e_buffers.keys() == t_buffers.keys()
    for key in t_buffers:
        np.testing.assert_array_equal(e_buffers[key], t_buffers[key], err_msg=key)
    assert list(e_module.state_dict()) == list(t_module.state_dict())


@pytest.mark.parametrize(
    "steps",
    [
        [("l1_unstructured", {"amount": 0.3})],
        [("l1_unstructured", {"amount": 7})],
        [("ln_structured", {"amount": 0.5, "n": 2, "dim": 0})],
        [("ln_structured", {"amount": 1, "n": 1, "dim": 1})],
        # iterative: each method acts on what the earlier ones left
        [("l1_unstructured", {"amount": 0.2}), ("l1_unstructured", {"amount": 0.5})],
        [("ln_structured", {"amount": 1, "n": 2, "dim": 0}), ("l1_unstructured", {"amount": 0.25})],
        [("l1_unstructured", {"amount": 0.25}), ("ln_structured", {"amount": 2, "n": 1, "dim": 0})],
    ],
)
def test_pruning_matches_torch(steps):
    torch = torch_or_skip()
    import torch.nn.utils.prune as torch_prune

    e, t = _conv_pair(torch)
    for fn, kwargs in steps:
        getattr(prune, fn)(e, "weight", **kwargs)
        getattr(torch_prune, fn)(t, "weight", **kwargs)
    _assert_same_masks(e, t)
    np.testing.assert_array_equal(e.weight.detach().numpy(), t.weight.detach().numpy())
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(
        e(ember.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-4
    )


def test_global_unstructured_and_custom_mask_match_torch():
    torch = torch_or_skip()
    import torch.nn.utils.prune as torch_prune

    (e1, t1), (e2, t2) = _conv_pair(torch), _conv_pair(torch)
    with ember.no_grad():  # no magnitude ties between the two layers
        e2.weight.mul_(0.37).add_(0.011)
    with torch.no_grad():
        t2.weight.mul_(0.37).add_(0.011)
    prune.custom_from_mask(e2, "bias", mask=ember.tensor([1.0, 0.0, 1.0, 1.0]))
    torch_prune.custom_from_mask(t2, "bias", mask=torch.tensor([1.0, 0.0, 1.0, 1.0]))
    for amount in (0.4, 10):
        e_params = [(e1, "weight"), (e2, "weight"), (e2, "bias")]
        t_params = [(t1, "weight"), (t2, "weight"), (t2, "bias")]
        prune.global_unstructured(e_params, pruning_method=prune.L1Unstructured, amount=amount)
        torch_prune.global_unstructured(t_params, pruning_method=torch_prune.L1Unstructured, amount=amount)
        _assert_same_masks(e1, t1)
        _assert_same_masks(e2, t2)


def test_layout_training_and_remove():
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    assert not prune.is_pruned(model)
    prune.random_unstructured(model[0], name="weight", amount=0.5)
    prune.l1_unstructured(model[2], name="bias", amount=1)
    assert prune.is_pruned(model)
    assert sorted(dict(model[0].named_parameters())) == ["bias", "weight_orig"]
    assert [k for k, _ in model[0].named_buffers()] == ["weight_mask"]
    assert int((model[0].weight_mask == 0).sum()) == 12
    assert "weight" not in model[0]._parameters
    # training moves weight_orig; the pruned entries stay zero in the weight the forward uses
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    x = ember.randn(8, 4)
    for _ in range(3):
        opt.zero_grad()
        model(x).pow(2).sum().backward()
        opt.step()
    pruned = model[0].weight_mask == 0
    assert bool((model[0].weight[pruned] == 0).all())
    assert bool((model[0].weight_orig.grad[pruned] == 0).all())
    # a second pruning of the same tensor gives a container
    prune.random_unstructured(model[0], name="weight", amount=0.5)
    hooks = [h for h in model[0]._forward_pre_hooks.values() if isinstance(h, prune.BasePruningMethod)]
    assert len(hooks) == 1 and isinstance(hooks[0], prune.PruningContainer) and len(hooks[0]) == 2
    assert int((model[0].weight_mask == 0).sum()) == 18
    expected = model[0].weight.detach().clone()
    prune.remove(model[0], "weight")
    assert isinstance(model[0].weight, nn.Parameter) and "weight_orig" not in model[0]._parameters
    assert ember.equal(model[0].weight, expected)
    assert sorted(model[0].state_dict()) == ["bias", "weight"]
    assert model[0]._forward_pre_hooks == {} or not any(
        isinstance(h, prune.BasePruningMethod) for h in model[0]._forward_pre_hooks.values()
    )


def test_custom_pruning_method():
    class EveryOther(prune.BasePruningMethod):
        PRUNING_TYPE = "unstructured"

        def compute_mask(self, t, default_mask):
            mask = default_mask.clone()
            mask.view(-1)[::2] = 0
            return mask

    layer = nn.Linear(3, 2)
    EveryOther.apply(layer, "bias")
    assert layer.bias_mask.tolist() == [0.0, 1.0]
    assert EveryOther().prune(ember.ones(4)).tolist() == [0.0, 1.0, 0.0, 1.0]


def test_errors_name_the_problem():
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="float in the range"):
        prune.l1_unstructured(layer, "weight", amount=1.5)
    with pytest.raises(TypeError, match="Invalid type for amount"):
        prune.L1Unstructured(amount="half")
    with pytest.raises(ValueError, match="smaller than the number of parameters to prune=6"):
        prune.l1_unstructured(layer, "weight", amount=7)
    # a failed pruning leaves the parameter where it was
    assert "weight" in layer._parameters and "weight_orig" not in layer._parameters
    with pytest.raises(ValueError, match="multidimensional"):
        prune.ln_structured(layer, "bias", amount=1, n=2, dim=0)
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(layer, "weight")
    with pytest.raises(TypeError, match="unstructured"):
        prune.global_unstructured([(layer, "weight")], prune.LnStructured, amount=1, n=2, dim=0)
