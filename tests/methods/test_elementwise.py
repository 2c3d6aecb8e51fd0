"""Elementwise behaviour the op table can't express: dtypes, in-place semantics, erf accuracy,
gradients at non-differentiable points, and error messages."""

import math
import warnings

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip


def _t(values, **kw):
    return ember.tensor(values, **kw)


# -- dtypes ------------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparisons_give_bool_and_never_require_grad(op):
    x = _t([1.0, 2.0, 3.0], requires_grad=True)
    for other in (2.0, 2, _t([3.0, 2.0, 1.0]), _t([2], dtype=ember.int32)):
        out = getattr(x, op)(other)
        assert out.dtype == ember.bool and not out.requires_grad and out.grad_fn is None
    operator = {
        "eq": "__eq__",
        "ne": "__ne__",
        "lt": "__lt__",
        "le": "__le__",
        "gt": "__gt__",
        "ge": "__ge__",
    }[op]
    assert getattr(x, operator)(1.5).dtype == ember.bool


def test_comparison_operators_match_numpy_and_broadcast():
    a = np.arange(12.0).reshape(3, 4) % 5
    b = np.array([0.0, 1.0, 4.0, 9.0])
    ta, tb = _t(a), _t(b)
    np.testing.assert_array_equal((ta == tb).numpy(), a == b)
    np.testing.assert_array_equal((ta < tb).numpy(), a < b)
    np.testing.assert_array_equal((2 < ta).numpy(), 2 < a)  # reflected
    np.testing.assert_array_equal(ember.logical_and(ta > 1, tb[None] > 1).numpy(), (a > 1) & (b > 1))
    assert (ta == tb).shape == (3, 4)


def test_eq_with_unsupported_object_falls_back_like_python():
    x = _t([1.0])
    assert (x == None) is False  # noqa: E711 - the == operator itself is under test
    assert (x != "a") is True
    with pytest.raises(TypeError, match="eq"):
        x.eq("a")


@pytest.mark.parametrize(
    "name",
    ["exp", "sqrt", "sin", "sigmoid", "tanh", "log1p", "erf", "reciprocal", "rsqrt", "atan", "deg2rad"],
)
def test_integer_inputs_to_float_functions_give_the_default_float(name):
    x = _t([1, 2, 3])
    assert getattr(x, name)().dtype == ember.float32
    assert getattr(_t([True, False]), name)().dtype == ember.float32
    ember.set_default_dtype(ember.float64)
    assert getattr(x, name)().dtype == ember.float64


def test_dtype_keeping_ops():
    i = _t([-3, 0, 5])
    assert i.clamp(-1, 1).dtype == ember.int64 and i.clamp(-1, 1).tolist() == [-1, 0, 1]
    assert i.clamp(min=0.5).dtype == ember.float32
    assert i.abs().dtype == ember.int64 and i.abs().tolist() == [3, 0, 5]
    assert i.sign().tolist() == [-1, 0, 1] and i.floor().dtype == ember.int64
    assert _t([True]).square().dtype == ember.int64
    assert ember.maximum(i, _t([1.0, 1.0, 1.0])).dtype == ember.float32
    assert (i // 2).dtype == ember.int64 and (i % 2).dtype == ember.int64
    assert i.copysign(-1).dtype == ember.float32
    assert ember.where(_t([True, False, True]), i.int(), 2.5).dtype == ember.float32
    assert ember.where(_t([True, False]), 1, 2).dtype == ember.int64
    assert ember.where(_t([True, False]), 1.0, 2).dtype == ember.float32


def test_bool_inputs_error_like_pytorch():
    b = _t([True, False])
    with pytest.raises(RuntimeError, match="abs.*bool"):
        b.abs()
    with pytest.raises(RuntimeError, match="neg.*bool.*logical_not"):
        _ = -b
    with pytest.raises(RuntimeError, match="relu"):
        b.relu()
    with pytest.raises(RuntimeError, match="positive"):
        b.positive()
    assert b.sign().tolist() == [True, False]
    assert (~b).tolist() == [False, True]


def test_bitwise_ops_and_their_errors():
    i = _t([0b1100, 0b1010])
    assert (i & 0b1000).tolist() == [8, 8] and (i | 1).tolist() == [13, 11] and (i ^ i).tolist() == [0, 0]
    assert (~i).tolist() == [~12, ~10] and (3 & i).tolist() == [0, 2]
    with pytest.raises(RuntimeError, match=r"bitwise_and.*float32.*\[2\]"):
        _t([1.0, 2.0]) & _t([1.0, 2.0])
    with pytest.raises(RuntimeError, match="bitwise_or.*float operand"):
        i | 1.5
    j = i.clone()
    j &= 0b0100
    assert j.tolist() == [4, 0]


def test_predicates_and_nan_to_num():
    x = _t([1.0, math.nan, math.inf, -math.inf])
    assert x.isnan().tolist() == [False, True, False, False]
    assert x.isinf().tolist() == [False, False, True, True]
    assert x.isfinite().tolist() == [True, False, False, False]
    assert x.isposinf().tolist() == [False, False, True, False]
    assert x.isneginf().tolist() == [False, False, False, True]
    assert _t([1, 2]).isnan().tolist() == [False, False]
    out = x.nan_to_num()
    assert out.tolist()[:2] == [1.0, 0.0] and out[2].item() == np.finfo(np.float32).max


# -- gradients at the kinks -----------------------------------------------------------------
def _grad(fn, *values):
    xs = [_t(v, dtype=ember.float64, requires_grad=True) for v in values]
    fn(*xs).sum().backward()
    return [x.grad.tolist() for x in xs]


def _torch_grad(fn, *values):
    torch = torch_or_skip()
    xs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    fn(torch, *xs).sum().backward()
    return [x.grad.tolist() for x in xs]


@pytest.mark.parametrize(
    "fn",
    [
        lambda m, a, b: m.maximum(a, b),
        lambda m, a, b: m.minimum(a, b),
        lambda m, a, b: m.fmax(a, b),
        lambda m, a, b: m.fmin(a, b),
        lambda m, a, b: m.clamp(a, min=b),
        lambda m, a, b: m.clamp(a, max=b),
        lambda m, a, b: m.clamp(a, b, b + 1),
        lambda m, a, b: m.clamp(a, b, b),
        lambda m, a, b: m.where(a > b, a, b),
        lambda m, a, b: m.copysign(a, b),
        lambda m, a, b: m.abs(a) + m.relu(b),
        lambda m, a, b: m.clamp(a, -1.0, 1.0) * b.sign(),
    ],
    ids=[
        "maximum",
        "minimum",
        "fmax",
        "fmin",
        "clamp_min",
        "clamp_max",
        "clamp_both",
        "clamp_equal_bounds",
        "where",
        "copysign",
        "abs_relu",
        "clamp_scalar",
    ],
)
def test_gradients_at_ties_and_kinks_match_pytorch(fn):
    a = [0.0, 1.0, 2.0, -1.0, math.nan, 1.0]
    b = [0.0, 1.0, 1.0, 0.0, 1.0, math.nan]
    np.testing.assert_allclose(_grad(lambda *x: fn(ember, *x), a, b), _torch_grad(fn, a, b), equal_nan=True)


def test_abs_and_relu_have_zero_derivative_at_zero():
    assert _grad(lambda x: x.abs(), [0.0, -2.0, 3.0]) == [[0.0, -1.0, 1.0]]
    assert _grad(lambda x: x.relu(), [0.0, -2.0, 3.0]) == [[0.0, 0.0, 1.0]]


# -- in place --------------------------------------------------------------------------------
def test_inplace_twins_match_out_of_place_and_bump_the_version():
    base = _t([0.3, -1.2, 2.0])
    for name, args in [
        ("exp", ()),
        ("sigmoid", ()),
        ("clamp", (-1.0, 1.0)),
        ("relu", ()),
        ("abs", ()),
        ("floor", ()),
        ("lerp", (_t([1.0, 1.0, 1.0]), 0.5)),
        ("atan2", (_t(2.0),)),
        ("addcmul", (base, base)),
        ("addcdiv", (base, _t(2.0))),
        ("round", ()),
        ("nan_to_num", ()),
        ("hypot", (_t(1.0),)),
        ("frac", ()),
    ]:
        x = base.clone()
        expected = getattr(base, name)(*args)
        before = x._version
        assert getattr(x, name + "_")(*args) is x
        np.testing.assert_allclose(x.numpy(), expected.numpy(), rtol=1e-6, err_msg=name)
        assert x._version == before + 1, name


def test_inplace_gradient_flows_like_out_of_place():
    torch = torch_or_skip()
    values = [0.3, -1.2, 2.0]
    for name, args in [
        ("sin", ()),
        ("clamp", (-1.0, 1.0)),
        ("lerp", ([1.0, 1.0, 2.0], 0.3)),
        ("atan2", ([2.0, -1.0, 0.5],)),
        ("mul", (3.0,)),
    ]:

        def run(m, name=name, args=args):
            x = m.tensor(values, dtype=m.float64, requires_grad=True)
            y = x * 1.0
            getattr(y, name + "_")(
                *[m.tensor(a, dtype=m.float64) if isinstance(a, list) else a for a in args]
            )
            (y * y).sum().backward()
            return x.grad.tolist()

        assert run(ember) == pytest.approx(run(torch)), name


def test_inplace_errors():
    leaf = _t([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="exp_.*leaf"):
        leaf.exp_()
    with pytest.raises(RuntimeError, match="exp_.*Float.*int64|exp_.*float32.*int64"):
        _t([1, 2]).exp_()
    with ember.no_grad():
        leaf.clamp_(0.0, 1.5)
    assert leaf.tolist() == [1.0, 1.5]


def test_zero_fill_and_copy():
    x = _t([[1.0, 2.0], [3.0, 4.0]])
    assert x.zero_().tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert x.fill_(2.5).tolist() == [[2.5, 2.5], [2.5, 2.5]]
    i = _t([1, 2])
    assert i.fill_(2.7).tolist() == [2, 2] and i.fill_(_t(7.0)).tolist() == [7, 7]
    assert i.copy_(_t([1.9, -1.9])).tolist() == [1, -1]  # cross-dtype: truncates like a cast
    assert x.copy_(_t([5.0, 6.0])).tolist() == [[5.0, 6.0], [5.0, 6.0]]  # broadcasts the source
    with pytest.raises(RuntimeError, match=r"fill_ only supports 0-dimension value tensor.*\[2\]"):
        x.fill_(_t([1.0, 2.0]))
    with pytest.raises(RuntimeError, match=r"copy_.*\[3\].*\[2, 2\]"):
        x.copy_(_t([1.0, 2.0, 3.0]))


def test_copy_and_fill_send_gradients_to_their_sources():
    src = _t([1.0, 2.0], requires_grad=True)
    dest = ember.zeros(3, 2, dtype=ember.float64)
    dest.copy_(src)  # float32 into float64, broadcast over rows
    assert dest.requires_grad and dest.dtype == ember.float64
    (dest * _t([[1.0], [2.0], [3.0]], dtype=ember.float64)).sum().backward()
    assert src.grad.tolist() == [6.0, 6.0]

    value = _t(3.0, requires_grad=True)
    x = _t([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.fill_(value)
    (y * _t([1.0, 4.0])).sum().backward()
    assert value.grad.item() == 5.0 and x.grad.tolist() == [0.0, 0.0]

    x.grad = None
    z = x * 2
    z.zero_()
    (z + x).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_new_factories_follow_self():
    x = _t([1.0], dtype=ember.float64)
    assert x.new_zeros(2, 3).dtype == ember.float64 and x.new_zeros((2, 3)).shape == (2, 3)
    assert x.new_ones(()).item() == 1.0 and x.new_ones(2).dtype == ember.float64
    assert x.new_full((2,), 7).tolist() == [7.0, 7.0] and x.new_empty(4).shape == (4,)
    assert x.new_tensor([1, 2]).dtype == ember.float64
    assert x.new_zeros(2, dtype=ember.int32).dtype == ember.int32
    assert x.new_ones(2, requires_grad=True).requires_grad
    assert x.new_zeros(1).device == x.device


# -- the error function family ---------------------------------------------------------------
_GRID = np.concatenate([np.linspace(-7, 7, 20001), [0.0, 1e-300, -1e-12, 2.5, -2.5, 2.0, 27.0]])


@pytest.fixture(params=["library", "own"])
def erf_implementation(request, monkeypatch):
    """Run an accuracy test with SciPy's kernels (when installed) and with ember's own fallback."""
    from ember.backend import cpu

    if request.param == "own":  # the CPU backend offers no compiled special functions
        monkeypatch.setattr(cpu, "special_functions", lambda: None)
    return request.param


def test_erf_and_erfc_are_accurate_in_float64(erf_implementation):
    ours = ember.tensor(_GRID).erf().numpy()
    exact = np.array([math.erf(v) for v in _GRID])
    assert np.max(np.abs(ours - exact)) < 1e-15
    ours_c = ember.tensor(_GRID).erfc().numpy()
    exact_c = np.array([math.erfc(v) for v in _GRID])
    assert np.max(np.abs(ours_c - exact_c) / np.maximum(exact_c, 1e-300)) < 1e-13


def test_erf_and_erfc_are_accurate_to_float32_precision(erf_implementation):
    grid = _GRID.astype(np.float32)
    exact = np.array([math.erf(v) for v in grid.astype(np.float64)])
    exact_c = np.array([math.erfc(v) for v in grid.astype(np.float64)])
    ours = ember.tensor(grid).erf().numpy()
    ours_c = ember.tensor(grid).erfc().numpy()
    assert ours.dtype == np.float32
    assert np.max(np.abs(ours - exact)) <= np.finfo(np.float32).eps  # within a rounding of the truth
    relative = np.abs(ours_c - exact_c) / np.maximum(exact_c, np.finfo(np.float32).tiny)
    assert np.max(relative[exact_c > 1e-37]) < 2 * np.finfo(np.float32).eps


def _newton_erfinv(y):
    """The reference: bisection on math.erf (math.erfc in the tail, where erf is flat), then Newton."""
    p = abs(y)
    if p >= 1:
        return math.copysign(math.inf, y) if p == 1 else math.nan
    lo, hi = 0.0, 7.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        below = math.erf(mid) < p if p < 0.5 else math.erfc(mid) > 1 - p
        lo, hi = (mid, hi) if below else (lo, mid)
    x = 0.5 * (lo + hi)
    for _ in range(2):
        residual = math.erf(x) - p if p < 0.5 else (1 - p) - math.erfc(x)
        x -= residual / (2 / math.sqrt(math.pi) * math.exp(-x * x))
    return math.copysign(x, y)


def test_erfinv_inverts_erf(erf_implementation):
    y = np.concatenate([np.linspace(-0.999999, 0.999999, 4001), [0.0, 1e-9, -0.5, 0.9999999999]])
    ours = ember.tensor(y).erfinv().numpy()
    exact = np.array([_newton_erfinv(v) for v in y])
    assert np.max(np.abs(ours - exact) / np.maximum(np.abs(exact), 1e-300)) < 1e-12
    y32 = y.astype(np.float32)
    y32 = y32[np.abs(y32) < 1]  # values that round to 1 in float32 are covered below
    ours32 = ember.tensor(y32).erfinv().numpy()
    exact32 = np.array([_newton_erfinv(v) for v in y32.astype(np.float64)])
    assert (
        np.max(np.abs(ours32 - exact32) / np.maximum(np.abs(exact32), 1e-30)) < 2 * np.finfo(np.float32).eps
    )
    special = ember.tensor([1.0, -1.0, 1.5, math.nan, 0.0]).erfinv().tolist()
    assert special[:2] == [math.inf, -math.inf] and math.isnan(special[2]) and math.isnan(special[3])
    assert special[4] == 0.0


def test_erf_family_against_scipy_when_installed():
    special = pytest.importorskip("scipy.special")
    x = np.linspace(-6, 6, 5001)
    np.testing.assert_allclose(ember.tensor(x).erf().numpy(), special.erf(x), rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(ember.tensor(x).erfc().numpy(), special.erfc(x), rtol=1e-13, atol=1e-300)
    y = np.linspace(-0.9999, 0.9999, 5001)
    np.testing.assert_allclose(ember.tensor(y).erfinv().numpy(), special.erfinv(y), rtol=1e-12, atol=1e-15)


def test_sigmoid_tails_are_accurate_and_quiet():
    x = ember.tensor([-1000.0, -100.0, -30.0, 0.0, 30.0, 1000.0], dtype=ember.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = x.sigmoid().numpy()
        ember.tensor([-200.0, 200.0]).sigmoid()
    expected = np.array(
        [0.0, math.exp(-100.0), math.exp(-30.0) / (1 + math.exp(-30.0)), 0.5, 1 / (1 + math.exp(-30.0)), 1.0]
    )
    np.testing.assert_allclose(out, expected, rtol=1e-14)


# -- division modes --------------------------------------------------------------------------
def test_integer_floor_and_trunc_division_and_remainders_match_python():
    a = [7, -7, 7, -7, 0]
    b = [2, 2, -2, -2, 3]
    ta, tb = _t(a), _t(b)
    assert (ta // tb).tolist() == [x // y for x, y in zip(a, b)]
    assert (ta % tb).tolist() == [x % y for x, y in zip(a, b)]
    assert ta.div(tb, rounding_mode="trunc").tolist() == [int(x / y) for x, y in zip(a, b)]
    assert ta.fmod(tb).tolist() == [int(math.fmod(x, y)) for x, y in zip(a, b)]
    assert (10 // _t([3, -3])).tolist() == [3, -4] and (10 % _t([3, -3])).tolist() == [1, -2]
    assert ember.remainder(5, _t([3])).tolist() == [2]


def test_division_errors_name_the_op():
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        _t([1, 2]) // _t([1, 0])
    with pytest.raises(RuntimeError, match="remainder.*ZeroDivisionError"):
        _t([1, 2]) % 0
    with pytest.raises(RuntimeError, match="rounding_mode.*'round'"):
        _t([1.0]).div(2.0, rounding_mode="round")


# -- other error messages ------------------------------------------------------------------
def test_error_messages_name_op_shapes_and_fix():
    with pytest.raises(
        RuntimeError, match=r"where expected condition to be a boolean tensor.*float32.*\[2\]"
    ):
        ember.where(_t([1.0, 0.0]), 1.0, 0.0)
    with pytest.raises(RuntimeError, match=r"clamp: At least one of 'min' or 'max'"):
        _t([1.0]).clamp()
    with pytest.raises(RuntimeError, match=r"lt: the shapes \[2\] \(float32\) and \[3\] \(float32\)"):
        _ = _t([1.0, 2.0]) < _t([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"maximum.*shape \[2\].*shape \[3\]"):
        ember.maximum(_t([1.0, 2.0]), _t([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match="frac.*int64"):
        _t([1, 2]).frac()
    with pytest.raises(RuntimeError, match="addcdiv.*integer division"):
        _t([1.0]).addcdiv(_t([1]), _t([2]))
    with pytest.raises(RuntimeError, match="lerp.*floating"):
        _t([1]).lerp(_t([2]), 0.5)


def test_where_forms():
    cond = _t([True, False, True])
    x = _t([1.0, 2.0, 3.0])
    assert ember.where(cond, x, -1).tolist() == [1.0, -1.0, 3.0]
    assert x.where(cond, 0.0).tolist() == [1.0, 0.0, 3.0]
    assert ember.where(cond, 5, x).tolist() == [5.0, 2.0, 5.0]
    assert ember.where(_t([[True], [False]]), x, _t(0.0)).shape == (2, 3)
    if hasattr(ember.Tensor, "nonzero"):
        (idx,) = ember.where(cond)
        assert idx.tolist() == [0, 2]


def test_pow_tensor_gradient_for_the_exponent_at_a_zero_base():
    a = _t([0.0, 2.0], dtype=ember.float64, requires_grad=True)
    b = _t([2.0, 3.0], dtype=ember.float64, requires_grad=True)
    (a**b).sum().backward()
    assert b.grad.tolist() == pytest.approx([0.0, 8 * math.log(2.0)])


def test_free_functions_exist():
    for name in [
        "abs",
        "sigmoid",
        "clamp",
        "clip",
        "maximum",
        "where",
        "erfinv",
        "logical_not",
        "bitwise_xor",
        "isposinf",
        "lerp",
        "addcdiv",
        "floor_divide",
        "remainder",
        "xlogy",
        "arctan2",
        "relu_",
        "heaviside",
        "eq",
        "greater_equal",
        "fix",
        "sgn",
        "nan_to_num",
    ]:
        assert callable(getattr(ember, name)), name
    assert ember.xlogy(0, _t([0.0])).tolist() == [0.0]
    assert ember.xlogy(_t([2.0]), 1.0).tolist() == [0.0]


def test_isclose_allclose_and_equal_match_torch_semantics():
    a = ember.tensor([1.0, 2.0, float("nan")])
    b = ember.tensor([1.0 + 1e-7, 2.1, float("nan")])
    assert a.isclose(b).tolist() == [True, False, False]
    assert ember.isclose(a, b, equal_nan=True).tolist() == [True, False, True]
    assert not ember.allclose(a, b) and ember.allclose(a[:1], b[:1])
    assert ember.equal(a[:2], ember.tensor([1.0, 2.0])) and not ember.equal(a[:2], a[:1])
    with pytest.raises(RuntimeError, match="isclose"):
        a.isclose(ember.ones(2))


def test_integer_powers_with_negative_integer_exponents():
    base = ember.tensor([0, 1, -1, -1, 2, -2, 3])
    exponent = ember.tensor([-1, -3, -2, -3, -1, -2, 2])
    assert (base**exponent).tolist() == [0, 1, 1, -1, 0, 0, 9]
    assert (2 ** ember.tensor([-1, 3])).tolist() == [0, 8]
    assert ((-1) ** ember.tensor([-3, -2])).tolist() == [-1, 1]
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        base**-1  # a Python exponent stays refused, as in PyTorch


def test_integer_powers_match_pytorch():
    torch = torch_or_skip()
    values = ([0, 1, -1, -1, 2, -2, 3], [-1, -3, -2, -3, -1, -2, 2])
    ours = ember.tensor(values[0]) ** ember.tensor(values[1])
    theirs = torch.tensor(values[0]) ** torch.tensor(values[1])
    assert ours.tolist() == theirs.tolist()
    assert (3 ** ember.tensor([-2, 2])).tolist() == (3 ** torch.tensor([-2, 2])).tolist()
