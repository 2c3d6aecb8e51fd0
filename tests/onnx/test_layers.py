"""Every exportable layer, alone, run by ONNX Runtime against ember."""

from __future__ import annotations

import io

import numpy as np
import pytest

import ember
import ember.nn as nn
from tests.onnx.zoo import calibrate

ort = pytest.importorskip("onnxruntime", reason="the onnx extra (pip install 'ember[onnx]')")


def image(n):
    return ember.randn(n, 3, 8, 8)


def signal(n):
    return ember.randn(n, 4, 10)


def vector(n):
    return ember.randn(n, 6)


LAYERS = [
    (lambda: nn.Conv1d(4, 6, 3, padding=1), signal),
    (lambda: nn.Conv1d(4, 6, 3, stride=2, dilation=2), signal),
    (lambda: nn.ConvTranspose1d(4, 3, 3, stride=2), signal),
    (lambda: nn.Conv2d(3, 4, 3, padding="same"), image),
    (lambda: nn.Conv2d(3, 6, 3, groups=3, dilation=2), image),
    (lambda: nn.ConvTranspose2d(3, 5, 3, stride=2, padding=1, output_padding=1), image),
    (lambda: nn.MaxPool2d(3, stride=2, padding=1), image),
    (lambda: nn.MaxPool2d(2, ceil_mode=True), lambda n: ember.randn(n, 3, 7, 7)),
    (lambda: nn.AvgPool2d(3, stride=2, padding=1), image),
    (lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False), image),
    (lambda: nn.AdaptiveAvgPool2d((2, 2)), image),
    (lambda: nn.AdaptiveMaxPool2d(1), image),
    (lambda: nn.MaxPool1d(2), signal),
    (lambda: nn.AvgPool1d(3), signal),
    (lambda: nn.AdaptiveAvgPool1d(1), signal),
    (lambda: calibrate(nn.BatchNorm2d(3)), image),
    (lambda: calibrate(nn.BatchNorm1d(4)), signal),
    (lambda: calibrate(nn.BatchNorm1d(6)), vector),
    (lambda: nn.GroupNorm(1, 3), image),
    (lambda: nn.InstanceNorm2d(3, affine=True), image),
    (lambda: nn.InstanceNorm1d(4), signal),
    (lambda: nn.LayerNorm([8, 8]), image),
    (lambda: nn.LayerNorm(6), vector),
    (lambda: nn.Dropout(0.3), image),
    (lambda: nn.Dropout2d(), image),
    (lambda: nn.Flatten(), image),
    (lambda: nn.Upsample(scale_factor=2), image),
    (lambda: nn.Upsample(scale_factor=2, mode="bilinear"), image),
    (lambda: nn.Upsample(size=(5, 5), mode="bilinear", align_corners=True), image),
    (lambda: nn.ZeroPad2d(1), image),
    (lambda: nn.ReflectionPad2d(1), image),
    (lambda: nn.ReplicationPad2d((1, 2, 0, 1)), image),
    (lambda: nn.Linear(6, 3), vector),
    (lambda: nn.Bilinear(6, 6, 2), None),
    (lambda: nn.Embedding(10, 4), lambda n: ember.randint(0, 10, (n, 3))),
] + [
    (activation, vector)
    for activation in (
        nn.ReLU,
        nn.ReLU6,
        lambda: nn.LeakyReLU(0.1),
        nn.ELU,
        nn.SELU,
        nn.CELU,
        nn.GELU,
        lambda: nn.GELU("tanh"),
        nn.SiLU,
        nn.Mish,
        nn.Sigmoid,
        nn.Tanh,
        nn.Softplus,
        nn.Softsign,
        nn.Hardtanh,
        nn.Hardsigmoid,
        nn.Hardswish,
        nn.LogSigmoid,
        lambda: nn.Softmax(1),
        lambda: nn.LogSoftmax(1),
        lambda: nn.Softmin(1),
        nn.PReLU,
        nn.Tanhshrink,
        nn.Softshrink,
        nn.Hardshrink,
        lambda: nn.Threshold(0.1, 0.0),
        nn.GLU,
    )
]


def _check(model, make, inputs=1, names=("input",), axes=None):
    model.eval()
    args = tuple(m(2) for m in make) if isinstance(make, tuple) else (make(2),)
    f = io.BytesIO()
    dynamic = axes if axes is not None else {n: {0: "batch"} for n in names}
    ember.onnx.export(model, args, f, input_names=list(names), dynamic_axes=dynamic)
    session = ort.InferenceSession(f.getvalue())
    for n in (2, 3):
        args = tuple(m(n) for m in make) if isinstance(make, tuple) else (make(n),)
        got = session.run(None, {name: a.numpy() for name, a in zip(names, args)})
        with ember.no_grad():
            want = model(*args)
        flat = []
        for w in want if isinstance(want, tuple) else (want,):
            flat.extend(w if isinstance(w, tuple) else (w,))
        assert len(got) == len(flat)
        for g, w in zip(got, flat):
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("build, make", LAYERS, ids=lambda v: getattr(v, "__name__", ""))
def test_layer(build, make):
    ember.manual_seed(1)
    model = build()
    if make is None:  # two inputs
        _check(model, (vector, vector), names=("a", "b"))
    else:
        _check(model, make)


@pytest.mark.parametrize(
    "build",
    [
        lambda: nn.RNN(4, 5, 2, nonlinearity="relu"),
        lambda: nn.RNN(4, 5, bidirectional=True),
        lambda: nn.LSTM(4, 5, num_layers=2, bidirectional=True),
        lambda: nn.GRU(4, 5, 2),
    ],
)
def test_recurrent_layers_with_dynamic_time_and_batch(build):
    ember.manual_seed(2)
    _check(build(), lambda n: ember.randn(4 + n, n, 4), axes={"input": {0: "time", 1: "batch"}})


def test_lstm_with_initial_states():
    class WithState(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 5, batch_first=True, num_layers=2)

        def forward(self, x, h, c):
            return self.lstm(x, (h, c))

    make = (lambda n: ember.randn(n, 3, 4), lambda n: ember.randn(2, n, 5), lambda n: ember.randn(2, n, 5))
    _check(
        WithState(),
        make,
        names=("x", "h", "c"),
        axes={"x": {0: "batch"}, "h": {1: "batch"}, "c": {1: "batch"}},
    )


def test_multihead_attention_and_decoder_with_dynamic_sequence():
    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x):
            return self.attn(x, x, x)[0]

    ember.manual_seed(3)
    _check(SelfAttention(), lambda n: ember.randn(n, 3 + n, 8), axes={"input": {0: "b", 1: "t"}})
    decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, batch_first=True), 2)
    _check(decoder, (lambda n: ember.randn(n, 4, 8), lambda n: ember.randn(n, 5, 8)), names=("tgt", "memory"))


def test_causal_encoder_layer_with_a_mask():
    class Causal(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(
                8, 2, 16, batch_first=True, norm_first=True, activation="gelu"
            )

        def forward(self, x):
            mask = nn.Transformer.generate_square_subsequent_mask(x.size(1))
            return self.layer(x, src_mask=mask, is_causal=True)

    _check(Causal(), lambda n: ember.randn(n, 5, 8))


def test_tensor_ops_of_ordinary_forward_code():
    class Ops(nn.Module):
        def forward(self, x):
            a, b = x.chunk(2, dim=1)
            y = ember.cat([a * 2, b.exp()], 1).reshape(-1, 2, 3)
            z = ember.stack([y, y.transpose(1, 2).transpose(1, 2)], 0).sum(0).mean(-1, keepdim=True)
            w = ember.where(z > 0, z, -z) + x[:, :3].max(dim=1).values.unsqueeze(1).unsqueeze(2)
            s = x.split([2, 4], 1)[1].clamp(-0.5, 0.5).abs().sqrt()
            return (
                w.float(),
                s.double(),
                x.argmax(1),
                (x @ x.t()).softmax(-1),
                x.norm(dim=1),
                x[:, ::2],
                x[..., None][:, 1:4, 0].flip(1),
                (x != 0).all(1),
                x.masked_fill(x < 0, 1.5),
            )

    _check(Ops(), vector)
