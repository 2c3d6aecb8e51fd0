"""Conv1d/Conv2d/ConvTranspose1d/2d and their functional twins against PyTorch and finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd.numerical import gradcheck, gradgradcheck
from ember.nn import functional as F
from tests.helpers import torch_or_skip


def load_from_torch(e_module, t_module) -> None:
    """Copy a torch module's state into an ember module (strict: the keys must match)."""
    e_module.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t_module.state_dict().items()})


def compare_module(e_module, t_module, shape, rtol=1e-4, atol=1e-5, **forward_kwargs) -> None:
    """Same weights, same input: outputs and all gradients agree."""
    torch = torch_or_skip()
    load_from_torch(e_module, t_module)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    e_out, t_out = e_module(ex, **forward_kwargs), t_module(tx, **forward_kwargs)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=rtol, atol=atol)
    g = np.random.default_rng(2).standard_normal(tuple(t_out.shape)).astype(np.float32)
    e_out.backward(ember.tensor(g))
    t_out.backward(torch.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=atol)
    for (name, ep), (_, tp) in zip(e_module.named_parameters(), t_module.named_parameters()):
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


CONV2D_CASES = [
    {},
    {"stride": 2, "padding": 1},
    {"stride": (2, 1), "padding": (0, 2), "dilation": (2, 1)},
    {"padding": "same", "dilation": 2},
    {"padding": "same", "kernel_size": (4, 2)},
    {"padding": "valid", "bias": False},
    {"groups": 2, "stride": 2, "padding": 1},
    {"groups": 4, "padding": 1},
    {"padding": 2, "padding_mode": "reflect"},
    {"padding": (1, 2), "padding_mode": "replicate"},
    {"padding": 1, "padding_mode": "circular", "stride": 2},
    {"padding": "same", "padding_mode": "reflect", "kernel_size": 4},
]


@pytest.mark.parametrize("case", CONV2D_CASES, ids=str)
def test_conv2d_module_matches_torch(case):
    torch = torch_or_skip()
    kwargs = dict(case)
    kernel = kwargs.pop("kernel_size", 3)
    e, t = nn.Conv2d(4, 8, kernel, **kwargs), torch.nn.Conv2d(4, 8, kernel, **kwargs)
    assert repr(e) == repr(t)
    compare_module(e, t, (2, 4, 9, 10))


@pytest.mark.parametrize(
    "case",
    [
        {},
        {"stride": 2, "padding": 1},
        {"dilation": 2, "groups": 2},
        {"padding": "same", "kernel_size": 4},
        {"padding": 2, "padding_mode": "reflect"},
        {"padding": 1, "padding_mode": "circular"},
    ],
    ids=str,
)
def test_conv1d_module_matches_torch(case):
    torch = torch_or_skip()
    kwargs = dict(case)
    kernel = kwargs.pop("kernel_size", 3)
    e, t = nn.Conv1d(4, 6, kernel, **kwargs), torch.nn.Conv1d(4, 6, kernel, **kwargs)
    assert repr(e) == repr(t)
    compare_module(e, t, (3, 4, 11))


@pytest.mark.parametrize(
    "case",
    [
        {},
        {"stride": 2, "padding": 1, "output_padding": 1},
        {"stride": (2, 3), "output_padding": (1, 2), "groups": 2},
        {"dilation": 2, "padding": 2, "bias": False},
        {"stride": 2, "dilation": 3, "output_padding": 2},
    ],
    ids=str,
)
def test_conv_transpose2d_module_matches_torch(case):
    torch = torch_or_skip()
    e, t = nn.ConvTranspose2d(4, 6, 3, **case), torch.nn.ConvTranspose2d(4, 6, 3, **case)
    assert repr(e) == repr(t)
    compare_module(e, t, (2, 4, 5, 6))


def test_conv_transpose_output_size_matches_torch():
    torch = torch_or_skip()
    e, t = (
        nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1),
        torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1),
    )
    compare_module(e, t, (1, 3, 5, 5), output_size=[10, 9])
    e1, t1 = nn.ConvTranspose1d(3, 2, 3, stride=3), torch.nn.ConvTranspose1d(3, 2, 3, stride=3)
    compare_module(e1, t1, (2, 3, 4), output_size=[13])
    with pytest.raises(ValueError, match="valid sizes range from 9 to 10"):
        e(ember.ones(1, 3, 5, 5), output_size=[12, 12])


@pytest.mark.parametrize("case", [{}, {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}], ids=str)
def test_conv_transpose1d_module_matches_torch(case):
    torch = torch_or_skip()
    e, t = nn.ConvTranspose1d(4, 6, 3, **case), torch.nn.ConvTranspose1d(4, 6, 3, **case)
    compare_module(e, t, (2, 4, 7))


def test_unbatched_input_matches_torch():
    torch = torch_or_skip()
    compare_module(nn.Conv2d(3, 4, 3), torch.nn.Conv2d(3, 4, 3), (3, 6, 6))
    compare_module(nn.Conv1d(3, 4, 3), torch.nn.Conv1d(3, 4, 3), (3, 6))


def test_default_init_distribution():
    conv = nn.Conv2d(16, 32, 3)
    bound = 1 / math.sqrt(16 * 9)  # kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    w = conv.weight.detach().numpy()
    assert w.shape == (32, 16, 3, 3) and np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(conv.bias.detach().numpy()).max() <= bound
    up = nn.ConvTranspose2d(8, 4, 3, groups=2)
    assert tuple(up.weight.shape) == (8, 2, 3, 3)
    assert np.abs(up.bias.detach().numpy()).max() <= 1 / math.sqrt(2 * 9)
    assert sorted(conv.state_dict()) == ["bias", "weight"]


def _rand(*shape):
    return ember.tensor(np.random.default_rng(sum(shape)).standard_normal(shape), requires_grad=True)


def test_conv2d_gradcheck_and_double_backward():
    x, w, b = _rand(1, 4, 5, 6), _rand(2, 2, 3, 2), _rand(2)

    def fn(x, w, b):
        return F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2)

    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


def test_conv_transpose_and_1d_gradcheck():
    x, w = _rand(2, 4, 3, 3), _rand(4, 1, 2, 3)
    assert gradcheck(
        lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1, groups=2), (x, w)
    )
    assert gradgradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2, groups=2), (x, w))
    x1, w1 = _rand(2, 3, 7), _rand(2, 3, 3)
    assert gradcheck(lambda x, w: F.conv1d(x, w, stride=2, padding=1, dilation=2), (x1, w1))


def test_padding_modes_gradcheck():
    x, w = _rand(1, 2, 4, 5), _rand(3, 2, 3, 3)
    for mode in ("reflect", "replicate", "circular"):
        conv = nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode).double()
        conv.weight.data = w.detach()
        assert gradcheck(conv, (x,))


def test_conv_errors_name_op_shapes_and_fix():
    w = ember.ones(6, 3, 5, 5)
    with pytest.raises(RuntimeError, match=r"conv2d: expected input with 4 dims .*got shape \[28, 28\]"):
        F.conv2d(ember.ones(28, 28), w)
    with pytest.raises(RuntimeError, match=r"has 4 channels.*in_channels = 3 \* 1 = 3"):
        F.conv2d(ember.ones(1, 4, 28, 28), w)
    with pytest.raises(RuntimeError, match=r"groups=2 .*in_channels = 3 \* 2 = 6"):
        F.conv2d(ember.ones(1, 3, 8, 8), w, groups=2)
    with pytest.raises(RuntimeError, match="smaller than the \\(dilated\\) kernel"):
        F.conv2d(ember.ones(1, 3, 4, 4), w)
    with pytest.raises(RuntimeError, match="bias of shape \\[6\\]"):
        F.conv2d(ember.ones(1, 3, 8, 8), w, ember.ones(5))
    with pytest.raises(RuntimeError, match="same dtype"):
        F.conv2d(ember.ones(1, 3, 8, 8, dtype=ember.float64), w)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 6, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 6, 3, padding_mode="mirror")
    with pytest.raises(RuntimeError, match="output_padding"):
        F.conv_transpose2d(ember.ones(1, 3, 4, 4), ember.ones(3, 2, 3, 3), stride=2, output_padding=2)


def test_state_dict_round_trip_with_torch():
    torch = torch_or_skip()
    t = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.ConvTranspose2d(4, 2, 2))
    e = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.ConvTranspose2d(4, 2, 2))
    assert list(e.state_dict()) == list(t.state_dict())
    load_from_torch(e, t)
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(
        e(ember.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5
    )


# The primitives pick their products and col2im by shape (see ember/ops/conv.py): one GEMM per
# sample or one for the batch, zero-padded rows or plain col2im for the input gradient. Each
# choice must agree with the other and with PyTorch.
PATH_CASES = [
    ((5, 1, 9, 8), (4, 1, 3, 3), {"padding": 1}),  # K < P: one GEMM per sample
    ((5, 6, 6, 7), (8, 6, 3, 3), {"padding": 1}),  # K >= P: one GEMM for the batch
    ((5, 4, 9, 8), (6, 2, 3, 2), {"padding": (2, 1), "dilation": (1, 2), "groups": 2}),
    ((5, 3, 7, 9), (4, 3, 5, 3), {}),
    ((5, 4, 8, 8), (6, 4, 3, 3), {"stride": 2, "padding": 1}),
    ((0, 1, 6, 6), (4, 1, 3, 3), {"padding": 1}),  # an empty batch
    # K = 72 < P = 144: forward per sample, weight gradient by one batch GEMM (ResNet-20's case)
    ((3, 8, 12, 12), (4, 8, 3, 3), {"padding": 1}),
]
# Shapes whose default is a channels-last path (ember/ops/conv_nhwc.py: K > 64, >= 16 outputs)
NHWC_CASES = [
    ((3, 16, 9, 11), (16, 16, 3, 3), {"padding": 1}),  # K < P, stride 1: shifted rows
    ((2, 16, 5, 7), (16, 16, 3, 3), {"padding": 1}),  # K >= P: channels-last columns
    ((2, 16, 9, 7), (16, 16, 3, 3), {"stride": 2, "padding": 1}),  # columns, strided
    ((2, 16, 11, 13), (17, 16, 3, 2), {"padding": (2, 1), "dilation": (2, 3)}),  # shifted, dilated
]


def _conv_results(x, w, b, kwargs):
    """Output and the gradients of x, w and b for a fixed output gradient."""
    ex, ew, eb = (ember.tensor(a, requires_grad=True) for a in (x, w, b))
    out = F.conv2d(ex, ew, eb, **kwargs)
    g = np.random.default_rng(3).standard_normal(tuple(out.shape))
    out.backward(ember.tensor(g))
    return [out.detach().numpy(), ex.grad.numpy(), ew.grad.numpy(), eb.grad.numpy()]


@pytest.mark.parametrize("x_shape, w_shape, kwargs", PATH_CASES + NHWC_CASES, ids=str)
def test_conv2d_paths_agree(monkeypatch, x_shape, w_shape, kwargs):
    from ember.ops import conv

    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    expected = _conv_results(x, w, b, kwargs)
    variants = {  # name: (module attribute, its replacement given the original)
        "the other product": (
            "_per_sample",
            lambda orig: lambda geo, rows: geo.groups == 1 and not orig(geo, rows),
        ),
        "weight gradient always per sample": ("_PER_SAMPLE_WEIGHT_GRAD_ROWS", lambda orig: 10**9),
        "weight gradient never per sample": ("_PER_SAMPLE_WEIGHT_GRAD_ROWS", lambda orig: 0),
        "the other col2im": ("_rows_pay", lambda orig: lambda geo: geo.stride == (1, 1) and not orig(geo)),
    }
    for label, (name, replace) in variants.items():
        with monkeypatch.context() as m:
            m.setattr(conv, name, replace(getattr(conv, name)))
            for got, want in zip(_conv_results(x, w, b, kwargs), expected):
                np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10, err_msg=label)


@pytest.mark.slow
@pytest.mark.parametrize("x_shape, w_shape, kwargs", PATH_CASES, ids=str)
def test_conv2d_paths_match_torch_and_gradgradcheck(x_shape, w_shape, kwargs):
    torch = torch_or_skip()
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out = torch.nn.functional.conv2d(tx, tw, tb, **kwargs)
    g = np.random.default_rng(3).standard_normal(tuple(out.shape))
    out.backward(torch.tensor(g))
    want = [out.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()]
    for got, ref in zip(_conv_results(x, w, b, kwargs), want):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)
    small = tuple(min(d, 2) if i == 0 else d for i, d in enumerate(x_shape))
    ex, ew, eb = _rand(*small), _rand(*w_shape), _rand(w_shape[0])
    assert gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, **kwargs), (ex, ew, eb))


@pytest.mark.parametrize(
    "case", [{"padding": 1}, {"dilation": 2, "output_padding": 1}, {"padding": (0, 1), "groups": 2}], ids=str
)
def test_conv_transpose2d_stride_one_matches_torch(case):
    torch = torch_or_skip()
    e, t = nn.ConvTranspose2d(4, 6, 3, **case), torch.nn.ConvTranspose2d(4, 6, 3, **case)
    compare_module(e, t, (3, 4, 5, 6))


def _reference_conv(x, w, b, g, stride=1, padding=0, dilation=1, groups=1):
    """Float64 NumPy conv2d and its gradients (x, w, b) for the output gradient ``g``, summed
    over kernel offsets (the plain definition, no im2col)."""
    (sh, sw), (ph, pw), (dh, dw) = (_pair(v) for v in (stride, padding, dilation))
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, ho, wo)) + b.reshape(-1, 1, 1)
    dxpad, dwt = np.zeros_like(xpad), np.zeros_like(w)
    og = o // groups
    for grp in range(groups):
        cs, os_ = slice(grp * cg, (grp + 1) * cg), slice(grp * og, (grp + 1) * og)
        for i in range(kh):
            for j in range(kw):
                win = (slice(None), cs, slice(i * dh, i * dh + sh * (ho - 1) + 1, sh))
                win += (slice(j * dw, j * dw + sw * (wo - 1) + 1, sw),)
                out[:, os_] += np.einsum("nchw,oc->nohw", xpad[win], w[os_, :, i, j])
                dxpad[win] += np.einsum("nohw,oc->nchw", g[:, os_], w[os_, :, i, j])
                dwt[os_, :, i, j] += np.einsum("nohw,nchw->oc", g[:, os_], xpad[win])
    dx = dxpad[:, :, ph : ph + h, pw : pw + wd]
    return [out, dx, dwt, g.sum((0, 2, 3))]


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _forced_nhwc(kind):
    """A replacement for ``conv._nhwc_path`` running ``kind`` wherever it applies."""

    def path(xp, geo, rows, out_channels):
        if kind is None or geo.groups != 1 or len(geo.kernel) != 2:
            return None
        return "shifted" if kind == "shifted" and geo.stride == (1, 1) else "columns"

    return path


@pytest.mark.parametrize("x_shape, w_shape, kwargs", PATH_CASES + NHWC_CASES, ids=str)
def test_conv2d_nhwc_paths_match_numpy_reference(monkeypatch, x_shape, w_shape, kwargs):
    """NCHW, shifted-rows and channels-last-columns paths all equal the float64 definition."""
    from ember.ops import conv

    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    for kind in ("default", None, "shifted", "columns"):
        with monkeypatch.context() as m:
            if kind != "default":
                m.setattr(conv, "_nhwc_path", _forced_nhwc(kind))
            got = _conv_results(x, w, b, kwargs)
        want = _reference_conv(x, w, b, np.random.default_rng(3).standard_normal(got[0].shape), **kwargs)
        for name, a, r in zip(("out", "grad x", "grad w", "grad b"), got, want):
            np.testing.assert_allclose(a, r, rtol=1e-10, atol=1e-10, err_msg=f"{kind}: {name}")


def test_conv2d_nhwc_path_choice():
    """The per-shape table picks the measured winner for ResNet-20's layers (batch 64)."""
    from ember.ops import conv

    def path(c, side, o, stride=1, k=3):
        geo = conv.ConvGeometry((stride,) * 2, (k // 2,) * 2, (1, 1), 1, (k, k), (side, side))
        return conv._nhwc_path(np, geo, c * k * k, o)

    assert path(3, 32, 16) is None  # K = 27: per-sample NCHW GEMMs
    assert path(16, 32, 16) == "shifted"
    assert path(32, 16, 32) == "columns"
    assert path(64, 8, 64) == "columns"
    assert path(16, 32, 32, stride=2, k=1) is None  # 1x1 shortcut, K = 16
    assert path(16, 16, 3) is None  # an input gradient into 3 channels
    geo = conv.ConvGeometry((1, 1), (1, 1), (1, 1), 1, (3, 3), (16, 16))
    assert conv._flipped_geometry(np, geo, 32, 32)[0] == "columns"  # input grad of 32 -> 32
    assert conv._flipped_geometry(np, geo, 64, 32) is None  # of 32 -> 64: NCHW measured faster


@pytest.mark.parametrize("x_shape, w_shape, kwargs", NHWC_CASES, ids=str)
def test_conv2d_nhwc_paths_match_torch(x_shape, w_shape, kwargs):
    torch = torch_or_skip()
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out = torch.nn.functional.conv2d(tx, tw, tb, **kwargs)
    out.backward(torch.tensor(np.random.default_rng(3).standard_normal(tuple(out.shape))))
    want = [out.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()]
    for got, ref in zip(_conv_results(x, w, b, kwargs), want):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kind", ["shifted", "columns"])
def test_conv2d_nhwc_paths_gradgradcheck(monkeypatch, kind):
    from ember.ops import conv

    monkeypatch.setattr(conv, "_nhwc_path", _forced_nhwc(kind))
    x, w, b = _rand(2, 3, 5, 4), _rand(2, 3, 3, 2), _rand(2)  # 3 -> 2: the input grad too
    kwargs = {"padding": (1, 2), "dilation": (1, 2)}
    assert gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, **kwargs), (x, w, b))
