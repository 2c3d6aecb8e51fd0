"""The multi-tensor optimizer references and the embedding backward reference, on NumPy.

``ember.backend.fused.optim``'s references (what the CUDA stand-in runs, and the oracle of the
CUDA kernels) against each optimizer's own per-parameter ``update`` (``foreach=False``): same
arithmetic in the same order, so the same bits, over many steps and every option.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import ember
from ember.backend.fused import embedding as fused_embedding
from ember.backend.fused import optim as fused_optim

SHAPES = [(5, 3), (7,), (2, 2, 2), (1,), (0,)]
STEPS = 12


def _start(dtype, seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(STEPS)]
    return params, grads


def _run_optimizer(name, kwargs, params, grads, lrs):
    tensors = [ember.tensor(p.copy(), requires_grad=True) for p in params]
    opt = getattr(ember.optim, name)(tensors, foreach=False, **kwargs)
    history = []
    for step_grads, lr in zip(grads, lrs):
        opt.param_groups[0]["lr"] = lr
        for t, g in zip(tensors, step_grads):
            t.grad = ember.tensor(g.copy())
        opt.step()
        history.append([t.detach().numpy().copy() for t in tensors])
    return history


def _lrs(base):
    return [base if i < STEPS // 2 else base * 0.3 for i in range(STEPS)]  # lr changed mid-run


SGD_OPTIONS = [
    dict(momentum=m, dampening=d, weight_decay=wd, nesterov=n, maximize=mx)
    for m, d, wd, n, mx in itertools.product(
        (0.0, 0.9), (0.0, 0.3), (0.0, 0.01), (False, True), (False, True)
    )
    if not (n and (m == 0 or d != 0))
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("options", SGD_OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_sgd_reference_is_sgd_update_bit_for_bit(options, dtype):
    params, grads = _start(dtype)
    lrs = _lrs(0.1)
    expected = _run_optimizer("SGD", dict(options, lr=0.1), params, grads, lrs)
    arrays = [p.copy() for p in params]
    states = {"momentum_buffer": [np.zeros_like(p) for p in params]} if options["momentum"] else {}
    lists = fused_optim.TensorLists(arrays, states)
    for i, (step_grads, lr) in enumerate(zip(grads, lrs)):
        lists.grads = [g.copy() for g in step_grads]
        fused_optim.sgd_step(lists, lr=lr, fresh=i == 0, **options)
        for got, want in zip(arrays, expected[i]):
            np.testing.assert_array_equal(got, want, err_msg=f"step {i + 1}")


ADAM_OPTIONS = [
    dict(amsgrad=a, weight_decay=wd, maximize=mx, betas=b)
    for a, wd, mx, b in itertools.product(
        (False, True), (0.0, 0.05), (False, True), ((0.9, 0.999), (0.3, 0.5), (0.6, 0.9))
    )
]


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("options", ADAM_OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_adam_reference_is_adam_update_bit_for_bit(name, options, dtype):
    params, grads = _start(dtype, seed=1)
    lrs = _lrs(0.01)
    expected = _run_optimizer(name, dict(options, lr=0.01, eps=1e-6), params, grads, lrs)
    arrays = [p.copy() for p in params]
    zeros = lambda: [np.zeros_like(p) for p in params]  # noqa: E731
    states = {"exp_avg": zeros(), "exp_avg_sq": zeros()}
    if options["amsgrad"]:
        states["max_exp_avg_sq"] = zeros()
    lists = fused_optim.TensorLists(arrays, states)
    beta1, beta2 = options["betas"]
    for i, (step_grads, lr) in enumerate(zip(grads, lrs)):
        lists.grads = [g.copy() for g in step_grads]
        fused_optim.adam_step(
            lists,
            lr=lr,
            beta1=beta1,
            beta2=beta2,
            eps=1e-6,
            weight_decay=options["weight_decay"],
            step=float(i + 1),
            amsgrad=options["amsgrad"],
            maximize=options["maximize"],
            decoupled=name == "AdamW",
        )
        for got, want in zip(arrays, expected[i]):
            np.testing.assert_array_equal(got, want, err_msg=f"step {i + 1}")


def test_the_references_leave_the_gradients_alone():
    params, grads = _start("float32")
    lists = fused_optim.TensorLists(params, {"exp_avg": [np.zeros_like(p) for p in params]})
    lists.states["exp_avg_sq"] = [np.zeros_like(p) for p in params]
    lists.grads = [g.copy() for g in grads[0]]
    fused_optim.adam_step(
        lists, lr=0.1, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.1, step=1.0, amsgrad=False,
        maximize=True, decoupled=False,
    )  # fmt: skip
    fused_optim.sgd_step(
        lists,
        lr=0.1,
        momentum=0.0,
        dampening=0.0,
        weight_decay=0.1,
        nesterov=False,
        maximize=True,
        fresh=True,
    )
    for got, want in zip(lists.grads, grads[0]):
        np.testing.assert_array_equal(got, want)


def _embedding_grad_by_loop(grad, indices, rows, padding_idx):
    dim = grad.shape[-1]
    out = np.zeros((rows, dim), grad.dtype)
    for position, row in enumerate(indices.reshape(-1)):
        if row != padding_idx:
            out[row] += grad.reshape(-1, dim)[position]
    return out


@pytest.mark.parametrize("padding_idx", [None, 0, 3])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_embedding_backward_reference_sums_repeated_rows_and_skips_padding(padding_idx, dtype):
    rng = np.random.default_rng(2)
    indices = rng.integers(0, 6, (5, 7))  # six rows over 35 positions: every row repeats
    indices[0, :3] = 3
    grad = rng.standard_normal((5, 7, 4)).astype(dtype)
    got = fused_embedding.embedding_backward(grad, indices, 8, padding_idx)
    want = _embedding_grad_by_loop(grad, indices, 8, padding_idx)
    assert got.dtype == grad.dtype and got.shape == (8, 4)
    np.testing.assert_array_equal(got, want)
    if padding_idx is not None:
        assert not got[padding_idx].any()
    assert not got[6:].any()  # rows never picked


def test_embedding_backward_reference_matches_the_cpu_embedding_gradient():
    rng = np.random.default_rng(3)
    indices = rng.integers(0, 10, (64, 40))  # large enough for the CPU's sorted row adder
    weight = ember.tensor(rng.standard_normal((10, 16)), requires_grad=True)
    out = ember.nn.functional.embedding(ember.tensor(indices), weight, padding_idx=4)
    grad = rng.standard_normal(out.shape)
    out.backward(ember.tensor(grad))
    got = fused_embedding.embedding_backward(grad, indices, 10, 4)
    np.testing.assert_allclose(got, weight.grad.numpy(), rtol=1e-12, atol=1e-12)
