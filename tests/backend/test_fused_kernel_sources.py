"""The CUDA kernels of the fused optimizer steps and embedding backward, run on the CPU.

No GPU is needed: ``_kernel_emulator`` compiles each kernel's CUDA C with the host compiler and
drives it through the very launcher ``build_*`` returns (pointer tables, chunks, argument types).
Each must give the reference's bits. A real GPU runs them in ``tests/cuda/test_fused_optim.py``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ember.backend.fused import embedding as fused_embedding
from ember.backend.fused import optim as fused_optim
from tests.backend._kernel_emulator import COMPILER, fake_cupy, on_device

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(COMPILER is None, reason="needs a C++ compiler (g++) to run the CUDA sources"),
]

SHAPES = [(5, 3), (7,), (2, 2, 2), (1,), (0,), (150,)]
STEPS = 4


@pytest.fixture(scope="module")
def cupy(tmp_path_factory):
    return fake_cupy(tmp_path_factory.mktemp("kernels"))


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(fused_optim, "CHUNK", 64)  # tensors of several chunks, as large ones are


def _data(dtype):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(STEPS)]
    return params, grads


def _run_both(reference, kernel, names, dtype, arguments):
    params, grads = _data(dtype)
    on_host = fused_optim.TensorLists(
        [p.copy() for p in params], {k: [np.zeros_like(p) for p in params] for k in names}
    )
    on_gpu = fused_optim.TensorLists(
        [on_device(p) for p in params], {k: [on_device(np.zeros_like(p)) for p in params] for k in names}
    )
    for i, step_grads in enumerate(grads):
        on_host.grads = [g.copy() for g in step_grads]
        on_gpu.grads = [on_device(g) for g in step_grads]
        reference(on_host, **arguments(i))
        kernel(on_gpu, **arguments(i))
    for lists_name in ["params"] + list(names):
        want = on_host.params if lists_name == "params" else on_host.states[lists_name]
        got = on_gpu.params if lists_name == "params" else on_gpu.states[lists_name]
        for w, g in zip(want, got):
            np.testing.assert_array_equal(np.asarray(g), w, err_msg=lists_name)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sgd_kernel_gives_the_reference_bits(dtype, cupy, small_chunks):
    kernel = fused_optim.build_sgd_step(cupy)
    for momentum, dampening, wd, nesterov, maximize in itertools.product(
        (0.0, 0.9), (0.0, 0.3), (0.0, 0.01), (False, True), (False, True)
    ):
        if nesterov and (momentum == 0 or dampening != 0):
            continue
        names = ("momentum_buffer",) if momentum else ()
        options = dict(
            momentum=momentum, dampening=dampening, weight_decay=wd, nesterov=nesterov, maximize=maximize
        )
        _run_both(
            fused_optim.sgd_step,
            kernel,
            names,
            dtype,
            lambda i, options=options: dict(options, lr=0.1 if i < 2 else 0.03, fresh=i == 0),
        )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adam_kernel_gives_the_reference_bits(dtype, cupy, small_chunks):
    kernel = fused_optim.build_adam_step(cupy)
    for amsgrad, wd, maximize, betas, decoupled in itertools.product(
        (False, True), (0.0, 0.05), (False, True), ((0.9, 0.999), (0.3, 0.5)), (False, True)
    ):
        names = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
        options = dict(
            beta1=betas[0], beta2=betas[1], eps=1e-6, weight_decay=wd, amsgrad=amsgrad, maximize=maximize,
            decoupled=decoupled,
        )  # fmt: skip
        _run_both(
            fused_optim.adam_step,
            kernel,
            names,
            dtype,
            lambda i, options=options: dict(options, lr=0.01 if i < 2 else 0.003, step=float(i + 1)),
        )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("padding_idx", [None, 0, 3])
def test_embedding_kernel_gives_the_reference_bits(padding_idx, dtype, cupy):
    rng = np.random.default_rng(1)
    indices = rng.integers(0, 6, (5, 7))
    grad = rng.standard_normal((5, 7, 4)).astype(dtype)
    kernel = fused_embedding.build_embedding_backward(cupy)
    got = kernel(on_device(grad), on_device(indices), 8, padding_idx)
    want = fused_embedding.embedding_backward(grad, indices, 8, padding_idx)
    np.testing.assert_array_equal(np.asarray(got), want)


def test_embedding_kernel_sums_float16_in_float32(cupy):
    rng = np.random.default_rng(2)
    indices = rng.integers(0, 3, (40,))  # long runs: float16 sums would drift
    grad = rng.standard_normal((40, 4)).astype("float16")
    got = fused_embedding.build_embedding_backward(cupy)(on_device(grad), on_device(indices), 4, None)
    assert got.dtype == np.float16
    want = fused_embedding.embedding_backward(grad.astype("float32"), indices, 4, None).astype("float16")
    np.testing.assert_array_equal(np.asarray(got), want)
