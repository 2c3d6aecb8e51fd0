"""``ember.func``: PyTorch's function transforms and ``functional_call``."""

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip


def _model(lib):
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 1))
    weights = {
        k: lib.arange(v.numel(), dtype=lib.float32).reshape(v.shape) / 10
        for k, v in model.state_dict().items()
    }
    return model, weights, lib.linspace(-1, 1, 6).reshape(2, 3)


def _numpy(tree):
    if isinstance(tree, dict):
        return {k: _numpy(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_numpy(v) for v in tree]
    return tree.detach().numpy()


# each case runs the same program on ember or PyTorch and returns arrays
def _functional_call(lib):
    model, weights, x = _model(lib)
    before = model[0].weight.detach().numpy().copy()
    out = lib.func.functional_call(model, weights, (x,))
    assert np.array_equal(model[0].weight.detach().numpy(), before)  # the module is restored
    return out


def _grad_of_params(lib):
    model, weights, x = _model(lib)
    return lib.func.grad(lambda p, xb: lib.func.functional_call(model, p, (xb,)).pow(2).mean())(weights, x)


def _per_sample_grads(lib):
    _, _, x = _model(lib)
    per_sample = lib.func.grad(lambda w, xi: (xi @ w).tanh().sum())
    return lib.func.vmap(per_sample, in_dims=(None, 0))(lib.ones(3), x)


CASES = {
    "functional_call": _functional_call,
    "grad_of_params": _grad_of_params,
    "per_sample_grads": _per_sample_grads,
    "grad_argnums": lambda lib: lib.func.grad(lambda a, b: (a * b).sum(), argnums=(0, 1))(
        lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])
    ),
    "grad_and_value": lambda lib: lib.func.grad_and_value(lambda a: (a**2).sum())(lib.tensor([1.0, 2.0])),
    "grad_aux": lambda lib: lib.func.grad(lambda a: ((a**2).sum(), a.mean()), has_aux=True)(
        lib.tensor([1.0, 2.0])
    ),
    "grad_grad": lambda lib: lib.func.grad(lib.func.grad(lambda a: a**3))(lib.tensor(2.0)),
    "jacrev": lambda lib: lib.func.jacrev(lambda a: a.sin() * 2)(lib.tensor([0.5, 1.0])),
    "jacfwd_argnums": lambda lib: lib.func.jacfwd(lambda a, b: a * b, argnums=1)(
        lib.tensor([0.5, 1.0]), lib.tensor([2.0, 3.0])
    ),
    "hessian": lambda lib: lib.func.hessian(lambda a: (a**3).sum())(lib.tensor([1.0, 2.0])),
    "vjp": lambda lib: (lambda out, fn: (out, fn(lib.ones(2))))(
        *lib.func.vjp(lambda a: a**2, lib.tensor([1.0, 3.0]))
    ),
    "jvp": lambda lib: lib.func.jvp(lambda a: a**2, (lib.tensor([1.0, 3.0]),), (lib.tensor([1.0, 0.0]),)),
}
EXPECTED = {
    "grad_argnums": [[3.0, 4.0], [1.0, 2.0]],
    "grad_and_value": [[2.0, 4.0], 5.0],
    "grad_aux": [[2.0, 4.0], 1.5],
    "grad_grad": 12.0,
    "jacrev": np.diag(2 * np.cos([0.5, 1.0])),
    "jacfwd_argnums": [[0.5, 0.0], [0.0, 1.0]],
    "hessian": [[6.0, 0.0], [0.0, 12.0]],
    "vjp": [[1.0, 9.0], [[2.0, 6.0]]],
    "jvp": [[1.0, 9.0], [2.0, 0.0]],
}


def _assert_tree_close(ours, expected):
    if isinstance(ours, dict):
        assert ours.keys() == expected.keys()
        for key in ours:
            _assert_tree_close(ours[key], expected[key])
    elif (
        isinstance(ours, list)
        and not isinstance(expected, np.ndarray)
        and (not ours or isinstance(ours[0], (list, dict, np.ndarray)))
    ):
        assert len(ours) == len(expected)
        for a, b in zip(ours, expected):
            _assert_tree_close(a, b)
    else:
        np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_transform_values(name):
    _assert_tree_close(_numpy(CASES[name](ember)), EXPECTED[name])


@pytest.mark.parametrize("name", CASES)
def test_transform_matches_pytorch(name):
    torch = torch_or_skip()
    _assert_tree_close(_numpy(CASES[name](ember)), _numpy(CASES[name](torch)))


def test_results_are_detached_outside_other_transforms():
    gradient, (value, aux) = ember.func.grad_and_value(lambda a: ((a**2).sum(), a * 2), has_aux=True)(
        ember.tensor([1.0, 2.0])
    )
    assert not (gradient.requires_grad or value.requires_grad or aux.requires_grad)


def test_grad_needs_a_scalar_output():
    with pytest.raises(
        RuntimeError, match="Expected f\\(\\*args\\) to return a scalar Tensor, got tensor with 1 dims"
    ):
        ember.func.grad(lambda a: a**2)(ember.tensor([1.0, 2.0]))


def test_functional_call_strict_and_tied_weights():
    layer = ember.nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match="Unexpected key\\(s\\): 'foo'.\n\tMissing key\\(s\\): 'bias'."):
        ember.func.functional_call(
            layer, {"weight": ember.ones(2, 2), "foo": ember.ones(1)}, ember.ones(2), strict=True
        )

    class Tied(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.first = ember.nn.Linear(2, 2, bias=False)
            self.second = ember.nn.Linear(2, 2, bias=False)
            self.second.weight = self.first.weight

        def forward(self, x):
            return self.second(self.first(x))

    out = ember.func.functional_call(Tied(), {"first.weight": ember.eye(2) * 2}, ember.ones(2))
    np.testing.assert_allclose(out.detach().numpy(), [4.0, 4.0])


def test_stack_module_state_for_an_ensemble():
    models = [ember.nn.Linear(3, 2) for _ in range(4)]
    params, buffers = ember.func.stack_module_state(models)
    assert params["weight"].shape == (4, 2, 3) and buffers == {}
    x = ember.ones(5, 3)
    out = ember.func.vmap(lambda p, xx: ember.func.functional_call(models[0], p, (xx,)), in_dims=(0, None))(
        params, x
    )
    for i, model in enumerate(models):
        np.testing.assert_allclose(out[i].detach().numpy(), model(x).detach().numpy(), rtol=1e-6)
