"""Less common factories, layouts, autocast and GradScaler, and other top-level odds and ends."""

import warnings

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip


def test_range_is_inclusive_and_deprecated():
    torch = torch_or_skip()
    with pytest.warns(UserWarning, match="deprecated"):
        ours = ember.range(1, 2.5, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.range(1, 2.5, 0.5)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())
    assert ours.dtype == ember.float32


def test_empty_strided_frombuffer_from_file_to_dlpack(tmp_path):
    assert ember.empty_strided((2, 3), (1, 2)).stride() == (1, 2)
    buffer = bytearray(np.arange(4, dtype=np.float32).tobytes())
    shared = ember.frombuffer(buffer, dtype=ember.float32)
    shared.add_(1)
    assert np.frombuffer(buffer, dtype=np.float32).tolist() == [1.0, 2.0, 3.0, 4.0]
    path = tmp_path / "values.bin"
    np.arange(6, dtype=np.float64).tofile(path)
    assert ember.from_file(str(path), size=6, dtype=ember.float64).tolist() == list(range(6))
    x = ember.arange(3.0)
    assert ember.from_dlpack(x).data_ptr() == x.data_ptr()
    assert ember.to_dlpack(x) is not None


def test_layouts_and_memory_formats():
    x = ember.ones(2)
    assert x.layout == ember.strided and x.layout == "strided" and repr(ember.strided) == "ember.strided"
    assert isinstance(ember.channels_last, ember.memory_format)
    assert x.contiguous(memory_format=ember.contiguous_format) is x


def test_autocast_lowers_cpu_matmul_and_a_cuda_region_leaves_cpu_tensors():
    x = ember.ones(2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ember.autocast("cpu", dtype=ember.bfloat16):
            y = x @ x
    # PyTorch's: matmul is on autocast's lower-precision list
    assert y.dtype == ember.bfloat16
    assert y.float().tolist() == [[2.0, 2.0], [2.0, 2.0]]

    @ember.autocast("cuda")
    def f(t):
        return t + 1

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert f(x).dtype == ember.float32


def test_grad_scaler_scales_unscales_and_skips_overflowing_steps():
    w = ember.nn.Parameter(ember.tensor([1.0, 2.0]))
    opt = ember.optim.SGD([w], lr=0.1)
    scaler = ember.GradScaler("cpu", init_scale=8.0, growth_interval=1)
    loss = (w * w).sum()
    scaler.scale(loss).backward()
    assert w.grad.tolist() == [16.0, 32.0]
    scaler.step(opt)
    scaler.update()
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 1.6])
    assert scaler.get_scale() == 16.0
    opt.zero_grad()
    w.grad = ember.tensor([float("inf"), 0.0])
    scaler.step(opt)
    scaler.update()
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 1.6])  # the step was skipped
    assert scaler.get_scale() == 8.0


def test_grad_scaler_disables_itself_for_cuda_without_a_gpu():
    if ember.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.warns(UserWarning, match="CUDA is not available"):
        scaler = ember.cuda.amp.GradScaler()
    loss = ember.tensor(2.0)
    assert scaler.scale(loss) is loss and not scaler.is_enabled()


def test_anomaly_switches_binomial_histogramdd_fill():
    ember.set_anomaly_enabled(True)
    try:
        assert ember.is_anomaly_enabled() and ember.is_anomaly_check_nan_enabled()
    finally:
        ember.set_anomaly_enabled(False)
    assert not ember.is_anomaly_enabled()
    draws = ember.binomial(ember.full((1000,), 10.0), ember.full((1000,), 0.3))
    assert 2.5 < draws.mean().item() < 3.5 and draws.max().item() <= 10
    points = np.random.default_rng(0).normal(size=(50, 2))
    hist, edges = ember.histogramdd(ember.tensor(points), bins=4)
    ref_hist, ref_edges = np.histogramdd(points, bins=4)
    np.testing.assert_allclose(hist.numpy(), ref_hist)
    np.testing.assert_allclose(edges[1].numpy(), ref_edges[1])
    assert ember.fill(ember.zeros(2), 7.0).tolist() == [7.0, 7.0]
