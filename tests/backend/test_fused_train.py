"""The training kernels' references (``backend/fused/{dropout,rnn,conv}.py``) on NumPy: each
against a float64 composite, Philox against its published test vectors, and the dropout masks'
statistics. ``tests/cuda/test_fused_train.py`` checks the device kernels against these."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.backend.fused import conv, dropout, rnn
from ember.nn._functional.dropout import philox_key
from ember.ops import conv as conv_ops


def _rand(rng, *shape):
    return rng.standard_normal(shape)


# -- dropout ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "counter,key,expected",
    [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        (
            (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
            (0xA4093822, 0x299F31D0),
            (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
        ),
    ],
)
def test_philox4x32_10_matches_the_published_known_answers(counter, key, expected):
    assert tuple(int(w) for w in dropout.philox4x32(np, counter, key)) == expected


def test_keep_mask_keeps_one_minus_p_and_depends_only_on_seed_and_offset():
    shape = (200, 500)
    mask = dropout.keep_mask(np, shape, 0.3, seed=123, offset=4)
    assert mask.dtype == np.uint8 and mask.shape == shape and set(np.unique(mask)) <= {0, 1}
    assert abs(mask.mean() - 0.7) < 4 * np.sqrt(0.21 / mask.size)
    assert abs(mask[:, ::2].mean() - mask[:, 1::2].mean()) < 0.01  # no pattern along the index
    np.testing.assert_array_equal(mask, dropout.keep_mask(np, shape, 0.3, seed=123, offset=4))
    for other in (dropout.keep_mask(np, shape, 0.3, 123, 5), dropout.keep_mask(np, shape, 0.3, 124, 4)):
        agree = (other == mask).mean()
        assert 0.5 < agree < 0.65  # independent draws agree on 0.7^2 + 0.3^2 = 58% of elements


def test_keep_threshold_ends():
    assert dropout.keep_threshold(0.0) == 2**32 and dropout.keep_threshold(1.0) == 0
    assert dropout.keep_threshold(0.5) == 2**31


def test_dropout_reference_is_the_masked_product_and_its_backward():
    rng = np.random.default_rng(0)
    x = _rand(rng, 6, 9)
    out, mask = dropout.dropout(x, 0.4, 7, 11)
    np.testing.assert_array_equal(mask, dropout.keep_mask(np, x.shape, 0.4, 7, 11))
    np.testing.assert_allclose(out, x * mask / 0.6, rtol=1e-15)
    g = _rand(rng, 6, 9)
    np.testing.assert_allclose(dropout.dropout_backward(g, mask, 1 / 0.6), g * mask / 0.6, rtol=1e-15)


def test_philox_key_comes_from_the_generator_and_advances_it():
    ember.manual_seed(3)
    first, second = philox_key(), philox_key()
    assert first != second
    ember.manual_seed(3)
    assert philox_key() == first
    state = ember.get_rng_state()
    key = philox_key()
    ember.set_rng_state(state)
    assert philox_key() == key


def test_dropout_primitive_on_arrays_matches_the_reference_mask():
    x = ember.randn(5, 8, dtype=ember.float64, requires_grad=True)
    y = ember.ops.dropout.Dropout.apply(x, 0.25, 9, 2)
    mask = dropout.keep_mask(np, (5, 8), 0.25, 9, 2)
    np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy() * mask / 0.75, rtol=1e-15)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), mask / 0.75, rtol=1e-15)


# -- recurrent gates ----------------------------------------------------------------------------
def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_lstm_gates_match_the_composite():
    rng = np.random.default_rng(1)
    b, h = 3, 4
    gx, gh, c_prev = _rand(rng, b, 4 * h), _rand(rng, b, 4 * h), _rand(rng, b, h)
    acts, c, tanh_c, out = np.empty((b, 4 * h)), np.empty((b, h)), np.empty((b, h)), np.empty((b, h))
    rnn.lstm_gates(gx, gh, c_prev, acts, c, tanh_c, out)
    i, f, g, o = np.split(gx + gh, 4, axis=1)
    i, f, g, o = _sigmoid(i), _sigmoid(f), np.tanh(g), _sigmoid(o)
    expected_c = f * c_prev + i * g
    np.testing.assert_allclose(acts, np.concatenate([i, f, g, o], 1), rtol=1e-14)
    np.testing.assert_allclose(c, expected_c, rtol=1e-14)
    np.testing.assert_allclose(tanh_c, np.tanh(expected_c), rtol=1e-14)
    np.testing.assert_allclose(out, o * np.tanh(expected_c), rtol=1e-14)


def test_lstm_gates_backward_matches_autograd():
    rng = np.random.default_rng(2)
    b, h = 3, 4
    pre = ember.tensor(_rand(rng, b, 4 * h), requires_grad=True)
    c_prev = ember.tensor(_rand(rng, b, h), requires_grad=True)
    i, f, g, o = pre.chunk(4, 1)
    c = f.sigmoid() * c_prev + i.sigmoid() * g.tanh()
    h_new = o.sigmoid() * c.tanh()
    dh, dc = _rand(rng, b, h), _rand(rng, b, h)
    (h_new * ember.tensor(dh) + c * ember.tensor(dc)).sum().backward()
    acts, cell, tanh_c, out = (np.empty(s) for s in [(b, 4 * h), (b, h), (b, h), (b, h)])
    rnn.lstm_gates(
        pre.detach().numpy(), np.zeros((b, 4 * h)), c_prev.detach().numpy(), acts, cell, tanh_c, out
    )
    dgates, dc_inout = np.empty((b, 4 * h)), dc.copy()
    rnn.lstm_gates_backward(dh, dc_inout, acts, tanh_c, c_prev.detach().numpy(), dgates)
    np.testing.assert_allclose(dgates, pre.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dc_inout, c_prev.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_gru_gates_and_backward_match_autograd():
    rng = np.random.default_rng(3)
    b, h = 3, 4
    gx = ember.tensor(_rand(rng, b, 3 * h), requires_grad=True)
    gh = ember.tensor(_rand(rng, b, 3 * h), requires_grad=True)
    h_prev = ember.tensor(_rand(rng, b, h), requires_grad=True)
    x_r, x_z, x_n = gx.chunk(3, 1)
    h_r, h_z, h_n = gh.chunk(3, 1)
    r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    h_new = (1 - z) * n + z * h_prev
    dh = _rand(rng, b, h)
    (h_new * ember.tensor(dh)).sum().backward()
    arrays = [t.detach().numpy() for t in (gx, gh, h_prev)]
    acts, out = np.empty((b, 3 * h)), np.empty((b, h))
    rnn.gru_gates(*arrays, acts, out)
    np.testing.assert_allclose(out, h_new.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(acts, ember.cat([r, z, n], 1).detach().numpy(), rtol=1e-14)
    dgx, dgh, direct = np.empty((b, 3 * h)), np.empty((b, 3 * h)), np.empty((b, h))
    rnn.gru_gates_backward(dh, acts, arrays[1], arrays[2], dgx, dgh, direct)
    np.testing.assert_allclose(dgx, gx.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dgh, gh.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(direct, dh * z.detach().numpy(), rtol=1e-14)


# -- convolution glue ---------------------------------------------------------------------------
GEOMETRIES = [
    ((3, 3), (1, 1), (1, 1), (1, 1)),
    ((2, 3), (2, 1), (0, 2), (1, 1)),
    ((3, 2), (1, 2), (2, 1), (2, 1)),
]


@pytest.mark.parametrize("kernel,stride,padding,dilation", GEOMETRIES)
def test_im2col_and_col2im_match_ops_conv_and_are_adjoint(kernel, stride, padding, dilation):
    rng = np.random.default_rng(4)
    x = _rand(rng, 2, 3, 7, 8)
    geo = conv_ops.ConvGeometry(stride, padding, dilation, 1, kernel, (7, 8))
    geometry = (geo.kernel, geo.out_hw, stride, padding, dilation)
    cols = conv.im2col(x, geometry)
    np.testing.assert_array_equal(cols, conv_ops.im2col(np, x, geo))
    c = _rand(rng, *cols.shape)
    back = conv.col2im(c, 2, 3, (7, 8), geometry)
    np.testing.assert_allclose(back, conv_ops.col2im(np, c, 2, 3, geo), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose((cols * c).sum(), (x * back).sum(), rtol=1e-12)
