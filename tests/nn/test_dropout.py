"""Dropout layers: statistics, reproducibility under manual_seed, eval identity, gradients, errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn import functional as F
from tests.helpers import torch_or_skip


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(p):
    x = ember.ones(200_000)
    out = F.dropout(x, p).numpy()
    kept = out != 0
    assert abs(1 - kept.mean() - p) < 0.01
    np.testing.assert_allclose(out[kept], 1 / (1 - p), rtol=1e-6)
    assert abs(out.mean() - 1.0) < 0.02


def test_manual_seed_reproduces_masks():
    layers = [
        nn.Dropout(0.3),
        nn.Dropout1d(0.3),
        nn.Dropout2d(0.3),
        nn.Dropout3d(0.3),
        nn.AlphaDropout(0.3),
        nn.FeatureAlphaDropout(0.3),
    ]
    shapes = [(4, 5), (4, 5, 6), (4, 5, 3, 3), (2, 5, 2, 2, 2), (4, 5), (4, 5, 6)]
    for layer, shape in zip(layers, shapes):
        x = ember.randn(*shape)
        ember.manual_seed(7)
        a = layer(x)
        ember.manual_seed(7)
        b = layer(x)
        c = layer(x)
        assert np.array_equal(a.numpy(), b.numpy()), type(layer).__name__
        assert not np.array_equal(b.numpy(), c.numpy()), type(layer).__name__


def test_eval_mode_and_p_zero_are_identity():
    x = ember.randn(3, 4, 5, 5)
    for layer in (nn.Dropout(), nn.Dropout2d(), nn.AlphaDropout(), nn.FeatureAlphaDropout()):
        assert layer.eval()(x) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).numpy(), np.zeros(x.shape))


def test_feature_dropout_zeroes_whole_channels():
    x = ember.ones(8, 16, 5, 5)
    out = F.dropout2d(x, 0.5).numpy()
    per_channel = out.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0 < (per_channel == 0).all(-1).sum() < 128
    unbatched = F.dropout1d(ember.ones(16, 7), 0.5).numpy()
    assert np.all((unbatched == 0).all(-1) | (unbatched == 2).all(-1))
    with pytest.warns(UserWarning, match="3D input to dropout2d"):
        F.dropout2d(ember.ones(2, 3, 4), 0.5)


def test_dropout_gradient_is_the_mask():
    x = ember.randn(50, 40, requires_grad=True)
    out = F.dropout(x, 0.4)
    out.sum().backward()
    mask = out.detach().numpy() / x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), mask, rtol=1e-5)


def test_inplace_dropout_in_graph():
    x = ember.randn(10, 10, requires_grad=True)
    mid = x * 1.0
    out = F.dropout(mid, 0.5, inplace=True)
    assert out is mid
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (mid.detach().numpy() != 0) * 2.0, rtol=1e-6)


@pytest.mark.parametrize(
    "fn,shape", [(F.alpha_dropout, (400_000,)), (F.feature_alpha_dropout, (4000, 100, 1))]
)
def test_alpha_dropout_keeps_mean_and_variance(fn, shape):
    x = ember.randn(*shape)
    out = fn(x, 0.3, training=True).numpy()
    assert abs(out.mean()) < 0.02 and abs(out.std() - 1) < 0.02


def test_alpha_dropout_values_match_torch_formula():
    torch = torch_or_skip()
    x = np.random.randn(20000).astype(np.float32)
    out = F.alpha_dropout(ember.tensor(x), 0.2, training=True).numpy()
    t_out = torch.nn.functional.alpha_dropout(torch.tensor(x), 0.2, training=True).numpy()
    # the dropped value (the most frequent one) and the affine map of kept values are PyTorch's
    fits = []
    for values in (out, t_out):
        uniq, counts = np.unique(values, return_counts=True)
        dropped = uniq[counts.argmax()]
        kept = values != dropped
        assert abs(kept.mean() - 0.8) < 0.02
        fits.append([dropped, *np.polyfit(x[kept], values[kept], 1)])
    np.testing.assert_allclose(fits[0], fits[1], rtol=1e-4, atol=1e-5)


def test_errors():
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        F.dropout(ember.ones(2), 1.5)
    with pytest.raises(ValueError, match="Dropout.*-0.1"):
        nn.Dropout(-0.1)
    with pytest.raises(RuntimeError, match=r"dropout1d.*2D or 3D.*1D input of shape \[3\]"):
        F.dropout1d(ember.ones(3))


def test_reprs_match_torch():
    torch = torch_or_skip()
    for name in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"):
        assert repr(getattr(nn, name)(0.3, True)) == repr(getattr(torch.nn, name)(0.3, True))


@pytest.mark.parametrize(
    "op,shape,drop_shape",
    [
        ("dropout2d", (4, 6), (4, 6)),
        ("dropout2d", (2, 3, 4, 5, 6), (2, 3, 1, 1, 1)),
        ("dropout3d", (4, 6), (4, 1)),
        ("dropout3d", (6,), (6,)),
        ("dropout3d", (4, 3, 5), (4, 1, 1)),
    ],
)
def test_feature_dropout_of_unexpected_rank_warns_and_proceeds(op, shape, drop_shape):
    """As PyTorch: a deprecation warning, then dropout along dims 0 and 1 (or dim 0, unbatched)."""
    with pytest.warns(UserWarning, match=f"Received a {len(shape)}-D input to {op}"):
        out = getattr(F, op)(ember.ones(*shape), 0.5).numpy()
    assert set(np.unique(out)) <= {0.0, 2.0}
    # constant across the dims the mask broadcasts over
    reduced = out.reshape(drop_shape + (-1,)) if drop_shape != shape else out[..., None]
    assert (reduced == reduced[..., :1]).all()


def test_dropout2d_layer_on_2d_input_warns_not_raises():
    with pytest.warns(UserWarning, match="dropout2d"):
        assert nn.Dropout2d(0.5)(ember.ones(4, 6)).shape == (4, 6)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"), pytest.warns(UserWarning):
        F.dropout2d(ember.ones(6), 0.5)
