"""The fused NN kernels on the device (issue 18): each op's forward and gradients with the fused
kernels on, against the same op with ``fused.disabled()`` on the device (the composite path), and
against the CPU. Under the stand-in the fused path runs the references; on a real GPU, the CuPy
kernels (float32 accumulation in a different order than the composite: hence the tolerances)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.backend import fused

from .conftest import host

FAMILIES = {
    "softmax": ("forward", "backward"),
    "cross_entropy": ("forward", "backward"),
    "norm": ("layer_forward", "layer_backward", "batch_forward", "batch_backward"),
    "gelu": ("forward", "backward"),
    "attention": ("masked_softmax", "masked_softmax_backward"),
}


@pytest.fixture
def ran(monkeypatch):
    """The names of the fused kernels that ran (each reference and CUDA builder wrapped)."""
    import importlib

    names = []
    monkeypatch.setattr(fused, "_built", {})
    for family, functions in FAMILIES.items():
        module = importlib.import_module(f"ember.backend.fused.{family}")
        for function in functions:
            full = f"{family}.{function}"
            monkeypatch.setattr(module, function, _recording(getattr(module, function), full, names))
            builder = getattr(module, f"build_{function}")
            monkeypatch.setattr(
                module, f"build_{function}", lambda cupy, b=builder, n=full: _recording(b(cupy), n, names)
            )
    return names


def _recording(fn, name, names):
    def run(*args, **kwargs):
        names.append(name)
        return fn(*args, **kwargs)

    return run


def _run(fn, arrays, device, dtype=ember.float32):
    """Outputs and input gradients of ``fn`` on ``device``, under a fixed random output weighting."""
    tensors = []
    for a in arrays:
        floating = a.dtype.kind == "f"
        t = ember.tensor(a, dtype=dtype if floating else None, device=device)
        tensors.append(t.requires_grad_() if floating else t)
    out = fn(*tensors)
    outs = out if isinstance(out, tuple) else (out,)
    rng = np.random.default_rng(99)
    loss = sum(
        (o * ember.tensor(rng.standard_normal(o.shape), dtype=o.dtype, device=device)).sum() for o in outs
    )
    loss.backward()
    return [host(o) for o in outs] + [host(t.grad) for t in tensors if t.grad is not None]


def check(device, ran, fn, arrays, kernels, dtype=ember.float32, rtol=1e-4, atol=2e-5):
    """Fused on the device == composite on the device == CPU, and the fused kernels ran."""
    on = _run(fn, arrays, device, dtype)
    assert set(kernels) <= set(ran), f"fused kernels {kernels} did not all run: {ran}"
    ran.clear()
    with fused.disabled():
        off = _run(fn, arrays, device, dtype)
    assert not ran, f"kernels ran with fused.disabled(): {ran}"
    cpu = _run(fn, arrays, "cpu", dtype)
    assert len(on) == len(off) == len(cpu)
    for i, (a, b, c) in enumerate(zip(on, off, cpu)):
        assert a.shape == b.shape == c.shape and a.dtype == b.dtype == c.dtype, f"result {i}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"result {i}: fused vs composite")
        np.testing.assert_allclose(a, c, rtol=rtol, atol=atol, err_msg=f"result {i}: fused vs CPU")


def _normal(*shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


ROWS = [1, 7, 1000, 4097]
SOFTMAX = ["softmax.forward", "softmax.backward"]


@pytest.mark.parametrize("n", ROWS)
@pytest.mark.parametrize("log", [False, True])
def test_softmax(device, ran, n, log):
    check(
        device, ran, lambda x: x.log_softmax(-1) if log else x.softmax(-1), [_normal(3, n, scale=3)], SOFTMAX
    )


@pytest.mark.parametrize("log", [False, True])
def test_softmax_along_another_dim_and_of_a_transposed_input(device, ran, log):
    def fn(x):
        y = x.mT  # non-contiguous
        return (y.log_softmax(1) if log else y.softmax(1)) + (x.log_softmax(0) if log else x.softmax(0)).mT

    check(device, ran, fn, [_normal(2, 9, 5)], SOFTMAX)


def test_softmax_float64_and_float16(device, ran):
    check(
        device,
        ran,
        lambda x: x.softmax(-1),
        [_normal(4, 33)],
        SOFTMAX,
        dtype=ember.float64,
        rtol=1e-10,
        atol=1e-12,
    )
    check(
        device,
        ran,
        lambda x: x.softmax(-1),
        [_normal(4, 33)],
        SOFTMAX,
        dtype=ember.float16,
        rtol=1e-2,
        atol=2e-3,
    )


CE = ["cross_entropy.forward", "cross_entropy.backward"]


@pytest.mark.parametrize("n", ROWS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy(device, ran, n, reduction):
    rng = np.random.default_rng(n)
    target = rng.integers(0, n, 6)
    target[1] = -100

    def fn(x):
        return F.cross_entropy(x, ember.tensor(target, device=x.device), reduction=reduction)

    check(device, ran, fn, [_normal(6, n, scale=2)], CE)


@pytest.mark.parametrize("n", [7, 1000])
def test_cross_entropy_with_class_weights_and_ignore_index(device, ran, n):
    rng = np.random.default_rng(1)
    target = rng.integers(0, n, 9)
    target[:3] = 2

    def fn(x, w):
        return F.cross_entropy(
            x.mT.mT, ember.tensor(target, device=x.device), weight=w.detach(), ignore_index=2
        )

    check(device, ran, fn, [_normal(9, n), rng.uniform(0.5, 2.0, n)], CE)


def test_cross_entropy_with_every_row_ignored_is_nan_as_in_pytorch(device, ran):
    target = np.full(4, -100)
    fn = lambda x: F.cross_entropy(x, ember.tensor(target, device=x.device))  # noqa: E731
    out = _run(fn, [_normal(4, 5)], device)
    assert np.isnan(out[0]) and np.isnan(out[1]).all()


LAYER = ["norm.layer_forward", "norm.layer_backward"]
BATCH = ["norm.batch_forward", "norm.batch_backward"]


@pytest.mark.parametrize("n", ROWS)
def test_layer_norm(device, ran, n):
    fn = lambda x, w, b: F.layer_norm(x, (n,), w, b)  # noqa: E731
    check(device, ran, fn, [_normal(5, n, scale=2) + 1, _normal(n, seed=1), _normal(n, seed=2)], LAYER)


def test_layer_norm_over_two_dims_of_a_transposed_input_and_without_affine(device, ran):
    check(
        device,
        ran,
        lambda x, w: F.layer_norm(x.mT, (3, 7), w),
        [_normal(2, 7, 3), _normal(3, 7, seed=1)],
        LAYER,
    )
    check(device, ran, lambda x: F.layer_norm(x, (7,)), [_normal(4, 7)], LAYER)


def test_instance_norm_without_affine_runs_the_layer_kernel(device, ran):
    check(device, ran, lambda x: F.instance_norm(x), [_normal(2, 3, 4, 5)], LAYER)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 7), (2, 5, 6, 6), (3, 2, 1000)])
def test_batch_norm(device, ran, shape):
    channels = shape[1]

    def fn(x, w, b):
        return F.batch_norm(x, None, None, w, b, training=True)

    check(
        device,
        ran,
        fn,
        [_normal(*shape) * 2 + 1, _normal(channels, seed=1), _normal(channels, seed=2)],
        BATCH,
    )


def test_batch_norm_updates_running_stats_and_runs_on_transposed_input(device, ran):
    def fn(x):
        mean = ember.zeros(4, device=x.device)
        var = ember.ones(4, device=x.device)
        out = F.batch_norm(x.transpose(1, 2), mean, var, training=True)
        return out, mean * 1.0, var * 1.0

    check(device, ran, fn, [_normal(3, 5, 4)], BATCH)


def test_group_norm_keeps_its_existing_path(device, ran):
    out = _run(lambda x, w, b: F.group_norm(x, 2, w, b), [_normal(2, 4, 3), _normal(4), _normal(4)], device)
    cpu = _run(lambda x, w, b: F.group_norm(x, 2, w, b), [_normal(2, 4, 3), _normal(4), _normal(4)], "cpu")
    for a, c in zip(out, cpu):
        np.testing.assert_allclose(a, c, rtol=1e-4, atol=2e-5)


GELU = ["gelu.forward", "gelu.backward"]


@pytest.mark.parametrize("shape", [(1,), (7,), (1000,), (3, 4097)])
def test_gelu(device, ran, shape):
    check(device, ran, F.gelu, [_normal(*shape, scale=3)], GELU)


def test_gelu_of_a_transposed_input_and_in_float64_and_float16(device, ran):
    check(device, ran, lambda x: F.gelu(x.mT), [_normal(5, 9, scale=3)], GELU)
    check(device, ran, F.gelu, [_normal(40, scale=3)], GELU, dtype=ember.float64, rtol=1e-10, atol=1e-12)
    check(device, ran, F.gelu, [_normal(40, scale=3)], GELU, dtype=ember.float16, rtol=1e-2, atol=2e-3)


ATTENTION = ["attention.masked_softmax", "attention.masked_softmax_backward"]


def _qkv(batch, length, source, width, seed=0):
    return [_normal(*batch, length, width, seed=seed), _normal(*batch, source, width, seed=seed + 1),
            _normal(*batch, source, width, seed=seed + 2)]  # fmt: skip


@pytest.mark.parametrize("sizes", [(1, 1), (7, 7), (5, 1000), (3, 4097)])
@pytest.mark.parametrize("causal", [False, True])
def test_attention(device, ran, sizes, causal):
    length, source = sizes
    fn = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # noqa: E731
    check(device, ran, fn, _qkv((2,), length, source, 8), ATTENTION)


@pytest.mark.parametrize("kind", ["bool", "float", "key padding", "all masked row"])
def test_attention_with_a_mask(device, ran, kind):
    rng = np.random.default_rng(3)
    if kind == "bool":
        mask = rng.random((6, 7)) < 0.7
        mask[:, 0] = True
    elif kind == "float":
        mask = rng.standard_normal((2, 3, 6, 7))
    elif kind == "key padding":
        mask = np.arange(7)[None, None, None, :] < np.array([3, 7])[:, None, None, None]
    else:
        mask = rng.random((6, 7)) < 0.5
        mask[2] = False

    def fn(q, k, v):
        m = ember.tensor(mask, device=q.device, dtype=None if mask.dtype == bool else q.dtype)
        return F.scaled_dot_product_attention(q.transpose(1, 2).transpose(1, 2), k, v, attn_mask=m, scale=0.3)

    check(device, ran, fn, _qkv((2, 3), 6, 7, 4), ATTENTION)
