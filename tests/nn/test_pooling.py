"""Pooling layers and functions against PyTorch and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd.numerical import gradcheck, gradgradcheck
from ember.nn import functional as F
from tests.helpers import torch_or_skip


def compare_fn(e_fn, t_fn, shape, seed=0, tie_values=False):
    """Outputs (and indices when returned) equal; input gradients equal for a random output grad."""
    torch = torch_or_skip()
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, shape).astype(np.float64) if tie_values else rng.standard_normal(shape)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    e_out, t_out = e_fn(ex), t_fn(tx)
    if isinstance(t_out, tuple):
        np.testing.assert_array_equal(e_out[1].numpy(), t_out[1].numpy())
        assert e_out[1].dtype == ember.int64
        e_out, t_out = e_out[0], t_out[0]
    assert tuple(e_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(tuple(t_out.shape))
    e_out.backward(ember.tensor(g))
    t_out.backward(torch.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


MAX_CASES = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "ceil_mode": True},
    {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 1), "ceil_mode": True},
    {"kernel_size": 3, "stride": 1, "dilation": 2, "padding": 1},
    {"kernel_size": 2, "stride": 1},
    {"kernel_size": 4, "stride": 3, "padding": 2, "ceil_mode": True},
]


@pytest.mark.parametrize("case", MAX_CASES, ids=str)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool2d_matches_torch(case, ties):
    torch = torch_or_skip()
    compare_fn(
        lambda x: F.max_pool2d(x, return_indices=True, **case),
        lambda x: torch.nn.functional.max_pool2d(x, return_indices=True, **case),
        (2, 3, 9, 8),
        tie_values=ties,
    )
    compare_fn(
        lambda x: F.max_pool2d(x, **case), lambda x: torch.nn.functional.max_pool2d(x, **case), (3, 7, 10)
    )


@pytest.mark.parametrize(
    "case",
    [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        {"kernel_size": 3, "dilation": 2},
    ],
    ids=str,
)
def test_max_pool1d_matches_torch(case):
    torch = torch_or_skip()
    compare_fn(
        lambda x: F.max_pool1d(x, return_indices=True, **case),
        lambda x: torch.nn.functional.max_pool1d(x, return_indices=True, **case),
        (2, 3, 11),
    )


AVG_CASES = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    {"kernel_size": 3, "stride": 2, "ceil_mode": True},
    {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 1), "divisor_override": 4},
    {"kernel_size": 3, "stride": 1},
]


@pytest.mark.parametrize("case", AVG_CASES, ids=str)
def test_avg_pool2d_matches_torch(case):
    torch = torch_or_skip()
    compare_fn(
        lambda x: F.avg_pool2d(x, **case), lambda x: torch.nn.functional.avg_pool2d(x, **case), (2, 3, 9, 8)
    )


def test_avg_pool1d_and_lp_pool_match_torch():
    torch = torch_or_skip()
    tf = torch.nn.functional
    compare_fn(
        lambda x: F.avg_pool1d(x, 3, 2, 1, count_include_pad=False),
        lambda x: tf.avg_pool1d(x, 3, 2, 1, count_include_pad=False),
        (2, 3, 10),
    )
    compare_fn(lambda x: F.lp_pool2d(x, 2, 2), lambda x: tf.lp_pool2d(x, 2, 2), (2, 3, 6, 4))
    compare_fn(lambda x: F.lp_pool1d(x.abs(), 3, 3, 2), lambda x: tf.lp_pool1d(x.abs(), 3, 3, 2), (2, 3, 9))


@pytest.mark.parametrize("size", [(3, 4), 1, (7, 8), (2, None), (5, 3), (4, 2)], ids=str)
def test_adaptive_pools_match_torch(size):
    torch = torch_or_skip()
    tf = torch.nn.functional
    compare_fn(
        lambda x: F.adaptive_avg_pool2d(x, size), lambda x: tf.adaptive_avg_pool2d(x, size), (2, 3, 7, 8)
    )
    compare_fn(
        lambda x: F.adaptive_max_pool2d(x, size, True),
        lambda x: tf.adaptive_max_pool2d(x, size, True),
        (2, 3, 7, 8),
        tie_values=True,
    )


def test_adaptive_1d_pools_match_torch():
    torch = torch_or_skip()
    tf = torch.nn.functional
    compare_fn(lambda x: F.adaptive_avg_pool1d(x, 4), lambda x: tf.adaptive_avg_pool1d(x, 4), (2, 3, 9))
    compare_fn(
        lambda x: F.adaptive_max_pool1d(x, 4, True), lambda x: tf.adaptive_max_pool1d(x, 4, True), (2, 3, 9)
    )


def test_max_unpool_matches_torch():
    torch = torch_or_skip()
    x = np.random.default_rng(3).standard_normal((2, 3, 8, 7))
    _, e_idx = F.max_pool2d(ember.tensor(x), 2, return_indices=True)
    _, t_idx = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    compare_fn(
        lambda v: F.max_unpool2d(v, e_idx, 2, output_size=(8, 7)),
        lambda v: torch.nn.functional.max_unpool2d(v, t_idx, 2, output_size=(8, 7)),
        (2, 3, 4, 3),
    )
    _, e1 = F.max_pool1d(ember.tensor(x[:, :, 0]), 2, return_indices=True)
    _, t1 = torch.nn.functional.max_pool1d(torch.tensor(x[:, :, 0]), 2, return_indices=True)
    compare_fn(
        lambda v: F.max_unpool1d(v, e1, 2), lambda v: torch.nn.functional.max_unpool1d(v, t1, 2), (2, 3, 3)
    )


def test_pool_modules_repr_and_forward_match_torch():
    torch = torch_or_skip()
    pairs = [
        (nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
        (nn.MaxPool1d(3, 2), torch.nn.MaxPool1d(3, 2)),
        (nn.AvgPool2d(2), torch.nn.AvgPool2d(2)),
        (nn.AvgPool1d(3), torch.nn.AvgPool1d(3)),
        (nn.AdaptiveAvgPool2d((5, None)), torch.nn.AdaptiveAvgPool2d((5, None))),
        (nn.AdaptiveAvgPool1d(3), torch.nn.AdaptiveAvgPool1d(3)),
        (nn.AdaptiveMaxPool2d(3), torch.nn.AdaptiveMaxPool2d(3)),
        (nn.LPPool2d(2, 3), torch.nn.LPPool2d(2, 3)),
    ]
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 9)).astype(np.float32)
    for e, t in pairs:
        assert repr(e) == repr(t)
        inp = x[:, :, 0] if "1d" in type(e).__name__ else x
        if isinstance(e, nn.LPPool2d):
            inp = np.abs(inp)
        np.testing.assert_allclose(
            e(ember.tensor(inp)).numpy(), t(torch.tensor(inp)).numpy(), rtol=1e-5, atol=1e-6
        )
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    assert repr(unpool) == repr(torch.nn.MaxUnpool2d(2))
    out, idx = pool(ember.tensor(x))
    t_out, t_idx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(
        unpool(out, idx, output_size=x.shape).numpy(),
        torch.nn.MaxUnpool2d(2)(t_out, t_idx, output_size=x.shape).numpy(),
    )


def _rand(*shape):
    return ember.tensor(np.random.default_rng(sum(shape)).standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize(
    "case", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}], ids=str
)
def test_pool_gradcheck_and_double_backward(case):
    x = _rand(1, 2, 5, 6)
    assert gradcheck(lambda x: F.max_pool2d(x, **case), (x,))
    assert gradgradcheck(lambda x: F.max_pool2d(x, **case), (x,))
    assert gradcheck(lambda x: F.avg_pool2d(x, **case), (x,))
    assert gradgradcheck(lambda x: F.avg_pool2d(x, **case), (x,))


def test_adaptive_and_unpool_gradcheck():
    x = _rand(1, 2, 5, 7)
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 2)), (x,))
    assert gradgradcheck(lambda x: F.adaptive_max_pool2d(x, (3, 4)), (x,))
    _, idx = F.max_pool2d(x.detach(), 2, return_indices=True)
    assert gradgradcheck(lambda v: F.max_unpool2d(v, idx, 2), (_rand(1, 2, 2, 3),))


def test_max_pool_double_backward_matches_torch():
    torch = torch_or_skip()
    x = np.random.default_rng(5).standard_normal((1, 2, 6, 6))
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (eg,) = ember.autograd.grad((F.max_pool2d(ex, 3, 2, 1) ** 2).sum(), ex, create_graph=True)
    (tg,) = torch.autograd.grad(
        (torch.nn.functional.max_pool2d(tx, 3, 2, 1) ** 2).sum(), tx, create_graph=True
    )
    (eg * ex).sum().backward()
    (tg * tx).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-10)


def test_pool_errors():
    with pytest.raises(RuntimeError, match=r"max_pool2d: expected a 4-dim \(N, C, H, W\).*\[5\]"):
        F.max_pool2d(ember.ones(5), 2)
    with pytest.raises(RuntimeError, match="pad should be at most half of kernel size"):
        F.max_pool2d(ember.ones(1, 1, 8, 8), 2, padding=2)
    with pytest.raises(RuntimeError, match=r"too small: computed output size \[0, 0\]"):
        F.avg_pool2d(ember.ones(1, 1, 2, 2), 3)
    with pytest.raises(RuntimeError, match="indices outside|outside the output plane"):
        F.max_unpool2d(ember.ones(1, 1, 2, 2), ember.tensor([[[[0, 1], [2, 99]]]]), 2)


def test_max_pool_nan_like_torch():
    torch = torch_or_skip()
    x = np.array([[[[1.0, np.nan, 3.0, np.nan], [np.nan, 2.0, 5.0, 1.0]]]])
    e_out, e_idx = F.max_pool2d(ember.tensor(x), 2, return_indices=True)
    _, t_idx = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(e_idx.numpy(), t_idx.numpy())
    assert np.isnan(e_out.numpy()).all()


# Windows that tile the input (stride = kernel, no padding or dilation) take a fast path in
# MaxPool2d (ember/ops/pool.py: contiguous planes per kernel offset); it must match PyTorch,
# the general path, first-maximum ties and NaN handling included.
TILE_CASES = [
    ({"kernel_size": 2}, (2, 3, 8, 6)),
    ({"kernel_size": 3}, (2, 3, 9, 6)),
    ({"kernel_size": (2, 3), "stride": (2, 3)}, (2, 3, 8, 9)),
    ({"kernel_size": 2, "stride": 2}, (3, 4, 10)),  # unbatched
]


@pytest.mark.parametrize("case, shape", TILE_CASES, ids=str)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool2d_tiles_match_torch(case, shape, ties):
    torch = torch_or_skip()
    for seed in range(3):
        compare_fn(
            lambda x: F.max_pool2d(x, return_indices=True, **case),
            lambda x: torch.nn.functional.max_pool2d(x, return_indices=True, **case),
            shape,
            seed=seed,
            tie_values=ties,
        )


@pytest.mark.parametrize("case, shape", TILE_CASES[:3], ids=str)
def test_max_pool2d_tiles_agree_with_general_path(monkeypatch, case, shape):
    from ember.ops import pool

    shape = (3,) + shape[1:]
    rng = np.random.default_rng(4)
    x = rng.integers(0, 3, shape).astype(np.float32)  # many ties
    x[0, 0, 0, :2] = np.nan  # a window with NaN
    x[2, 1, -1, -3:] = np.nan

    def run():
        ex = ember.tensor(x, requires_grad=True)
        out, idx = F.max_pool2d(ex, return_indices=True, **case)
        g = np.random.default_rng(5).standard_normal(tuple(out.shape)).astype(np.float32)
        out.backward(ember.tensor(g))
        return out.detach().numpy(), idx.numpy(), ex.grad.numpy()

    expected = run()  # the whole batch in one chunk
    sample = x[0].nbytes
    for label, patch in [
        ("general path", ("tiles", property(lambda self: False), pool.PoolGeometry)),
        ("a chunk per sample", ("_TILE_BYTES", 1, pool)),
        ("chunks of 2 and 1", ("_TILE_BYTES", 2 * sample, pool)),
    ]:
        name, value, owner = patch
        with monkeypatch.context() as m:
            m.setattr(owner, name, value)
            for got, want in zip(run(), expected):
                np.testing.assert_array_equal(got, want, err_msg=label)


def test_max_pool2d_tiles_gradgradcheck_and_unpool():
    x = _rand(2, 2, 4, 6)
    assert gradgradcheck(lambda x: F.max_pool2d(x, 2), (x,))
    assert gradgradcheck(lambda x: F.max_pool2d(x, (2, 3)), (x,))
    out, idx = F.max_pool2d(x.detach(), 2, return_indices=True)
    restored = F.max_unpool2d(out, idx, 2).numpy()
    planes = restored.reshape(2, 2, -1)
    np.testing.assert_array_equal(
        np.take_along_axis(planes, idx.numpy().reshape(2, 2, -1), axis=2).reshape(out.shape), out.numpy()
    )
    assert np.count_nonzero(restored) == out.numel()
