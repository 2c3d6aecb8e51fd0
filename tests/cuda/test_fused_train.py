"""The training kernels on "cuda" (``backend/fused/{dropout,rnn,conv}.py``): each op with the fused
kernels on, with them off (``fused.disabled()``) and on the CPU, forward and gradients; and each
kernel against its NumPy reference directly. Under the stand-in the "kernel" is the reference
itself; on a GPU (``tools/gpu_check.sh``) these compare CuPy's kernels with the references, and
the dropout mask must match the reference bit for bit."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn
from ember.backend import fused
from ember.backend.fused import conv, dropout, rnn
from tests.cuda.conftest import assert_same, host


def _xp():
    return ember.backend.xp_of(ember.zeros(1, device="cuda")._data)


def _on_device(array):
    return ember.tensor(array, device="cuda")._data


def _host(array) -> np.ndarray:
    return np.asarray(ember.backend.to_device(array, "cpu"))


def _count_calls(monkeypatch, *names) -> list:
    """Wrap the device's kernels ``names``: the list returned records each call, by name."""
    calls = []
    for name in names:
        found = fused.kernel(_xp(), name)
        assert found is not None, f"no fused kernel {name} on cuda"
        key = next(k for k, v in fused._built.items() if v is found and k[1] == name)

        def counted(*args, _name=name, _found=found, **kwargs):
            calls.append(_name)
            return _found(*args, **kwargs)

        monkeypatch.setitem(fused._built, key, counted)
    return calls


def _run(fn, arrays, device, fused_on=True):
    tensors = [ember.tensor(a, device=device, requires_grad=True) for a in arrays]
    with contextlib.nullcontext() if fused_on else fused.disabled():
        out = fn(*tensors)
        outs = out if isinstance(out, tuple) else (out,)
        sum((o * o.detach().cos()).sum() for o in outs).backward()
    return list(outs) + [t.grad for t in tensors]


def _three_ways(fn, arrays, atol=1e-5, rtol=1e-4):
    on, off, cpu = _run(fn, arrays, "cuda"), _run(fn, arrays, "cuda", False), _run(fn, arrays, "cpu")
    for k, (a, b, c) in enumerate(zip(on, off, cpu)):
        assert_same(a, c, atol=atol, rtol=rtol, what=f"fused vs cpu, result {k}")
        assert_same(a, b, atol=atol, rtol=rtol, what=f"fused vs composite, result {k}")


# -- recurrent layers ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_recurrent_layers_fused_match_composite_and_cpu(device, monkeypatch, name):
    ember.manual_seed(0)
    layer = getattr(nn, name)(3, 5, num_layers=2, bidirectional=True)
    x = np.random.default_rng(0).uniform(-1, 1, (6, 2, 3)).astype(np.float32)
    gates = f"rnn.{name.lower()}_gates"
    calls = _count_calls(monkeypatch, gates, gates + "_backward")

    def run(t):
        moved = layer.to(t.device.type)
        for p in moved.parameters():
            p.grad = None
        return moved(t)[0]

    _three_ways(run, [x])
    assert gates in calls and gates + "_backward" in calls


def test_lstm_gate_kernels_match_the_reference(device):
    rng = np.random.default_rng(1)
    b, h = 5, 7
    arrays = [rng.uniform(-2, 2, s).astype(np.float32) for s in [(b, 4 * h), (b, 4 * h), (b, h)]]
    outs = [np.empty(s, np.float32) for s in [(b, 4 * h), (b, h), (b, h), (b, h)]]
    rnn.lstm_gates(*arrays, *outs)
    d_outs = [_on_device(np.zeros_like(o)) for o in outs]
    fused.kernel(_xp(), "rnn.lstm_gates")(*(_on_device(a) for a in arrays), *d_outs)
    for ref, got in zip(outs, d_outs):
        np.testing.assert_allclose(_host(got), ref, rtol=1e-5, atol=1e-6)
    dh, dc = rng.uniform(-1, 1, (b, h)).astype(np.float32), rng.uniform(-1, 1, (b, h)).astype(np.float32)
    acts, _, tanh_c, _ = outs
    dgates, dc_ref = np.empty((b, 4 * h), np.float32), dc.copy()
    rnn.lstm_gates_backward(dh, dc_ref, acts, tanh_c, arrays[2], dgates)
    d_dgates, d_dc = _on_device(np.zeros_like(dgates)), _on_device(dc)
    step = fused.kernel(_xp(), "rnn.lstm_gates_backward")
    step(_on_device(dh), d_dc, _on_device(acts), _on_device(tanh_c), _on_device(arrays[2]), d_dgates)
    np.testing.assert_allclose(_host(d_dgates), dgates, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_host(d_dc), dc_ref, rtol=1e-5, atol=1e-6)


def test_gru_gate_kernels_match_the_reference(device):
    rng = np.random.default_rng(2)
    b, h = 5, 7
    gx, gh, h_prev = (rng.uniform(-2, 2, s).astype(np.float32) for s in [(b, 3 * h), (b, 3 * h), (b, h)])
    acts, out = np.empty((b, 3 * h), np.float32), np.empty((b, h), np.float32)
    rnn.gru_gates(gx, gh, h_prev, acts, out)
    d_acts, d_out = _on_device(np.zeros_like(acts)), _on_device(np.zeros_like(out))
    fused.kernel(_xp(), "rnn.gru_gates")(_on_device(gx), _on_device(gh), _on_device(h_prev), d_acts, d_out)
    np.testing.assert_allclose(_host(d_acts), acts, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_host(d_out), out, rtol=1e-5, atol=1e-6)
    dh = rng.uniform(-1, 1, (b, h)).astype(np.float32)
    refs = [np.empty((b, 3 * h), np.float32), np.empty((b, 3 * h), np.float32), np.empty((b, h), np.float32)]
    rnn.gru_gates_backward(dh, acts, gh, h_prev, *refs)
    got = [_on_device(np.zeros_like(r)) for r in refs]
    step = fused.kernel(_xp(), "rnn.gru_gates_backward")
    step(_on_device(dh), _on_device(acts), _on_device(gh), _on_device(h_prev), *got)
    for ref, g in zip(refs, got):
        np.testing.assert_allclose(_host(g), ref, rtol=1e-5, atol=1e-6)


# -- dropout ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,p", [((1000,), 0.5), ((7, 33, 5), 0.1), ((64, 300), 0.9)])
def test_dropout_kernel_mask_equals_the_reference_bit_for_bit(device, shape, p):
    seed, offset = 0x1234_5678_9ABC, 77
    x = np.random.default_rng(3).uniform(-1, 1, shape).astype(np.float32)
    out, mask = fused.kernel(_xp(), "dropout.dropout")(_on_device(x), p, seed, offset)
    expected = dropout.keep_mask(np, shape, p, seed, offset)
    np.testing.assert_array_equal(_host(mask), expected)
    np.testing.assert_allclose(_host(out), x * expected / np.float32(1 - p), rtol=1e-6)
    g = np.random.default_rng(4).uniform(-1, 1, shape).astype(np.float32)
    back = fused.kernel(_xp(), "dropout.dropout_backward")(_on_device(g), mask, 1 / (1 - p))
    np.testing.assert_allclose(_host(back), g * expected / np.float32(1 - p), rtol=1e-6)


def test_dropout_kernel_reads_a_strided_input_by_its_logical_index(device):
    x = np.random.default_rng(5).uniform(-1, 1, (12, 10)).astype(np.float32)
    out, mask = fused.kernel(_xp(), "dropout.dropout")(_on_device(x).T, 0.5, 9, 3)
    expected = dropout.keep_mask(np, (10, 12), 0.5, 9, 3)
    np.testing.assert_array_equal(_host(mask), expected)
    np.testing.assert_allclose(_host(out), x.T * expected * 2, rtol=1e-6)


def test_functional_dropout_on_cuda_uses_the_fused_kernel_and_the_generator(device, monkeypatch):
    calls = _count_calls(monkeypatch, "dropout.dropout", "dropout.dropout_backward")
    x = ember.ones(4000, device="cuda", requires_grad=True)
    ember.manual_seed(0)
    y = F.dropout(x, 0.3)
    y.sum().backward()
    assert calls == ["dropout.dropout", "dropout.dropout_backward"]
    kept = host(y) != 0
    assert abs(kept.mean() - 0.7) < 0.03
    np.testing.assert_allclose(host(y)[kept], 1 / 0.7, rtol=1e-6)
    np.testing.assert_allclose(host(x.grad), host(y), rtol=1e-6)
    ember.manual_seed(0)
    np.testing.assert_array_equal(host(F.dropout(x, 0.3)), host(y))
    assert not np.array_equal(host(F.dropout(x, 0.3)), host(y))  # the generator moved on
    (g,) = ember.autograd.grad(F.dropout(x, 0.3).sum(), [x], create_graph=True)
    assert g.device.type == "cuda"


# -- convolution glue ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "stride,padding,dilation,groups", [(1, 1, 1, 1), (2, 0, 1, 1), (1, 2, 2, 2), (2, 1, 1, 1)]
)
def test_conv2d_fused_glue_matches_composite_and_cpu(device, monkeypatch, stride, padding, dilation, groups):
    rng = np.random.default_rng(6)
    arrays = [
        rng.uniform(-1, 1, (2, 4, 9, 8)).astype(np.float32),
        rng.uniform(-1, 1, (6, 4 // groups, 3, 3)).astype(np.float32),
        rng.uniform(-1, 1, 6).astype(np.float32),
    ]
    calls = _count_calls(monkeypatch, "conv.im2col", "conv.col2im")

    def run(x, w, b):
        return F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)

    _three_ways(run, arrays, atol=1e-4)
    assert "conv.im2col" in calls and "conv.col2im" in calls


def test_unfold_and_fold_fused_match_composite_and_cpu(device):
    x = np.random.default_rng(7).uniform(-1, 1, (2, 3, 7, 6)).astype(np.float32)

    def run(t):
        cols = F.unfold(t, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1))
        return F.fold(cols, (7, 6), (2, 3), dilation=(1, 2), padding=1, stride=(2, 1))

    _three_ways(run, [x])


def test_conv_kernels_match_the_reference(device):
    rng = np.random.default_rng(8)
    x = rng.uniform(-1, 1, (3, 2, 10, 9)).astype(np.float32)
    geometry = ((3, 2), (5, 7), (2, 1), (1, 0), (1, 2))
    cols = conv.im2col(x, geometry)
    got = fused.kernel(_xp(), "conv.im2col")(_on_device(x), geometry)
    np.testing.assert_array_equal(_host(got), cols)
    c = rng.uniform(-1, 1, cols.shape).astype(np.float32)
    back = fused.kernel(_xp(), "conv.col2im")(_on_device(c), 3, 2, (10, 9), geometry)
    np.testing.assert_allclose(_host(back), conv.col2im(c, 3, 2, (10, 9), geometry), rtol=1e-5, atol=1e-6)
