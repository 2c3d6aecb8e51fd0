"""Every ``nn`` layer on "cuda": forward and backward equal the CPU's (same weights, same input)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import ember
from ember import nn
from tests.cuda.conftest import assert_same


def _f(*shape, lo=-1.0, hi=1.0):
    return lambda rng: rng.uniform(lo, hi, shape).astype(np.float32)


def _i(high, *shape):
    return lambda rng: rng.integers(0, high, shape).astype(np.int64)


def _const(array):
    return lambda rng: np.asarray(array)


X2, X3, X4 = _f(4, 6), _f(2, 3, 10), _f(2, 3, 8, 8)
X5 = _f(2, 3, 6, 6, 6)
ELEMENTWISE = [
    "CELU",
    "ELU",
    "GELU",
    "Hardshrink",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "Identity",
    "LeakyReLU",
    "LogSigmoid",
    "Mish",
    "ReLU",
    "ReLU6",
    "SELU",
    "SiLU",
    "Sigmoid",
    "Softplus",
    "Softshrink",
    "Softsign",
    "Tanh",
    "Tanhshrink",
    "Flatten",
]

# name -> (constructor, input makers); the layer is built once on the CPU and copied to cuda
LAYERS: dict = {name: (lambda n=name: getattr(nn, n)(), [X2]) for name in ELEMENTWISE}
LAYERS.update(
    {
        "Threshold": (lambda: nn.Threshold(0.1, 20.0), [X2]),
        "PReLU": (lambda: nn.PReLU(3), [X3]),
        "RReLU": (lambda: nn.RReLU().eval(), [X2]),
        "GLU": (lambda: nn.GLU(), [X2]),
        "Softmax": (lambda: nn.Softmax(dim=1), [X2]),
        "Softmin": (lambda: nn.Softmin(dim=1), [X2]),
        "LogSoftmax": (lambda: nn.LogSoftmax(dim=1), [X2]),
        "Softmax2d": (lambda: nn.Softmax2d(), [X4]),
        "Linear": (lambda: nn.Linear(6, 5), [X2]),
        "Bilinear": (lambda: nn.Bilinear(6, 6, 3), [X2, X2]),
        "Conv1d": (lambda: nn.Conv1d(3, 4, 3, padding=1), [X3]),
        "Conv2d": (lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1), [X4]),
        "ConvTranspose1d": (lambda: nn.ConvTranspose1d(3, 2, 3, stride=2), [X3]),
        "ConvTranspose2d": (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2), [X4]),
        "BatchNorm1d": (lambda: nn.BatchNorm1d(3), [X3]),
        "BatchNorm2d": (lambda: nn.BatchNorm2d(3), [X4]),
        "BatchNorm3d": (lambda: nn.BatchNorm3d(3), [_f(2, 3, 2, 4, 4)]),
        "InstanceNorm1d": (lambda: nn.InstanceNorm1d(3, affine=True), [X3]),
        "InstanceNorm2d": (lambda: nn.InstanceNorm2d(3, affine=True), [X4]),
        "InstanceNorm3d": (lambda: nn.InstanceNorm3d(3), [_f(2, 3, 2, 4, 4)]),
        "GroupNorm": (lambda: nn.GroupNorm(1, 3), [X4]),
        "LayerNorm": (lambda: nn.LayerNorm(10), [X3]),
        "RMSNorm": (lambda: nn.RMSNorm(10), [X3]),
        "LocalResponseNorm": (lambda: nn.LocalResponseNorm(2), [X4]),
        "Dropout": (lambda: nn.Dropout(0.3).eval(), [X2]),
        "Dropout1d": (lambda: nn.Dropout1d().eval(), [X3]),
        "Dropout2d": (lambda: nn.Dropout2d().eval(), [X4]),
        "Dropout3d": (lambda: nn.Dropout3d().eval(), [_f(2, 3, 2, 4, 4)]),
        "AlphaDropout": (lambda: nn.AlphaDropout().eval(), [X2]),
        "FeatureAlphaDropout": (lambda: nn.FeatureAlphaDropout().eval(), [X4]),
        "Embedding": (lambda: nn.Embedding(10, 4), [_i(10, 3, 5)]),
        "EmbeddingBag": (lambda: nn.EmbeddingBag(10, 4, mode="mean"), [_i(10, 3, 5)]),
        "MaxPool1d": (lambda: nn.MaxPool1d(2), [X3]),
        "MaxPool2d": (lambda: nn.MaxPool2d(2), [X4]),
        "AvgPool1d": (lambda: nn.AvgPool1d(2), [X3]),
        "AvgPool2d": (lambda: nn.AvgPool2d(3, 2, 1), [X4]),
        "LPPool1d": (lambda: nn.LPPool1d(2, 2), [X3]),
        "LPPool2d": (lambda: nn.LPPool2d(2, 2), [X4]),
        "AdaptiveAvgPool1d": (lambda: nn.AdaptiveAvgPool1d(3), [X3]),
        "AdaptiveAvgPool2d": (lambda: nn.AdaptiveAvgPool2d(3), [X4]),
        "AdaptiveMaxPool1d": (lambda: nn.AdaptiveMaxPool1d(3), [X3]),
        "AdaptiveMaxPool2d": (lambda: nn.AdaptiveMaxPool2d(3), [X4]),
        "MaxUnpool1d": (lambda: _Unpool(1), [X3]),
        "MaxUnpool2d": (lambda: _Unpool(2), [X4]),
        "PixelShuffle": (lambda: nn.PixelShuffle(2), [_f(1, 8, 3, 3)]),
        "PixelUnshuffle": (lambda: nn.PixelUnshuffle(2), [X4]),
        "Upsample": (lambda: nn.Upsample(scale_factor=2, mode="bilinear"), [X4]),
        "UpsamplingNearest2d": (lambda: nn.UpsamplingNearest2d(scale_factor=2), [X4]),
        "UpsamplingBilinear2d": (lambda: nn.UpsamplingBilinear2d(scale_factor=2), [X4]),
        "Unflatten": (lambda: nn.Unflatten(1, (2, 3)), [X2]),
        "Fold": (lambda: nn.Fold((4, 4), 2), [_f(1, 12, 9)]),
        "Unfold": (lambda: nn.Unfold(2), [X4]),
        "CosineSimilarity": (lambda: nn.CosineSimilarity(), [X2, X2]),
        "PairwiseDistance": (lambda: nn.PairwiseDistance(), [X2, X2]),
        "RNN": (lambda: nn.RNN(10, 4, num_layers=2), [X3]),
        "GRU": (lambda: nn.GRU(10, 4), [X3]),
        "LSTM": (lambda: nn.LSTM(10, 4, bidirectional=True), [X3]),
        "RNNCell": (lambda: nn.RNNCell(6, 3), [X2]),
        "GRUCell": (lambda: nn.GRUCell(6, 3), [X2]),
        "LSTMCell": (lambda: nn.LSTMCell(6, 3), [X2]),
        "MultiheadAttention": (lambda: nn.MultiheadAttention(10, 2), [X3, X3, X3]),
        "TransformerEncoderLayer": (lambda: nn.TransformerEncoderLayer(10, 2, 16, dropout=0.0), [X3]),
        "TransformerDecoderLayer": (lambda: nn.TransformerDecoderLayer(10, 2, 16, dropout=0.0), [X3, X3]),
        "TransformerEncoder": (
            lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(10, 2, 16, dropout=0.0), 2),
            [X3],
        ),
        "TransformerDecoder": (
            lambda: nn.TransformerDecoder(nn.TransformerDecoderLayer(10, 2, 16, dropout=0.0), 1),
            [X3, X3],
        ),
        "Transformer": (lambda: nn.Transformer(10, 2, 1, 1, 16, dropout=0.0), [X3, X3]),
        # losses: (input, target)
        "MSELoss": (nn.MSELoss, [X2, X2]),
        "L1Loss": (nn.L1Loss, [X2, X2]),
        "HuberLoss": (nn.HuberLoss, [X2, X2]),
        "SmoothL1Loss": (nn.SmoothL1Loss, [X2, X2]),
        "BCELoss": (nn.BCELoss, [_f(4, 6, lo=0.05, hi=0.95), _f(4, 6, lo=0.0, hi=1.0)]),
        "BCEWithLogitsLoss": (nn.BCEWithLogitsLoss, [X2, _f(4, 6, lo=0.0, hi=1.0)]),
        "CrossEntropyLoss": (lambda: nn.CrossEntropyLoss(label_smoothing=0.1), [X2, _i(6, 4)]),
        "NLLLoss": (nn.NLLLoss, [X2, _i(6, 4)]),
        "KLDivLoss": (lambda: nn.KLDivLoss(reduction="batchmean"), [X2, _f(4, 6, lo=0.1, hi=1.0)]),
        "PoissonNLLLoss": (nn.PoissonNLLLoss, [X2, _f(4, 6, lo=0.0, hi=3.0)]),
        "GaussianNLLLoss": (nn.GaussianNLLLoss, [X2, X2, _f(4, 6, lo=0.1, hi=1.0)]),
        "SoftMarginLoss": (nn.SoftMarginLoss, [X2, _const(np.sign(np.arange(24.0) - 11.5).reshape(4, 6))]),
        "HingeEmbeddingLoss": (
            nn.HingeEmbeddingLoss,
            [X2, _const(np.sign(np.arange(24.0) - 11.5).reshape(4, 6))],
        ),
        "MultiLabelSoftMarginLoss": (nn.MultiLabelSoftMarginLoss, [X2, _i(2, 4, 6)]),
        "MultiLabelMarginLoss": (nn.MultiLabelMarginLoss, [X2, _const(np.array([[1, 2, -1, 0, 0, 0]] * 4))]),
        "MultiMarginLoss": (nn.MultiMarginLoss, [X2, _i(6, 4)]),
        "MarginRankingLoss": (
            nn.MarginRankingLoss,
            [_f(5), _f(5), _const(np.array([1, -1, 1, 1, -1.0], np.float32))],
        ),
        "CosineEmbeddingLoss": (
            nn.CosineEmbeddingLoss,
            [X2, X2, _const(np.array([1, -1, 1, -1.0], np.float32))],
        ),
        "TripletMarginLoss": (nn.TripletMarginLoss, [X2, X2, X2]),
        "CTCLoss": (lambda: _CTC(), [_f(6, 2, 5)]),
        "CircularPad1d": (lambda: nn.CircularPad1d(2), [X3]),
        "CircularPad2d": (lambda: nn.CircularPad2d(1), [X4]),
        "ConstantPad1d": (lambda: nn.ConstantPad1d(2, 0.5), [X3]),
        "ConstantPad2d": (lambda: nn.ConstantPad2d(1, 0.5), [X4]),
        "ReflectionPad1d": (lambda: nn.ReflectionPad1d(2), [X3]),
        "ReflectionPad2d": (lambda: nn.ReflectionPad2d(1), [X4]),
        "ReplicationPad1d": (lambda: nn.ReplicationPad1d(2), [X3]),
        "ReplicationPad2d": (lambda: nn.ReplicationPad2d(1), [X4]),
        "ZeroPad1d": (lambda: nn.ZeroPad1d(2), [X3]),
        "ZeroPad2d": (lambda: nn.ZeroPad2d(1), [X4]),
    }
)
# the layers added with the API long tail (3-D, lazy, adaptive softmax, ...)
LAYERS.update(
    {
        "Conv3d": (lambda: nn.Conv3d(3, 4, 3, padding=1), [X5]),
        "ConvTranspose3d": (lambda: nn.ConvTranspose3d(3, 2, 3, stride=2), [X5]),
        "MaxPool3d": (lambda: nn.MaxPool3d(2), [X5]),
        "AvgPool3d": (lambda: nn.AvgPool3d(2), [X5]),
        "LPPool3d": (lambda: nn.LPPool3d(2, 2), [_f(2, 3, 6, 6, 6, lo=0.1, hi=1.0)]),
        "AdaptiveAvgPool3d": (lambda: nn.AdaptiveAvgPool3d(2), [X5]),
        "AdaptiveMaxPool3d": (lambda: nn.AdaptiveMaxPool3d(2), [X5]),
        "MaxUnpool3d": (lambda: _Unpool(3), [X5]),
        "FractionalMaxPool2d": (
            lambda: nn.FractionalMaxPool2d(2, output_size=3, _random_samples=_SAMPLES2),
            [X4],
        ),
        "FractionalMaxPool3d": (
            lambda: nn.FractionalMaxPool3d(2, output_size=3, _random_samples=_SAMPLES3),
            [X5],
        ),
        "ConstantPad3d": (lambda: nn.ConstantPad3d(1, 0.5), [X5]),
        "ZeroPad3d": (lambda: nn.ZeroPad3d(1), [X5]),
        "ReflectionPad3d": (lambda: nn.ReflectionPad3d(1), [X5]),
        "ReplicationPad3d": (lambda: nn.ReplicationPad3d(1), [X5]),
        "CircularPad3d": (lambda: nn.CircularPad3d(1), [X5]),
        "ChannelShuffle": (lambda: nn.ChannelShuffle(3), [_f(2, 6, 4, 4)]),
        "CrossMapLRN2d": (lambda: nn.CrossMapLRN2d(3), [X4]),
        "SyncBatchNorm": (lambda: nn.SyncBatchNorm(3), [X4]),
        "LazyLinear": (lambda: _materialized(nn.LazyLinear(5), X2), [X2]),
        "LazyConv1d": (lambda: _materialized(nn.LazyConv1d(4, 3), X3), [X3]),
        "LazyConv2d": (lambda: _materialized(nn.LazyConv2d(4, 3), X4), [X4]),
        "LazyConv3d": (lambda: _materialized(nn.LazyConv3d(4, 3), X5), [X5]),
        "LazyConvTranspose1d": (lambda: _materialized(nn.LazyConvTranspose1d(4, 3), X3), [X3]),
        "LazyConvTranspose2d": (lambda: _materialized(nn.LazyConvTranspose2d(4, 3), X4), [X4]),
        "LazyConvTranspose3d": (lambda: _materialized(nn.LazyConvTranspose3d(4, 3), X5), [X5]),
        "LazyBatchNorm1d": (lambda: _materialized(nn.LazyBatchNorm1d(), X3), [X3]),
        "LazyBatchNorm2d": (lambda: _materialized(nn.LazyBatchNorm2d(), X4), [X4]),
        "LazyBatchNorm3d": (lambda: _materialized(nn.LazyBatchNorm3d(), X5), [X5]),
        "LazyInstanceNorm1d": (lambda: _materialized(nn.LazyInstanceNorm1d(), X3), [X3]),
        "LazyInstanceNorm2d": (lambda: _materialized(nn.LazyInstanceNorm2d(), X4), [X4]),
        "LazyInstanceNorm3d": (lambda: _materialized(nn.LazyInstanceNorm3d(), X5), [X5]),
        "NLLLoss2d": (nn.NLLLoss2d, [_f(2, 4, 3, 3), _i(4, 2, 3, 3)]),
        "TripletMarginWithDistanceLoss": (nn.TripletMarginWithDistanceLoss, [X2, X2, X2]),
        "AdaptiveLogSoftmaxWithLoss": (lambda: _AdaptiveSoftmax(), [X2, _i(20, 4)]),
        "LinearCrossEntropyLoss": (lambda: nn.LinearCrossEntropyLoss(6, 5), [X2, _i(5, 4)]),
    }
)
_SAMPLES2 = ember.rand(2, 3, 2, generator=ember.Generator().manual_seed(0))  # fixed windows
_SAMPLES3 = ember.rand(2, 3, 3, generator=ember.Generator().manual_seed(0))

NOT_LAYERS = {
    "Container",  # PyTorch's deprecated empty base class
    "DataParallel",  # a wrapper that replicates other layers (tests/nn/parallel)
    "Module",
    "ModuleDict",
    "ModuleList",
    "ParameterDict",
    "ParameterList",
    "Sequential",
    "RNNBase",
    "RNNCellBase",
}


class _Unpool(nn.Module):
    """MaxPool then MaxUnpool (the unpool needs the pool's indices)."""

    def __init__(self, dims: int) -> None:
        super().__init__()
        pool, unpool = {
            1: (nn.MaxPool1d, nn.MaxUnpool1d),
            2: (nn.MaxPool2d, nn.MaxUnpool2d),
            3: (nn.MaxPool3d, nn.MaxUnpool3d),
        }[dims]
        self.pool, self.unpool = pool(2, return_indices=True), unpool(2)

    def forward(self, x):
        return self.unpool(*self.pool(x))


def _materialized(layer, maker):
    """A lazy layer after one forward pass on an input like the test's (its shapes inferred)."""
    with ember.no_grad():
        layer(ember.tensor(maker(np.random.default_rng(0))))
    return layer


class _AdaptiveSoftmax(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.asm = nn.AdaptiveLogSoftmaxWithLoss(6, 20, cutoffs=[5, 10], div_value=2.0)

    def forward(self, x, target):
        return self.asm(x, target).output


class _CTC(nn.Module):
    def forward(self, x):
        targets = ember.tensor([[1, 2], [3, 3]], device=x.device)
        lengths = ember.tensor([6, 5], device=x.device)
        return nn.CTCLoss()(x.log_softmax(2), targets, lengths, ember.tensor([2, 2], device=x.device))


def test_the_table_covers_every_layer():
    layers = {n for n in dir(nn) if inspect.isclass(getattr(nn, n)) and issubclass(getattr(nn, n), nn.Module)}
    assert sorted(layers - NOT_LAYERS - set(LAYERS)) == []


def _outputs(out):
    if isinstance(out, ember.Tensor):
        return [out]
    found = []
    for o in out if isinstance(out, (tuple, list)) else ():
        found += _outputs(o)
    return found


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_on_cuda_matches_cpu(name, device):
    make, makers = LAYERS[name]
    rng = np.random.default_rng(0)
    arrays = [m(rng) for m in makers]
    ember.manual_seed(0)
    layer = make()
    on_device = make()
    on_device.load_state_dict(layer.state_dict())
    on_device.to(device)
    assert all(p.device.type == "cuda" for p in on_device.parameters())
    results = []
    for module, where in ((layer, "cpu"), (on_device, device)):
        inputs = [ember.tensor(a, device=where, requires_grad=a.dtype.kind == "f") for a in arrays]
        outs = _outputs(module(*inputs))
        weights = [
            ember.tensor(
                np.random.default_rng(1).standard_normal(tuple(o.shape)), dtype=o.dtype, device=where
            )
            for o in outs
            if o.requires_grad
        ]
        if weights:
            sum((o * w).sum() for o, w in zip([o for o in outs if o.requires_grad], weights)).backward()
        grads = [t.grad for t in inputs] + [p.grad for p in module.parameters()]
        results.append((outs, grads))
    (cpu_outs, cpu_grads), (dev_outs, dev_grads) = results
    for i, (d, c) in enumerate(zip(dev_outs, cpu_outs)):
        assert_same(d, c, what=f"{name} output {i}")
    for i, (d, c) in enumerate(zip(dev_grads, cpu_grads)):
        assert (d is None) == (c is None), f"{name} gradient {i}"
        if c is not None:
            assert_same(d, c, atol=1e-4, what=f"{name} gradient {i}")
