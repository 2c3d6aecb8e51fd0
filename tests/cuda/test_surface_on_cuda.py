"""Functions outside the op table run on "cuda" and keep their results there."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import ember
import ember.nn.functional as F

D = "cuda"


def _x():
    return ember.randn(4, 5, device=D)


def _with_grad():
    p = ember.nn.Parameter(ember.ones(3, device=D))
    p.grad = ember.full((3,), 2.0, device=D)
    return p


CASES = {
    "repr": lambda: repr(ember.randn(20, 20, device=D)),
    "tensor_of_a_cuda_tensor": lambda: ember.tensor(_x(), device=D),
    "stack": lambda: ember.stack([_x(), _x()]),
    "boolean_mask": lambda: _x()[ember.ones(4, 5, dtype=ember.bool, device=D)],
    "where": lambda: ember.where(_x() > 0, _x(), 0.0),
    "sort": lambda: _x().sort(1)[0],
    "topk": lambda: _x().topk(2)[1],
    "nonzero": lambda: _x().nonzero(),
    "median": lambda: _x().median(),
    "kthvalue": lambda: _x().kthvalue(2)[0],
    "multinomial": lambda: ember.multinomial(ember.ones(4, device=D), 2),
    "randperm": lambda: ember.randperm(5, device=D),
    "arange": lambda: ember.arange(5, device=D),
    "linspace": lambda: ember.linspace(0, 1, 5, device=D),
    "eye": lambda: ember.eye(3, device=D),
    "randint": lambda: ember.randint(0, 5, (3,), device=D),
    "rand_like": lambda: ember.rand_like(_x()),
    "normal_tensors": lambda: ember.normal(ember.zeros(3, device=D), ember.ones(3, device=D)),
    "bernoulli": lambda: ember.bernoulli(ember.full((3,), 0.5, device=D)),
    "poisson": lambda: ember.poisson(ember.ones(3, device=D)),
    "in_place_random": lambda: ember.zeros(3, device=D).exponential_(),
    "init_kaiming": lambda: ember.nn.init.kaiming_uniform_(ember.empty(3, 4, device=D)),
    "init_orthogonal": lambda: ember.nn.init.orthogonal_(ember.empty(3, 3, device=D)),
    "init_trunc_normal": lambda: ember.nn.init.trunc_normal_(ember.empty(3, device=D)),
    "init_sparse": lambda: ember.nn.init.sparse_(ember.empty(3, 3, device=D), 0.5),
    "clip_grad_norm": lambda: ember.nn.utils.clip_grad_norm_([_with_grad()], 1.0),
    "spectral_norm": lambda: ember.nn.utils.spectral_norm(ember.nn.Linear(3, 3).to(D))(
        ember.ones(1, 3, device=D)
    ),
    "parameters_to_vector": lambda: ember.nn.utils.parameters_to_vector(
        ember.nn.Linear(3, 3).to(D).parameters()
    ),
    "pad_sequence": lambda: ember.nn.utils.rnn.pad_sequence(
        [ember.ones(2, device=D), ember.ones(3, device=D)]
    ),
    "collate": lambda: ember.utils.data.default_collate([_x()[0], _x()[1]]),
    "new_tensor": lambda: _x().new_tensor([1, 2]),
    "as_tensor": lambda: ember.as_tensor(np.ones(3), device=D),
    "index_with_list": lambda: _x()[[0, 2]],
    "scatter_add": lambda: ember.zeros(4, 5, device=D).scatter_add(
        0, ember.zeros(4, 5, dtype=ember.int64, device=D), _x()
    ),
    "index_add": lambda: ember.zeros(4, 5, device=D).index_add(0, ember.tensor([0, 0, 1, 1], device=D), _x()),
    "one_hot": lambda: F.one_hot(ember.tensor([1, 2], device=D), 4),
    "dropout": lambda: F.dropout(_x(), 0.5, training=True),
    "interpolate": lambda: F.interpolate(ember.randn(1, 1, 4, 4, device=D), scale_factor=2),
    "causal_attention": lambda: F.scaled_dot_product_attention(
        *(ember.randn(1, 2, 4, 8, device=D) for _ in range(3)), is_causal=True
    ),
    "ctc_loss": lambda: F.ctc_loss(
        ember.randn(6, 2, 5, device=D).log_softmax(2),
        ember.tensor([[1, 2], [3, 3]], device=D),
        [6, 5],
        [2, 2],
    ),
    "embedding_max_norm": lambda: ember.nn.Embedding(5, 3, max_norm=1.0).to(D)(
        ember.tensor([1, 2], device=D)
    ),
    "deepcopy_module": lambda: next(copy.deepcopy(ember.nn.Linear(2, 2).to(D)).parameters()),
    "weighted_sampler_cuda_weights": lambda: list(
        ember.utils.data.WeightedRandomSampler(ember.ones(3, device=D), 2)
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_runs_on_cuda(name, device):
    result = CASES[name]()
    if isinstance(result, ember.Tensor):
        assert result.is_cuda, f"{name}: result on {result.device}"


def test_python_values_of_cuda_tensors(device):
    x = ember.tensor([[1.5, -2.0]], device=device)
    assert x.tolist() == [[1.5, -2.0]] and x[0, 0].item() == 1.5 and float(x.sum()) == -0.5
    assert int(x.argmax()) == 0 and bool((x > 1).any()) and f"{x.sum():.1f}" == "-0.5"
    assert len(x) == 1 and [r.is_cuda for r in x] == [True] and ember.equal(x, x)
    assert x.numpy(force=True).tolist() == [[1.5, -2.0]]
    unpickled = pickle.loads(pickle.dumps(x))
    assert unpickled.tolist() == [[1.5, -2.0]] and unpickled.device == x.device


@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_with_reduce_and_repeated_indices_matches_cpu(reduce, device):
    index = [[0, 1, 0, 0], [2, 2, 2, 1]]
    results = []
    for where in ("cpu", device):
        src = ember.arange(1.0, 9.0, device=where).reshape(2, 4)
        base = ember.full((3, 4), 2.0, device=where)
        results.append(base.scatter(0, ember.tensor(index, device=where), src, reduce=reduce))
    assert results[1].is_cuda
    np.testing.assert_allclose(results[1].cpu().numpy(), results[0].numpy())
