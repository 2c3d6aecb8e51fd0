"""interpolate/Upsample, pixel_shuffle, unfold/fold, and small CNNs that train."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd.numerical import gradcheck, gradgradcheck
from ember.nn import functional as F
from tests.helpers import torch_or_skip


def compare_fn(e_fn, t_fn, shape, rtol=1e-10):
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    e_out, t_out = e_fn(ex), t_fn(tx)
    assert tuple(e_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=rtol, atol=1e-12)
    g = rng.standard_normal(tuple(t_out.shape))
    e_out.backward(ember.tensor(g))
    t_out.backward(torch.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=1e-12)


MODES_2D = [
    ("nearest", None),
    ("nearest-exact", None),
    ("bilinear", False),
    ("bilinear", True),
    ("bicubic", False),
    ("bicubic", True),
    ("area", None),
]


@pytest.mark.parametrize("mode,align", MODES_2D, ids=str)
@pytest.mark.parametrize(
    "kwargs",
    [{"size": (5, 7)}, {"scale_factor": 2}, {"scale_factor": (0.5, 1.7)}, {"size": (3, 3)}, {"size": 1}],
    ids=str,
)
def test_interpolate_2d_matches_torch(mode, align, kwargs):
    torch = torch_or_skip()
    compare_fn(
        lambda x, kw=kwargs: F.interpolate(x, mode=mode, align_corners=align, **kw),
        lambda x: torch.nn.functional.interpolate(x, mode=mode, align_corners=align, **kwargs),
        (2, 3, 6, 5),
    )


@pytest.mark.parametrize("mode,align", [("nearest", None), ("linear", False), ("linear", True)], ids=str)
def test_interpolate_1d_matches_torch(mode, align):
    torch = torch_or_skip()
    for kwargs in ({"scale_factor": 1.5}, {"size": 4}, {"scale_factor": 3, "recompute_scale_factor": True}):
        compare_fn(
            lambda x, kw=kwargs: F.interpolate(x, mode=mode, align_corners=align, **kw),
            lambda x, kw=kwargs: torch.nn.functional.interpolate(x, mode=mode, align_corners=align, **kw),
            (2, 3, 7),
        )


def test_interpolate_float32_and_upsample_modules():
    torch = torch_or_skip()
    x = np.random.default_rng(1).standard_normal((1, 2, 5, 4)).astype(np.float32)
    pairs = [
        (nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
        (
            nn.Upsample(size=(3, 4), mode="bilinear", align_corners=True),
            torch.nn.Upsample(size=(3, 4), mode="bilinear", align_corners=True),
        ),
        (nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(scale_factor=3)),
        (nn.UpsamplingBilinear2d(size=7), torch.nn.UpsamplingBilinear2d(size=7)),
    ]
    for e, t in pairs:
        assert repr(e) == repr(t)
        np.testing.assert_allclose(
            e(ember.tensor(x)).numpy(), t(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6
        )


def test_interpolate_gradcheck():
    x = ember.tensor(np.random.default_rng(2).standard_normal((1, 2, 3, 4)), requires_grad=True)
    assert gradcheck(lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), (x,))
    assert gradgradcheck(lambda x: F.interpolate(x, size=(5, 3), mode="bicubic", align_corners=True), (x,))
    assert gradcheck(lambda x: F.interpolate(x, size=(5, 7)), (x,))


def test_interpolate_errors():
    x = ember.ones(1, 1, 4, 4)
    with pytest.raises(ValueError, match="exactly one of size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(NotImplementedError, match="mode 'linear' needs a 3-dim input"):
        F.interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(x, scale_factor=2, align_corners=True)


def test_pixel_shuffle_round_trip_matches_torch():
    torch = torch_or_skip()
    compare_fn(
        lambda x: F.pixel_shuffle(x, 2), lambda x: torch.nn.functional.pixel_shuffle(x, 2), (2, 8, 3, 4)
    )
    compare_fn(
        lambda x: F.pixel_unshuffle(x, 3), lambda x: torch.nn.functional.pixel_unshuffle(x, 3), (3, 6, 9)
    )
    assert repr(nn.PixelShuffle(2)) == repr(torch.nn.PixelShuffle(2))
    assert repr(nn.PixelUnshuffle(2)) == repr(torch.nn.PixelUnshuffle(2))
    x = ember.randn(1, 8, 3, 3)
    np.testing.assert_array_equal(nn.PixelUnshuffle(2)(nn.PixelShuffle(2)(x)).numpy(), x.numpy())
    with pytest.raises(RuntimeError, match="divisible by upscale_factor"):
        F.pixel_shuffle(ember.ones(1, 3, 2, 2), 2)


@pytest.mark.parametrize(
    "kw",
    [
        {"kernel_size": 2},
        {"kernel_size": (2, 3), "dilation": (1, 2), "padding": 1, "stride": (2, 1)},
        {"kernel_size": 3, "padding": 1, "stride": 2},
    ],
    ids=str,
)
def test_unfold_fold_match_torch(kw):
    torch = torch_or_skip()
    tf = torch.nn.functional
    compare_fn(lambda x: F.unfold(x, **kw), lambda x: tf.unfold(x, **kw), (2, 3, 7, 8))
    cols_shape = tuple(tf.unfold(torch.zeros(2, 3, 7, 8), **kw).shape)
    compare_fn(lambda c: F.fold(c, (7, 8), **kw), lambda c: tf.fold(c, (7, 8), **kw), cols_shape)
    e, t = nn.Fold((7, 8), **kw), torch.nn.Fold((7, 8), **kw)
    assert repr(e) == repr(t) and repr(nn.Unfold(**kw)) == repr(torch.nn.Unfold(**kw))


def test_unfold_fold_gradcheck_and_errors():
    x = ember.tensor(np.random.default_rng(3).standard_normal((1, 2, 4, 4)), requires_grad=True)
    assert gradgradcheck(lambda x: F.unfold(x, 2, padding=1, stride=2), (x,))
    c = ember.tensor(np.random.default_rng(4).standard_normal((1, 8, 9)), requires_grad=True)
    assert gradcheck(lambda c: F.fold(c, (4, 4), 2), (c,))
    with pytest.raises(RuntimeError, match="number of blocks 9"):
        F.fold(ember.ones(1, 8, 10), (4, 4), 2)


# -- small CNNs train ---------------------------------------------------------------------------
def _loss(logits, target):
    if hasattr(F, "cross_entropy"):
        return F.cross_entropy(logits, target)
    return -logits.log_softmax(1).gather(1, target.unsqueeze(1)).mean()


def _train(model, x, y, steps=8, lr=0.05):
    optim = ember.optim.SGD(model.parameters(), lr=lr, momentum=0.9) if hasattr(ember, "optim") else None
    losses = []
    for _ in range(steps):
        loss = _loss(model(x), y)
        model.zero_grad()
        loss.backward()
        if optim is not None:
            optim.step()
        else:
            with ember.no_grad():
                for p in model.parameters():
                    p -= lr * p.grad
        losses.append(loss.item())
    return losses


def _synthetic(n: int, shape: tuple, classes: int):
    """Noisy copies of one random template per class: learnable in a few steps."""
    templates = ember.randn(classes, *shape)
    y = ember.arange(n) % classes
    return templates[y] + 0.5 * ember.randn(n, *shape), y


def lenet5() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


def test_lenet5_loss_falls():
    ember.manual_seed(0)
    x, y = _synthetic(32, (1, 28, 28), 10)
    losses = _train(lenet5(), x, y, steps=15, lr=0.1)
    assert losses[-1] < 0.7 * losses[0], losses


class Block(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        norm = getattr(nn, "BatchNorm2d", None)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=norm is None)
        self.bn1 = norm(channels) if norm else nn.Identity()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=norm is None)
        self.bn2 = norm(channels) if norm else nn.Identity()

    def forward(self, x):
        out = self.bn1(self.conv1(x)).relu()
        return (self.bn2(self.conv2(out)) + x).relu()


def test_small_resnet_loss_falls():
    ember.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        Block(8),
        nn.MaxPool2d(2),
        Block(8),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 4),
    )
    x, y = _synthetic(16, (3, 12, 12), 4)
    losses = _train(model, x, y, steps=12, lr=0.05)
    assert losses[-1] < 0.8 * losses[0], losses


@pytest.mark.parametrize("shape,groups", [((2, 6, 3), 3), ((1, 8, 2, 2), 2), ((1, 4, 1, 2, 2), 4)])
def test_channel_shuffle_matches_torch(shape, groups):
    torch = torch_or_skip()
    compare_fn(
        lambda x: F.channel_shuffle(x, groups),
        lambda x: torch.nn.functional.channel_shuffle(x, groups),
        shape,
    )
    x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    np.testing.assert_array_equal(
        nn.ChannelShuffle(groups)(ember.tensor(x)).numpy(),
        torch.nn.ChannelShuffle(groups)(torch.tensor(x)).numpy(),
    )
    assert F.native_channel_shuffle(ember.tensor(x), groups).shape == shape
    assert repr(nn.ChannelShuffle(groups)) == repr(torch.nn.ChannelShuffle(groups))


def test_channel_shuffle_errors():
    with pytest.raises(RuntimeError, match="divisible"):
        F.channel_shuffle(ember.ones(1, 5, 2), 2)
    with pytest.raises(RuntimeError, match="positive"):
        F.channel_shuffle(ember.ones(1, 4, 2), 0)
