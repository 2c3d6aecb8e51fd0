"""bfloat16 as a first-class floating dtype on the CPU, as in PyTorch.

ml_dtypes' bfloat16 is NumPy kind 'V' (void), so every "is it floating" decision goes through
``dtypes.is_floating_np``; NumPy cannot sum or multiply matrices well in bfloat16, so
``ops.Float32Primitive`` computes those in float32 and casts back. Each op here is checked to
keep PyTorch's result dtype and to agree with the same op on float32 copies of the (rounded)
inputs; where PyTorch is installed, dtypes and values are also compared with it.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import ember
from ember import dtypes
from tests.helpers import torch_or_skip

pytest.importorskip("ml_dtypes", reason="bfloat16 needs ml_dtypes (the test extra has it)")

BF16, F32, I64, BOOL = "bfloat16", "float32", "int64", "bool"


def _F(lib):
    return lib.nn.functional


def _arrays(shapes):
    """Fixed float32 inputs; a leading '+' in a shape's name makes them positive (log, sqrt)."""
    out = []
    for i, shape in enumerate(shapes):
        positive = isinstance(shape, str)
        dims = tuple(int(s) for s in shape[1:].split("x")) if positive else shape
        a = np.random.RandomState(i).randn(*dims).astype(np.float32)
        out.append(np.abs(a) + 0.5 if positive else a)
    return out


def _inputs(lib, shapes, dtype_name, requires_grad=False):
    """The inputs rounded to bfloat16, then given ``dtype_name`` (float32 keeps the rounded values)."""
    dt = getattr(lib, dtype_name)
    return [lib.tensor(a).to(lib.bfloat16).to(dt).requires_grad_(requires_grad) for a in _arrays(shapes)]


def _targets(lib):
    return lib.tensor([0, 1, 2, 4])


# name: (fn(lib, *inputs), input shapes, the result dtype PyTorch gives for bfloat16 inputs)
CASES = {
    "exp": (lambda m, x: x.exp(), [(2, 3)], BF16),
    "log": (lambda m, x: x.log(), ["+2x3"], BF16),
    "sqrt": (lambda m, x: x.sqrt(), ["+2x3"], BF16),
    "rsqrt": (lambda m, x: x.rsqrt(), ["+2x3"], BF16),
    "sin": (lambda m, x: x.sin(), [(2, 3)], BF16),
    "tanh": (lambda m, x: x.tanh(), [(2, 3)], BF16),
    "sigmoid": (lambda m, x: x.sigmoid(), [(2, 3)], BF16),
    "erf": (lambda m, x: m.erf(x), [(2, 3)], BF16),
    "reciprocal": (lambda m, x: x.reciprocal(), ["+2x3"], BF16),
    "floor": (lambda m, x: (x * 3).floor(), [(2, 3)], BF16),
    "round": (lambda m, x: (x * 3).round(), [(2, 3)], BF16),
    "trunc": (lambda m, x: (x * 3).trunc(), [(2, 3)], BF16),
    "frac": (lambda m, x: (x * 3).frac(), [(2, 3)], BF16),
    "clamp": (lambda m, x: x.clamp(-0.5, 0.5), [(2, 3)], BF16),
    "nan_to_num": (lambda m, x: x.nan_to_num(), [(2, 3)], BF16),
    "add": (lambda m, x, y: x + y, [(2, 3), (2, 3)], BF16),
    "mul": (lambda m, x, y: x * y, [(2, 3), (3,)], BF16),
    "div": (lambda m, x, y: x / y, [(2, 3), "+2x3"], BF16),
    "add_float_scalar": (lambda m, x: x + 1.5, [(2, 3)], BF16),
    "add_int_scalar": (lambda m, x: x + 2, [(2, 3)], BF16),
    "rsub_scalar": (lambda m, x: 1 - x, [(2, 3)], BF16),
    "rdiv_scalar": (lambda m, x: 1 / x, ["+2x3"], BF16),
    "pow_scalar": (lambda m, x: x**2, [(2, 3)], BF16),
    "floor_divide": (lambda m, x: m.div(x, 0.3, rounding_mode="floor"), [(2, 3)], BF16),
    "remainder": (lambda m, x: x % 0.7, [(2, 3)], BF16),
    "lerp": (lambda m, x, y: m.lerp(x, y, 0.3), [(2, 3), (2, 3)], BF16),
    "compare": (lambda m, x: x > 0, [(2, 3)], BOOL),
    "where": (lambda m, x, y: m.where(x > 0, x, y), [(2, 3), (2, 3)], BF16),
    "sum": (lambda m, x: x.sum(), [(4, 5)], BF16),
    "sum_dim": (lambda m, x: x.sum(1), [(4, 5)], BF16),
    "sum_float32": (lambda m, x: x.sum(dtype=m.float32), [(4, 5)], F32),
    "mean": (lambda m, x: x.mean(0, keepdim=True), [(4, 5)], BF16),
    "var": (lambda m, x: x.var(), [(4, 5)], BF16),
    "std": (lambda m, x: x.std(1), [(4, 5)], BF16),
    "prod": (lambda m, x: x.prod(1), [(4, 5)], BF16),
    "max": (lambda m, x: x.max(), [(4, 5)], BF16),
    "max_dim": (lambda m, x: x.max(1)[0], [(4, 5)], BF16),
    "amin": (lambda m, x: x.amin(0), [(4, 5)], BF16),
    "argmax": (lambda m, x: x.argmax(1), [(4, 5)], I64),
    "cumsum": (lambda m, x: x.cumsum(1), [(4, 5)], BF16),
    "logsumexp": (lambda m, x: x.logsumexp(1), [(4, 5)], BF16),
    "norm": (lambda m, x: x.norm(), [(4, 5)], BF16),
    "softmax": (lambda m, x: x.softmax(1), [(4, 5)], BF16),
    "log_softmax": (lambda m, x: _F(m).log_softmax(x, dim=-1), [(4, 5)], BF16),
    "matmul": (lambda m, x, y: x @ y, [(2, 3), (3, 4)], BF16),
    "matmul_batched": (lambda m, x, y: x @ y, [(2, 2, 3), (3, 4)], BF16),
    "mv": (lambda m, x, y: m.mv(x, y), [(2, 3), (3,)], BF16),
    "dot": (lambda m, x, y: m.dot(x, y), [(3,), (3,)], BF16),
    "bmm": (lambda m, x, y: m.bmm(x, y), [(2, 2, 3), (2, 3, 4)], BF16),
    "einsum": (lambda m, x, y: m.einsum("ij,jk->ik", x, y), [(2, 3), (3, 4)], BF16),
    "addmm": (lambda m, b, x, y: m.addmm(b, x, y), [(4,), (2, 3), (3, 4)], BF16),
    "linear": (lambda m, x, w, b: _F(m).linear(x, w, b), [(2, 3), (4, 3), (4,)], BF16),
    "conv1d": (lambda m, x, w, b: _F(m).conv1d(x, w, b, padding=1), [(1, 2, 6), (3, 2, 3), (3,)], BF16),
    "conv2d": (lambda m, x, w, b: _F(m).conv2d(x, w, b, padding=1), [(2, 2, 5, 5), (3, 2, 3, 3), (3,)], BF16),
    "conv_transpose2d": (lambda m, x, w: _F(m).conv_transpose2d(x, w), [(1, 2, 4, 4), (2, 3, 3, 3)], BF16),
    "max_pool2d": (lambda m, x: _F(m).max_pool2d(x, 2), [(1, 2, 4, 4)], BF16),
    "avg_pool2d": (lambda m, x: _F(m).avg_pool2d(x, 2), [(1, 2, 4, 4)], BF16),
    "adaptive_avg_pool2d": (lambda m, x: _F(m).adaptive_avg_pool2d(x, 1), [(1, 2, 4, 4)], BF16),
    "layer_norm": (lambda m, x, w, b: _F(m).layer_norm(x, (5,), w, b), [(4, 5), (5,), (5,)], BF16),
    "batch_norm": (
        lambda m, x, w, b: _F(m).batch_norm(x, None, None, w, b, training=True),
        [(4, 3, 2, 2), (3,), (3,)],
        BF16,
    ),
    "group_norm": (lambda m, x: _F(m).group_norm(x, 2), [(2, 4, 3)], BF16),
    "relu": (lambda m, x: _F(m).relu(x), [(2, 3)], BF16),
    "gelu": (lambda m, x: _F(m).gelu(x), [(2, 3)], BF16),
    "gelu_tanh": (lambda m, x: _F(m).gelu(x, approximate="tanh"), [(2, 3)], BF16),
    "silu": (lambda m, x: _F(m).silu(x), [(2, 3)], BF16),
    "leaky_relu": (lambda m, x: _F(m).leaky_relu(x, 0.1), [(2, 3)], BF16),
    "elu": (lambda m, x: _F(m).elu(x), [(2, 3)], BF16),
    "softplus": (lambda m, x: _F(m).softplus(x), [(2, 3)], BF16),
    "cross_entropy": (lambda m, x: _F(m).cross_entropy(x, _targets(m)), [(4, 5)], BF16),
    "cross_entropy_smoothed": (
        lambda m, x: _F(m).cross_entropy(x, _targets(m), label_smoothing=0.1),
        [(4, 5)],
        BF16,
    ),
    "nll_loss": (lambda m, x: _F(m).nll_loss(x.log_softmax(1), _targets(m)), [(4, 5)], BF16),
    "mse_loss": (lambda m, x, y: _F(m).mse_loss(x, y), [(2, 3), (2, 3)], BF16),
    "l1_loss": (lambda m, x, y: _F(m).l1_loss(x, y), [(2, 3), (2, 3)], BF16),
    "bce_with_logits": (
        lambda m, x, y: _F(m).binary_cross_entropy_with_logits(x, y.sigmoid()),
        [(2, 3), (2, 3)],
        BF16,
    ),
    "embedding": (lambda m, w: _F(m).embedding(m.tensor([0, 2, 2]), w), [(3, 4)], BF16),
    "dropout_eval": (lambda m, x: _F(m).dropout(x, 0.5, training=False), [(2, 3)], BF16),
    "attention": (
        lambda m, q, k, v: _F(m).scaled_dot_product_attention(q, k, v),
        [(1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4)],
        BF16,
    ),
    "interpolate": (lambda m, x: _F(m).interpolate(x, scale_factor=2, mode="bilinear"), [(1, 1, 3, 3)], BF16),
    "cat": (lambda m, x, y: m.cat([x, y]), [(2, 3), (2, 3)], BF16),
    "index": (lambda m, x: x[:, 1:], [(2, 3)], BF16),
    "float": (lambda m, x: x.float(), [(2, 3)], F32),
    "to_float64": (lambda m, x: x.to(m.float64), [(2, 3)], "float64"),
    "long": (lambda m, x: (x * 3).long(), [(2, 3)], I64),
}

# the ops whose gradients are checked (those with a float result and float inputs)
GRAD_CASES = [
    name
    for name, (_, _, result) in CASES.items()
    if result == BF16
    and name not in ("floor", "round", "trunc", "frac", "floor_divide", "remainder", "max", "max_dim")
    and name not in ("amin", "nan_to_num", "where", "embedding")
]


def _dtype_name(d) -> str:
    return str(d).split(".")[-1]


def _numpy(t) -> np.ndarray:
    return np.asarray(t.detach().to(ember.float64).numpy() if isinstance(t, ember.Tensor) else t.tolist())


def _close(got, want, rtol=2e-2):
    """Agreement to bfloat16's precision, scaled by the largest value (sums and products of a
    few numbers rounded to 8 bits of mantissa)."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("name", list(CASES))
def test_result_dtype_and_values_against_float32(name):
    fn, shapes, result = CASES[name]
    out = fn(ember, *_inputs(ember, shapes, BF16))
    assert _dtype_name(out.dtype) == result
    reference = fn(ember, *_inputs(ember, shapes, F32))
    _close(_numpy(out), _numpy(reference))


@pytest.mark.parametrize("name", list(CASES))
def test_result_dtype_and_values_match_pytorch(name):
    torch = torch_or_skip()
    fn, shapes, result = CASES[name]
    ours = fn(ember, *_inputs(ember, shapes, BF16))
    theirs = fn(torch, *_inputs(torch, shapes, BF16))
    assert _dtype_name(theirs.dtype) == result  # the table itself is PyTorch's
    assert _dtype_name(ours.dtype) == _dtype_name(theirs.dtype)
    _close(_numpy(ours), theirs.detach().double().numpy())


def _grads(lib, name, dtype_name):
    fn, shapes, _ = CASES[name]
    inputs = _inputs(lib, shapes, dtype_name, requires_grad=True)
    out = fn(lib, *inputs)
    weight = lib.tensor(np.asarray(np.random.RandomState(9).randn(*out.shape), np.float32)).to(out.dtype)
    (out * weight).sum().backward()
    return inputs


@pytest.mark.parametrize("name", GRAD_CASES)
def test_gradients_are_bfloat16_and_close_to_float32(name):
    low, wide = _grads(ember, name, BF16), _grads(ember, name, F32)
    for a, b in zip(low, wide):
        assert a.grad.dtype == ember.bfloat16
        _close(_numpy(a.grad), _numpy(b.grad), rtol=3e-2)


@pytest.mark.parametrize("name", GRAD_CASES)
def test_gradients_match_pytorch(name):
    torch = torch_or_skip()
    for a, b in zip(_grads(ember, name, BF16), _grads(torch, name, BF16)):
        assert _dtype_name(a.grad.dtype) == _dtype_name(b.grad.dtype) == BF16
        _close(_numpy(a.grad), b.grad.double().numpy(), rtol=3e-2)


FACTORIES = {
    "ones": lambda m: m.ones(2, 3, dtype=m.bfloat16),
    "zeros_like": lambda m: m.zeros_like(m.ones(2, dtype=m.bfloat16)),
    "full": lambda m: m.full((2,), 1.5, dtype=m.bfloat16),
    "arange": lambda m: m.arange(5, dtype=m.bfloat16),
    "linspace": lambda m: m.linspace(0, 1, 5, dtype=m.bfloat16),
    "tensor": lambda m: m.tensor([1.0, 2.5], dtype=m.bfloat16),
    "eye": lambda m: m.eye(3, dtype=m.bfloat16),
}


@pytest.mark.parametrize("name", list(FACTORIES))
def test_factories(name):
    out = FACTORIES[name](ember)
    assert out.dtype == ember.bfloat16
    assert (
        ember.randn(3, dtype=ember.bfloat16).dtype == ember.rand(3, dtype=ember.bfloat16).dtype == out.dtype
    )


@pytest.mark.parametrize("name", list(FACTORIES))
def test_factories_match_pytorch(name):
    torch = torch_or_skip()
    np.testing.assert_array_equal(_numpy(FACTORIES[name](ember)), FACTORIES[name](torch).double().numpy())


# -- dtype rules ----------------------------------------------------------------------------
def test_the_floating_predicates_count_bfloat16():
    assert dtypes.is_floating_np(ember.bfloat16.np) and dtypes.is_inexact_np(ember.bfloat16.np)
    assert dtypes.is_floating_np(np.dtype(np.float16)) and not dtypes.is_floating_np(np.dtype(np.complex64))
    assert dtypes.is_inexact_np(np.dtype(np.complex64)) and not dtypes.is_inexact_np(np.dtype(np.int64))
    assert not dtypes.is_floating_np(np.dtype("V2"))  # other void dtypes are not floats
    t = ember.ones(2, dtype=ember.bfloat16)
    assert t.is_floating_point() and ember.is_floating_point(t) and not t.is_complex()


def test_bfloat16_leaves_can_require_grad():
    a = ember.ones(2, 3, dtype=ember.bfloat16, requires_grad=True)
    b = ember.zeros(2, dtype=ember.bfloat16).requires_grad_()
    p = ember.nn.Parameter(ember.randn(3).bfloat16())
    assert a.requires_grad and b.requires_grad and p.requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        ember.ones(2, dtype=ember.int64, requires_grad=True)


@pytest.mark.parametrize(
    "other,result",
    [
        ("float16", F32),
        ("float32", F32),
        ("float64", "float64"),
        ("int64", BF16),
        ("bool", BF16),
        ("bfloat16", BF16),
    ],
)
def test_promotion_with_tensors(other, result):
    a = ember.ones(3, dtype=ember.bfloat16)
    b = ember.ones(3, dtype=getattr(ember, other))
    assert _dtype_name((a + b).dtype) == result and _dtype_name((b * a).dtype) == result
    assert _dtype_name((a + b[0]).dtype) == BF16  # a 0-d tensor does not widen a dimensioned one


def test_python_values_and_printing():
    t = ember.tensor([1.5, 2.25], dtype=ember.bfloat16)
    assert t.tolist() == [1.5, 2.25] and type(t.tolist()[0]) is float
    assert t.sum().item() == 3.75 and type(t.sum().item()) is float
    assert repr(t) == "tensor([1.5000, 2.2500], dtype=ember.bfloat16)"
    assert t.float().dtype == ember.float32 and t.float().bfloat16().dtype == ember.bfloat16
    assert t.numpy().dtype == ember.bfloat16.np


def test_sums_accumulate_in_float32():
    """NumPy adds bfloat16 in bfloat16 (100000 x 0.01 comes to 4); PyTorch accumulates in float32."""
    x = ember.full((100000,), 0.01, dtype=ember.bfloat16)
    exact = 100000 * float(x[0].item())
    assert abs(x.sum().item() - exact) < 0.01 * exact
    assert abs(x.mean().item() - x[0].item()) < 1e-3
    assert abs(x.cumsum(0)[-1].item() - exact) < 0.01 * exact
    assert abs(x.reshape(1, -1).softmax(1).sum().item() - 1) < 1e-2


def test_clip_grad_norm_of_bfloat16_gradients():
    p = ember.nn.Parameter(ember.zeros(100000, dtype=ember.bfloat16))
    p.grad = ember.full((100000,), 0.01, dtype=ember.bfloat16)
    value = p.grad[0].item()
    norm = ember.nn.utils.clip_grad_norm_([p], 1.0)
    assert norm.dtype == ember.bfloat16
    _close(norm.item(), (100000 * value**2) ** 0.5)  # summed in bfloat16 it would stall near 1
    _close(_numpy(p.grad).max(), value / norm.item(), rtol=2e-2)


def test_anomaly_mode_sees_bfloat16_nan():
    x = ember.tensor([-1.0], dtype=ember.bfloat16, requires_grad=True)
    with ember.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="Log"):
        x.log()  # log(-1) is nan without NumPy's warning (as in PyTorch); anomaly mode names it


def test_save_and_load_keep_bfloat16_and_requires_grad(tmp_path):
    p = ember.nn.Parameter(ember.randn(3).bfloat16())
    ember.save({"p": p}, tmp_path / "p.pt")
    loaded = ember.load(tmp_path / "p.pt")["p"]
    assert loaded.dtype == ember.bfloat16 and loaded.requires_grad
    assert loaded.tolist() == p.tolist()


def test_double_backward_in_bfloat16():
    x = ember.tensor([0.5, -1.0], dtype=ember.bfloat16, requires_grad=True)
    (g,) = ember.autograd.grad((x**3).sum(), x, create_graph=True)
    assert g.dtype == ember.bfloat16
    g.sum().backward()
    assert x.grad.dtype == ember.bfloat16
    _close(_numpy(x.grad), [3.0, -6.0])


# -- modules and training -------------------------------------------------------------------
def _mlp(nn):
    return nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 4))


def _cnn(nn):
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.Tanh(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 3),
    )


def _batch(kind):
    rs = np.random.RandomState(0)
    if kind == "mlp":
        return rs.randn(6, 8).astype(np.float32), rs.randint(0, 4, 6)
    return rs.randn(5, 1, 8, 8).astype(np.float32), rs.randint(0, 3, 5)


OPTIMIZERS = {"SGD": {"lr": 0.1, "momentum": 0.9}, "Adam": {"lr": 1e-3}, "AdamW": {"lr": 1e-3}}


def _train(lib, model, dtype, kind, optimizer, steps=3):
    model = model.to(dtype)
    opt = getattr(lib.optim, optimizer)(model.parameters(), **OPTIMIZERS[optimizer])
    x, y = _batch(kind)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(lib.tensor(x).to(dtype)), lib.tensor(y))
        loss.backward()
        assert all(p.grad.dtype == dtype for p in model.parameters())
        opt.step()
        losses.append(loss)
    assert all(p.dtype == dtype for p in model.parameters())
    return losses, [p.detach().double().numpy() for p in model.parameters()]


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_training_steps_in_bfloat16_follow_float32(kind, optimizer):
    ember.manual_seed(0)
    model = (_mlp if kind == "mlp" else _cnn)(ember.nn)
    low_losses, low = _train(ember, copy.deepcopy(model), ember.bfloat16, kind, optimizer)
    wide_losses, wide = _train(ember, model, ember.float32, kind, optimizer)
    assert all(loss.dtype == ember.bfloat16 for loss in low_losses)
    _close([t.item() for t in low_losses], [t.item() for t in wide_losses])
    for a, b in zip(low, wide):
        _close(a, b)


def test_bfloat16_optimizer_state_and_the_flat_path():
    """Adam's moments are kept in the parameter's dtype (its step in float32), as in PyTorch,
    and the flat path gives the per-parameter path's bits."""
    from ember.optim import _flat

    results = []
    for limit in (_flat.FLAT_MAX_MEAN_NUMEL, 0):  # 0: every group takes the per-parameter path
        ember.manual_seed(0)
        model = _mlp(ember.nn)
        saved, _flat.FLAT_MAX_MEAN_NUMEL = _flat.FLAT_MAX_MEAN_NUMEL, limit
        try:
            _, params = _train(ember, model, ember.bfloat16, "mlp", "Adam")
        finally:
            _flat.FLAT_MAX_MEAN_NUMEL = saved
        results.append(params)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    opt = ember.optim.Adam(model.parameters())
    model(ember.ones(1, 8, dtype=ember.bfloat16)).float().sum().backward()
    opt.step()
    state = opt.state[model[0].weight]
    assert state["exp_avg"].dtype == state["exp_avg_sq"].dtype == ember.bfloat16


@pytest.mark.parametrize("optimizer", ["SGD", "AdamW"])
def test_a_relu_training_step_matches_pytorch(optimizer):
    torch = torch_or_skip()
    ember.manual_seed(0)
    ours = ember.nn.Sequential(ember.nn.Linear(8, 16), ember.nn.ReLU(), ember.nn.Linear(16, 4))
    theirs = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    with torch.no_grad():
        for t, e in zip(theirs.parameters(), ours.parameters()):
            t.copy_(torch.tensor(e.detach().numpy()))
    our_losses, our_params = _train(ember, ours, ember.bfloat16, "mlp", optimizer)
    their_losses, their_params = _train(torch, theirs, torch.bfloat16, "mlp", optimizer)
    _close([t.item() for t in our_losses], [t.item() for t in their_losses])
    for a, b in zip(our_params, their_params):
        _close(a, b)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "MultiheadAttention"])
def test_recurrent_and_attention_modules_in_bfloat16(kind):
    ember.manual_seed(0)
    module = getattr(ember.nn, kind)(4, 2, batch_first=True) if kind == "MultiheadAttention" else None
    module = module or getattr(ember.nn, kind)(3, 4, batch_first=True)
    x = ember.tensor(_arrays([(2, 5, 4 if kind == "MultiheadAttention" else 3)])[0]).bfloat16()
    args = (x, x, x) if kind == "MultiheadAttention" else (x,)
    low_module = copy.deepcopy(module).to(ember.bfloat16)
    low = low_module(*args)[0]
    wide = module(*(a.float() for a in args))[0]
    assert low.dtype == ember.bfloat16
    _close(_numpy(low), _numpy(wide), rtol=3e-2)
    low.float().sum().backward()
    assert all(p.grad.dtype == ember.bfloat16 for p in low_module.parameters())


def test_the_float32_compute_is_installed_when_bfloat16_first_appears():
    """``Float32Primitive`` keeps the plain apply until bfloat16 is resolved; an array that
    arrives from NumPy as bfloat16 resolves it, so its products are still bfloat16."""
    import subprocess
    import sys

    script = (
        "import ml_dtypes, numpy as np, ember\n"
        "from ember.ops import Float32Primitive, Primitive\n"
        "assert Float32Primitive.apply.__func__ is Primitive.apply.__func__\n"
        "t = ember.from_numpy(np.ones((2, 2), ml_dtypes.bfloat16))\n"
        "assert Float32Primitive.apply.__func__ is not Primitive.apply.__func__\n"
        "assert (t @ t).dtype == ember.bfloat16 and t.sum().dtype == ember.bfloat16\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
