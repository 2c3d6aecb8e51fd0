"""``ember.autocast("cpu")`` in its default dtype, bfloat16: the low-precision ops return
bfloat16 as PyTorch's do (NumPy's bfloat16 matmul gives float32, so ember computes them in
float32 and casts back), losses run in float32, float64 is left alone, and gradients reach
float32 parameters in float32."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip

pytest.importorskip("ml_dtypes", reason="bfloat16 needs ml_dtypes (the test extra has it)")


def _x(lib, *shape, seed=0):
    return lib.tensor(np.random.RandomState(seed).randn(*shape).astype(np.float32))


def _low(lib):
    return _x(lib, 2, 3) @ _x(lib, 3, 4, seed=1)


# name: (fn(lib), PyTorch's result dtype under autocast("cpu")); the same dtypes on both sides
CASES = {
    "matmul": (lambda m: _x(m, 2, 3) @ _x(m, 3, 4), "bfloat16"),
    "mm": (lambda m: m.mm(_x(m, 2, 3), _x(m, 3, 4)), "bfloat16"),
    "bmm": (lambda m: m.bmm(_x(m, 2, 2, 3), _x(m, 2, 3, 4)), "bfloat16"),
    "addmm": (lambda m: m.addmm(_x(m, 4), _x(m, 2, 3), _x(m, 3, 4)), "bfloat16"),
    "baddbmm": (lambda m: m.baddbmm(_x(m, 2, 2, 4), _x(m, 2, 2, 3), _x(m, 2, 3, 4)), "bfloat16"),
    "einsum": (lambda m: m.einsum("ij,jk->ik", _x(m, 2, 3), _x(m, 3, 4)), "bfloat16"),
    "linear": (lambda m: m.nn.functional.linear(_x(m, 2, 3), _x(m, 4, 3), _x(m, 4)), "bfloat16"),
    "conv1d": (lambda m: m.nn.functional.conv1d(_x(m, 1, 2, 6), _x(m, 3, 2, 3)), "bfloat16"),
    "conv2d": (lambda m: m.nn.functional.conv2d(_x(m, 1, 2, 5, 5), _x(m, 3, 2, 3, 3)), "bfloat16"),
    "conv_transpose2d": (
        lambda m: m.nn.functional.conv_transpose2d(_x(m, 1, 2, 4, 4), _x(m, 2, 3, 3, 3)),
        "bfloat16",
    ),
    "attention": (
        lambda m: m.nn.functional.scaled_dot_product_attention(
            _x(m, 1, 2, 3, 4), _x(m, 1, 2, 3, 4, seed=1), _x(m, 1, 2, 3, 4, seed=2)
        ),
        "bfloat16",
    ),
    "lstm": (lambda m: m.nn.LSTM(3, 4)(_x(m, 5, 2, 3))[0], "bfloat16"),
    "rnn": (lambda m: m.nn.RNN(3, 4)(_x(m, 5, 2, 3))[0], "bfloat16"),
    "gru_stays_float32": (lambda m: m.nn.GRU(3, 4)(_x(m, 5, 2, 3))[0], "float32"),
    "gru_bfloat16_input": (lambda m: m.nn.GRU(3, 4)(_x(m, 5, 2, 3).bfloat16())[0], "bfloat16"),
    "rnn_cell": (lambda m: m.nn.RNNCell(3, 4)(_x(m, 2, 3)), "bfloat16"),
    "gru_cell": (lambda m: m.nn.GRUCell(3, 4)(_x(m, 2, 3)), "float32"),
    "lstm_cell": (lambda m: m.nn.LSTMCell(3, 4)(_x(m, 2, 3))[0], "float32"),
    "bfloat16_input": (lambda m: _x(m, 2, 3).bfloat16() @ _x(m, 3, 4), "bfloat16"),
    "float64_untouched": (lambda m: _x(m, 2, 3).double() @ _x(m, 3, 4).double(), "float64"),
    "relu_follows": (lambda m: _low(m).relu(), "bfloat16"),
    "max_pool_follows": (
        lambda m: m.nn.functional.max_pool2d(m.nn.functional.conv2d(_x(m, 1, 2, 5, 5), _x(m, 3, 2, 3, 3)), 2),
        "bfloat16",
    ),
    "cross_entropy": (lambda m: m.nn.functional.cross_entropy(_low(m), m.tensor([0, 3])), "float32"),
    "nll_loss": (lambda m: m.nn.functional.nll_loss(_low(m), m.tensor([0, 3])), "float32"),
    "mse_loss": (lambda m: m.nn.functional.mse_loss(_low(m), _x(m, 2, 4)), "float32"),
    "l1_loss": (lambda m: m.nn.functional.l1_loss(_low(m), _x(m, 2, 4)), "float32"),
    "bce_with_logits": (
        lambda m: m.nn.functional.binary_cross_entropy_with_logits(_low(m), _x(m, 2, 4).sigmoid()),
        "float32",
    ),
    "prod": (lambda m: _low(m).prod(), "float32"),
    # on the CPU these follow their input (CUDA's list would run them in float32)
    "softmax_follows": (lambda m: _low(m).softmax(1), "bfloat16"),
    "log_softmax_follows": (lambda m: m.nn.functional.log_softmax(_low(m), 1), "bfloat16"),
    "layer_norm_follows": (lambda m: m.nn.functional.layer_norm(_low(m), (4,)), "bfloat16"),
    "sum_follows": (lambda m: _low(m).sum(), "bfloat16"),
    "exp_follows": (lambda m: _low(m).exp(), "bfloat16"),
    "softplus_follows": (lambda m: m.nn.functional.softplus(_low(m)), "bfloat16"),
    "kl_div": (lambda m: m.nn.functional.kl_div(_low(m), _x(m, 2, 4), reduction="batchmean"), "float32"),
    "smooth_l1_loss": (lambda m: m.nn.functional.smooth_l1_loss(_low(m), _x(m, 2, 4)), "float32"),
    "huber_loss": (lambda m: m.nn.functional.huber_loss(_low(m), _x(m, 2, 4)), "float32"),
    "add_promotes": (lambda m: _low(m) + _x(m, 2, 4), "float32"),
}


def test_autocast_state_readers():
    assert not ember.is_autocast_enabled("cpu") and ember.get_autocast_dtype("cpu") == ember.bfloat16
    with ember.autocast("cpu", dtype=ember.float16):
        assert ember.is_autocast_enabled("cpu") and not ember.is_autocast_enabled()  # no argument: CUDA
        assert ember.get_autocast_dtype("cpu") == ember.float16
        with ember.autocast("cpu", enabled=False):
            assert not ember.is_autocast_enabled("cpu")
        with pytest.warns(DeprecationWarning, match="is_autocast_enabled"):
            assert ember.is_autocast_cpu_enabled()
    assert ember.get_autocast_dtype("cuda") == ember.float16 and ember.is_autocast_cache_enabled()


def _name(d) -> str:
    return str(d).split(".")[-1]


@pytest.mark.parametrize("name", list(CASES))
def test_result_dtypes(name):
    fn, expected = CASES[name]
    with ember.autocast("cpu"):
        out = fn(ember)
    assert _name(out.dtype) == expected


@pytest.mark.parametrize("name", list(CASES))
def test_result_dtypes_match_pytorch(name):
    torch = torch_or_skip()
    fn, expected = CASES[name]
    with torch.autocast("cpu"):
        theirs = fn(torch)
    assert _name(theirs.dtype) == expected


def test_values_close_to_float32_and_gradients_reach_float32_parameters():
    ember.manual_seed(0)
    model = ember.nn.Sequential(
        ember.nn.Conv2d(1, 3, 3), ember.nn.ReLU(), ember.nn.Flatten(), ember.nn.Linear(3 * 4 * 4, 5)
    )
    x, y = _x(ember, 4, 1, 6, 6), ember.tensor([0, 1, 2, 4])
    with ember.autocast("cpu"):
        logits = model(x)
        loss = ember.nn.functional.cross_entropy(logits, y)
    assert logits.dtype == ember.bfloat16 and loss.dtype == ember.float32
    loss.backward()
    low_grads = [p.grad for p in model.parameters()]
    assert all(g.dtype == ember.float32 for g in low_grads)
    model.zero_grad()
    wide_loss = ember.nn.functional.cross_entropy(model(x), y)
    wide_loss.backward()
    np.testing.assert_allclose(loss.item(), wide_loss.item(), rtol=2e-2)
    for g, p in zip(low_grads, model.parameters()):
        scale = max(1.0, float(np.abs(p.grad.numpy()).max()))
        np.testing.assert_allclose(g.numpy(), p.grad.numpy(), rtol=5e-2, atol=5e-2 * scale)


def test_gradients_match_pytorch():
    torch = torch_or_skip()
    grads = {}
    for lib in (ember, torch):
        w = _x(lib, 4, 3, seed=1).requires_grad_(True)
        x = _x(lib, 2, 3)
        with lib.autocast("cpu"):
            loss = lib.nn.functional.mse_loss(lib.nn.functional.linear(x, w), _x(lib, 2, 4, seed=2))
        loss.backward()
        grads[lib] = (_name(loss.dtype), _name(w.grad.dtype), w.grad.double().numpy())
    assert grads[ember][:2] == grads[torch][:2] == ("float32", "float32")
    np.testing.assert_allclose(grads[ember][2], grads[torch][2], rtol=2e-2, atol=2e-2)
