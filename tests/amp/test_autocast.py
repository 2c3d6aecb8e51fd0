"""``ember.autocast``: PyTorch's op lists, one switch, a decorator, off by default."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.amp.autocast_mode import STATE


def _x(*shape, requires_grad=False):
    return ember.randn(*shape, requires_grad=requires_grad)


def test_cpu_lists_match_pytorchs():
    """On the CPU, PyTorch's lists: products low, losses and prod float32, and softmax, the
    normalisations, sums and exp/log following their input (CUDA's longer float32 list is
    checked on the device, tests/cuda/test_amp_on_cuda.py)."""
    a, w = _x(4, 3, requires_grad=True), _x(2, 3, requires_grad=True)
    image, kernel = _x(1, 2, 5, 5), _x(3, 2, 3, 3)
    with ember.autocast("cpu", dtype=ember.float16):
        assert (a @ w.t()).dtype == ember.float16
        assert F.linear(a, w).dtype == ember.float16
        assert ember.bmm(_x(2, 3, 4), _x(2, 4, 5)).dtype == ember.float16
        assert F.conv2d(image, kernel).dtype == ember.float16
        low = a @ w.t()
        for follows in (low.softmax(1), F.log_softmax(low, 1), F.layer_norm(low, (2,)), low.sum(),
                        low.mean(), low.exp(), low.abs().log(), low.relu(), F.softplus(low)):  # fmt: skip
            assert follows.dtype == ember.float16
        assert low.prod().dtype == ember.float32
        assert F.cross_entropy(low, ember.tensor([0, 1, 0, 1])).dtype == ember.float32
        assert F.mse_loss(low, low.detach()).dtype == ember.float32
        assert F.l1_loss(low, low.detach()).dtype == ember.float32
        assert F.kl_div(low, low.detach(), reduction="batchmean").dtype == ember.float32
        assert (low + a[:, :2]).dtype == ember.float32  # promotes, as PyTorch's add does
    loss = F.linear(a, w).float().sum()
    loss.backward()
    assert a.grad.dtype == ember.float32 and w.grad.dtype == ember.float32


def test_off_by_default_disabled_and_nested():
    a = _x(2, 2)
    assert (a @ a).dtype == ember.float32 and not STATE.active
    with ember.autocast("cpu", dtype=ember.float16, enabled=False):
        assert (a @ a).dtype == ember.float32
    with ember.autocast("cpu", dtype=ember.float16):
        with ember.autocast("cpu", enabled=False):
            assert (a @ a).dtype == ember.float32
        assert (a @ a).dtype == ember.float16
    assert not STATE.active and (a @ a).dtype == ember.float32


def test_only_the_named_device_type_is_cast():
    a = _x(2, 2)
    with ember.autocast("cuda", dtype=ember.float16):
        assert (a @ a).dtype == ember.float32  # CPU tensors are not autocast by a cuda region


def test_decorator_and_other_spellings():
    @ember.autocast("cpu", dtype=ember.float16)
    def product(a):
        return a @ a

    assert product(_x(2, 2)).dtype == ember.float16
    assert ember.amp.autocast is ember.autocast
    assert issubclass(ember.cuda.amp.autocast, ember.autocast)


def test_each_thread_has_its_own_setting():
    seen = []
    inside, done = threading.Event(), threading.Event()

    def other():
        inside.wait()
        seen.append((_x(2, 2) @ _x(2, 2)).dtype)
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    with ember.autocast("cpu", dtype=ember.float16):
        inside.set()
        done.wait(10)
    thread.join()
    assert seen == [ember.float32]


def test_cuda_bfloat16_is_refused_with_a_warning_as_cupy_has_none():
    with pytest.warns(UserWarning, match="bfloat16"):
        region = ember.autocast("cuda", dtype=ember.bfloat16)
    assert not region.enabled


def test_bad_device_type():
    with pytest.raises(RuntimeError, match="device_type"):
        ember.autocast("tpu")


def test_results_close_to_float32():
    a, b = _x(8, 8), _x(8, 8)
    with ember.autocast("cpu", dtype=ember.float16):
        low = a @ b
    np.testing.assert_allclose(low.float().numpy(), (a @ b).numpy(), atol=2e-2, rtol=2e-2)


def test_composites_on_the_lists():
    a, b, c = _x(2, 2), _x(2, 3), _x(3, 2)
    with ember.autocast("cpu", dtype=ember.float16):
        assert ember.addmm(a, b, c).dtype == ember.float16 and a.addmm(b, c).dtype == ember.float16
        assert ember.baddbmm(_x(2, 2, 2), _x(2, 2, 3), _x(2, 3, 2)).dtype == ember.float16
        assert F.conv_transpose2d(_x(1, 2, 4, 4), _x(2, 3, 3, 3), bias=_x(3)).dtype == ember.float16
        assert F.conv1d(_x(1, 2, 8), _x(3, 2, 3)).dtype == ember.float16
        attention = ember.nn.MultiheadAttention(8, 2)
        assert attention(_x(3, 1, 8), _x(3, 1, 8), _x(3, 1, 8))[0].dtype == ember.float16
        assert F.prelu(_x(3), ember.ones(1)).dtype == ember.float16
        assert F.softplus(_x(3).half()).dtype == ember.float16  # on CUDA's float32 list only
    assert ember.addmm(a, b, c).dtype == ember.float32


def test_cpu_default_bfloat16_keeps_the_graph():
    """autocast("cpu") runs matrix products in bfloat16, a dtype NumPy files as 'V' (void): its
    results must still be recorded, or gradients would silently stop at the cast."""
    pytest.importorskip("ml_dtypes", reason="bfloat16 needs ml_dtypes (the test extra has it)")
    lin = ember.nn.Linear(6, 4)
    x = _x(3, 6)
    with ember.autocast("cpu"):
        out = lin(x)
    assert out.requires_grad and out.grad_fn is not None
    out.float().sum().backward()
    expected = ember.ones(3, 4).t() @ x  # d(sum(x W^T + b))/dW
    np.testing.assert_allclose(lin.weight.grad.numpy(), expected.numpy(), rtol=2e-2, atol=2e-2)
    np.testing.assert_allclose(lin.bias.grad.numpy(), np.full(4, 3.0), rtol=1e-2)
