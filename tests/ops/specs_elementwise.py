"""Op-table rows for the elementwise family: math functions, comparisons, logical and bitwise
ops, clamping, rounding, division modes and in-place twins (through ``clone()`` first)."""

import math

import numpy as np

from tests.ops.spec import OpSpec

_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _erfinv_one(y: float) -> float:
    """The inverse of math.erf by bisection then Newton (the reference for erfinv)."""
    if abs(y) >= 1:
        return math.copysign(math.inf, y) if abs(y) == 1 else math.nan
    lo, hi = -6.0, 6.0
    for _ in range(80):  # |y| <= 0.95 in the table, where bisection on erf is well conditioned
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if math.erf(mid) < y else (lo, mid)
    x = 0.5 * (lo + hi)
    for _ in range(2):
        x -= (math.erf(x) - y) / (2 / math.sqrt(math.pi) * math.exp(-x * x))
    return x


_erfinv = np.vectorize(_erfinv_one, otypes=[np.float64])


def _uniform(*ranges_and_shapes):
    """make_inputs drawing each input from its own range: _uniform(((lo, hi), shape), ...)."""
    return lambda rng, dt: [rng.uniform(lo, hi, size=s).astype(dt) for (lo, hi), s in ranges_and_shapes]


def _away_from_zero(shape_a, shape_b):
    """a in (-2, 2); b with |b| in (0.5, 2) and either sign."""

    def make(rng, dt):
        b = rng.uniform(0.5, 2, size=shape_b) * rng.choice([-1.0, 1.0], size=shape_b)
        return [rng.uniform(-2, 2, size=shape_a).astype(dt), np.asarray(b).astype(dt)]

    return make


def _small_ints(*shapes, as_float=True, low=-2, high=3):
    def make(rng, dt):
        return [rng.integers(low, high, size=s).astype(dt if as_float else np.int64) for s in shapes]

    return make


def _bools(*shapes):
    return lambda rng, dt: [rng.integers(0, 2, size=s).astype(bool) for s in shapes]


def _with_specials(rng, dt):
    a = rng.uniform(-2, 2, size=(3, 4)).astype(dt)
    a[0, 0], a[1, 1], a[2, 2] = np.nan, np.inf, -np.inf
    return [a]


def _clamp_bounds(rng, dt):
    return [
        rng.uniform(-2, 2, (3, 4)).astype(dt),
        rng.uniform(-1, -0.2, (4,)).astype(dt),
        rng.uniform(0.2, 1, (3, 1)).astype(dt),
    ]


def _heaviside(a, v):
    return np.heaviside(a, v)


def _unary(name, fn, ref, domain=(-2.0, 2.0), **kw):
    return OpSpec(name, fn, ref, [(3, 4)], domain=domain, zero_dim=kw.pop("zero_dim", True), **kw)


def _binary(name, fn, ref, shapes=((3, 4), (4,)), **kw):
    broadcast = kw.pop("broadcast", kw.get("differentiable", True))  # the test needs gradients
    return OpSpec(name, fn, ref, list(shapes), broadcast=broadcast, **kw)


SPECS = [
    # -- unary float functions
    _unary("abs", lambda m, a: m.abs(a), np.abs, gradgrad=True),
    _unary("abs_operator", lambda m, a: abs(a), np.abs),
    _unary("sign", lambda m, a: m.sign(a), np.sign),
    _unary(
        "sgn", lambda m, a: a.sgn(), np.sign, zero_dim=False, torch_fn=lambda m, a: a.sign()
    ),  # torch: ZeroTensor grad
    _unary("reciprocal", lambda m, a: m.reciprocal(a), np.reciprocal, domain=(0.5, 2.0), gradgrad=True),
    _unary("exp2", lambda m, a: m.exp2(a), np.exp2, gradgrad=True),
    _unary("expm1", lambda m, a: m.expm1(a), np.expm1),
    _unary("log2", lambda m, a: m.log2(a), np.log2, domain=(0.5, 3.0)),
    _unary("log10", lambda m, a: m.log10(a), np.log10, domain=(0.5, 3.0)),
    _unary("log1p", lambda m, a: m.log1p(a), np.log1p, domain=(-0.5, 2.0), gradgrad=True),
    _unary("sqrt", lambda m, a: m.sqrt(a), np.sqrt, domain=(0.5, 3.0), gradgrad=True),
    _unary("rsqrt", lambda m, a: m.rsqrt(a), lambda a: 1 / np.sqrt(a), domain=(0.5, 3.0), gradgrad=True),
    _unary("square", lambda m, a: m.square(a), np.square, gradgrad=True),
    _unary("sin", lambda m, a: m.sin(a), np.sin, gradgrad=True),
    _unary("cos", lambda m, a: m.cos(a), np.cos, gradgrad=True),
    _unary("tan", lambda m, a: m.tan(a), np.tan, domain=(-1.2, 1.2), gradgrad=True),
    _unary("asin", lambda m, a: m.asin(a), np.arcsin, domain=(-0.9, 0.9), gradgrad=True),
    _unary("acos", lambda m, a: m.acos(a), np.arccos, domain=(-0.9, 0.9)),
    _unary("atan", lambda m, a: m.atan(a), np.arctan, gradgrad=True),
    _unary("arcsin_alias", lambda m, a: m.arcsin(a), np.arcsin, domain=(-0.9, 0.9), zero_dim=False),
    _unary("sinh", lambda m, a: m.sinh(a), np.sinh),
    _unary("cosh", lambda m, a: m.cosh(a), np.cosh),
    _unary("tanh", lambda m, a: m.tanh(a), np.tanh, gradgrad=True),
    _unary("asinh", lambda m, a: m.asinh(a), np.arcsinh),
    _unary("acosh", lambda m, a: m.acosh(a), np.arccosh, domain=(1.2, 3.0)),
    _unary("atanh", lambda m, a: m.atanh(a), np.arctanh, domain=(-0.9, 0.9), gradgrad=True),
    _unary(
        "sigmoid",
        lambda m, a: m.sigmoid(a),
        lambda a: 1 / (1 + np.exp(-a)),
        domain=(-4.0, 4.0),
        gradgrad=True,
    ),
    _unary("relu", lambda m, a: m.relu(a), lambda a: np.maximum(a, 0), gradgrad=True),
    _unary("relu_method", lambda m, a: a.relu(), lambda a: np.maximum(a, 0), zero_dim=False),
    _unary("erf", lambda m, a: m.erf(a), _erf, domain=(-3.0, 3.0), gradgrad=True),
    _unary("erfc", lambda m, a: m.erfc(a), _erfc, domain=(-3.0, 3.0)),
    _unary("erfinv", lambda m, a: m.erfinv(a), _erfinv, domain=(-0.95, 0.95), gradgrad=True),
    _unary("sinc", lambda m, a: m.sinc(a), np.sinc, domain=(0.1, 2.0), gradgrad=True),
    _unary("deg2rad", lambda m, a: m.deg2rad(a), np.deg2rad),
    _unary("rad2deg", lambda m, a: m.rad2deg(a), np.rad2deg),
    _unary("positive", lambda m, a: m.positive(a), np.positive),
    # -- rounding (zero gradient, except frac)
    _unary("floor", lambda m, a: m.floor(a), np.floor),
    _unary("ceil", lambda m, a: m.ceil(a), np.ceil),
    _unary("round", lambda m, a: m.round(a), np.round),
    _unary("round_decimals", lambda m, a: m.round(a, decimals=1), lambda a: np.round(a, 1), zero_dim=False),
    _unary("trunc", lambda m, a: m.trunc(a), np.trunc),
    _unary("fix", lambda m, a: m.fix(a), np.trunc, zero_dim=False),
    _unary("frac", lambda m, a: m.frac(a), lambda a: a - np.trunc(a)),
    # -- clamping
    _unary("clamp", lambda m, a: m.clamp(a, -0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), gradgrad=True),
    _unary("clamp_min_kw", lambda m, a: a.clamp(min=0.3), lambda a: np.maximum(a, 0.3)),
    _unary("clamp_max_method", lambda m, a: a.clamp_max(0.3), lambda a: np.minimum(a, 0.3)),
    _unary("clamp_min_method", lambda m, a: m.clamp_min(a, -0.3), lambda a: np.maximum(a, -0.3)),
    _unary("clip", lambda m, a: m.clip(a, max=1.0), lambda a: np.minimum(a, 1.0), zero_dim=False),
    OpSpec(
        "clamp_tensor",
        lambda m, a, lo, hi: m.clamp(a, lo, hi),
        np.clip,
        [(3, 4), (4,), (3, 1)],
        make_inputs=_clamp_bounds,
        gradgrad=True,
    ),
    _binary("clamp_tensor_min", lambda m, a, lo: a.clamp(min=lo), np.maximum, [(3, 4), (4,)]),
    _binary("clamp_tensor_max", lambda m, a, hi: a.clamp(max=hi), np.minimum, [(3, 4), (3, 1)]),
    # -- binary functions
    _binary("atan2", lambda m, a, b: m.atan2(a, b), np.arctan2, gradgrad=True, zero_dim=True),
    _binary("arctan2_alias", lambda m, a, b: m.arctan2(a, b), np.arctan2),
    _binary("maximum", lambda m, a, b: m.maximum(a, b), np.maximum, gradgrad=True, zero_dim=True),
    _binary("minimum", lambda m, a, b: m.minimum(a, b), np.minimum, zero_dim=True),
    _binary("fmax", lambda m, a, b: m.fmax(a, b), np.fmax),
    _binary("fmin", lambda m, a, b: m.fmin(a, b), np.fmin),
    _binary("logaddexp", lambda m, a, b: m.logaddexp(a, b), np.logaddexp, gradgrad=True, zero_dim=True),
    _binary("hypot", lambda m, a, b: m.hypot(a, b), np.hypot, gradgrad=True, domain=(0.5, 2.0)),
    _binary("copysign", lambda m, a, b: m.copysign(a, b), np.copysign, zero_dim=True),
    _binary(
        "copysign_scalar", lambda m, a, b: m.copysign(a, -1.0) * b, lambda a, b: np.copysign(a, -1.0) * b
    ),
    _binary(
        "xlogy", lambda m, a, b: m.xlogy(a, b), lambda a, b: a * np.log(b), domain=(0.5, 2.0), gradgrad=True
    ),
    _binary(
        "where",
        lambda m, a, b: m.where(a > 0, a, b),
        lambda a, b: np.where(a > 0, a, b),
        gradgrad=True,
        zero_dim=True,
    ),
    _binary("where_method", lambda m, a, b: a.where(b < 0.5, b), lambda a, b: np.where(b < 0.5, a, b)),
    _unary("where_scalar", lambda m, a: m.where(a > 0, a, 0.5), lambda a: np.where(a > 0, a, 0.5)),
    _unary("where_scalar_first", lambda m, a: m.where(a > 0, -1.0, a), lambda a: np.where(a > 0, -1.0, a)),
    _binary("lerp_scalar", lambda m, a, b: m.lerp(a, b, 0.3), lambda a, b: a + 0.3 * (b - a), gradgrad=True),
    OpSpec(
        "lerp_tensor",
        lambda m, a, b, w: m.lerp(a, b, w),
        lambda a, b, w: a + w * (b - a),
        [(3, 4), (4,), (3, 1)],
        gradgrad=True,
    ),
    OpSpec(
        "addcmul",
        lambda m, a, b, c: m.addcmul(a, b, c, value=0.5),
        lambda a, b, c: a + 0.5 * b * c,
        [(3, 4), (4,), (3, 1)],
        gradgrad=True,
    ),
    OpSpec(
        "addcdiv",
        lambda m, a, b, c: m.addcdiv(a, b, c, value=-2),
        lambda a, b, c: a - 2 * b / c,
        [(3, 4), (4,), (3, 1)],
        make_inputs=_uniform(((-2, 2), (3, 4)), ((-2, 2), (4,)), ((0.5, 2), (3, 1))),
    ),
    # -- division modes
    _binary(
        "remainder",
        lambda m, a, b: m.remainder(a, b),
        np.remainder,
        domain=(0.5, 2.0),
        make_inputs=_away_from_zero((3, 4), (4,)),
    ),
    _binary("mod_operator", lambda m, a, b: a % b, np.remainder, domain=(0.5, 2.0)),
    _unary(
        "rmod_scalar",
        lambda m, a: 2.5 % a,
        lambda a: np.remainder(2.5, a),
        domain=(0.5, 2.0),
        torch_fn=lambda m, a: m.remainder(m.full_like(a, 2.5), a),
    ),  # torch: no grad for a Scalar self
    _unary("remainder_scalar", lambda m, a: m.remainder(a, -0.7), lambda a: np.remainder(a, -0.7)),
    _binary(
        "fmod",
        lambda m, a, b: m.fmod(a, b),
        np.fmod,
        domain=(0.5, 2.0),
        make_inputs=_away_from_zero((3, 4), (4,)),
    ),
    _binary(
        "floor_divide",
        lambda m, a, b: m.floor_divide(a, b),
        np.floor_divide,
        domain=(0.5, 2.0),
        make_inputs=_away_from_zero((3, 4), (4,)),
        differentiable=False,
        broadcast=True,
    ),
    _binary(
        "floordiv_operator",
        lambda m, a, b: a // b,
        np.floor_divide,
        domain=(0.5, 2.0),
        differentiable=False,
        broadcast=True,
    ),
    _unary(
        "rfloordiv_scalar",
        lambda m, a: 3.0 // a,
        lambda a: np.floor_divide(3.0, a),
        domain=(0.5, 2.0),
        differentiable=False,
    ),
    _binary(
        "div_floor",
        lambda m, a, b: m.div(a, b, rounding_mode="floor"),
        np.floor_divide,
        domain=(0.5, 2.0),
        make_inputs=_away_from_zero((3, 4), (4,)),
    ),
    _binary(
        "div_trunc",
        lambda m, a, b: m.div(a, b, rounding_mode="trunc"),
        lambda a, b: np.trunc(a / b),
        domain=(0.5, 2.0),
        make_inputs=_away_from_zero((3, 4), (4,)),
    ),
    OpSpec(
        "div_trunc_int",
        lambda m, a, b: m.div(a, b, rounding_mode="trunc"),
        lambda a, b: np.trunc(a / b).astype(np.int64),
        [(3, 4), (4,)],
        differentiable=False,
        make_inputs=lambda rng, dt: [rng.integers(-9, 10, (3, 4)), rng.choice([-3, -2, 2, 3], (4,))],
    ),
    OpSpec(
        "floor_divide_int",
        lambda m, a, b: a // b,
        np.floor_divide,
        [(3, 4), (4,)],
        differentiable=False,
        make_inputs=lambda rng, dt: [rng.integers(-9, 10, (3, 4)), rng.choice([-3, -2, 2, 3], (4,))],
    ),
    OpSpec(
        "remainder_int",
        lambda m, a, b: a % b,
        np.remainder,
        [(3, 4), (4,)],
        differentiable=False,
        make_inputs=lambda rng, dt: [rng.integers(-9, 10, (3, 4)), rng.choice([-3, -2, 2, 3], (4,))],
    ),
    # -- comparisons, logical, bitwise, predicates (bool results, outside the graph)
    _binary(
        "eq",
        lambda m, a, b: m.eq(a, b),
        np.equal,
        differentiable=False,
        make_inputs=_small_ints((3, 4), (4,)),
        zero_dim=True,
    ),
    _binary(
        "ne_operator",
        lambda m, a, b: a != b,
        np.not_equal,
        differentiable=False,
        make_inputs=_small_ints((3, 4), (4,)),
    ),
    _binary(
        "lt_operator",
        lambda m, a, b: a < b,
        np.less,
        differentiable=False,
        make_inputs=_small_ints((3, 4), (4,)),
    ),
    _binary(
        "le",
        lambda m, a, b: m.le(a, b),
        np.less_equal,
        differentiable=False,
        make_inputs=_small_ints((3, 4), (4,)),
    ),
    _binary(
        "gt_operator",
        lambda m, a, b: a > b,
        np.greater,
        differentiable=False,
        make_inputs=_small_ints((3, 4), (4,)),
    ),
    _binary(
        "ge_method",
        lambda m, a, b: a.ge(b),
        np.greater_equal,
        differentiable=False,
        make_inputs=_small_ints((3, 4), (4,)),
    ),
    _binary(
        "eq_operator_scalar",
        lambda m, a, b: (a == 1.0) & (b != 0),
        lambda a, b: (a == 1.0) & (b != 0),
        differentiable=False,
        make_inputs=_small_ints((3, 4), (4,)),
    ),
    _binary(
        "logical_and",
        lambda m, a, b: m.logical_and(a, b),
        np.logical_and,
        differentiable=False,
        make_inputs=_small_ints((3, 4), (4,)),
    ),
    _binary(
        "logical_or",
        lambda m, a, b: m.logical_or(a, b),
        np.logical_or,
        differentiable=False,
        make_inputs=_small_ints((3, 4), (4,)),
    ),
    _binary(
        "logical_xor",
        lambda m, a, b: m.logical_xor(a, b),
        np.logical_xor,
        differentiable=False,
        make_inputs=_small_ints((3, 4), (4,)),
    ),
    OpSpec(
        "logical_not",
        lambda m, a: m.logical_not(a),
        np.logical_not,
        [(3, 4)],
        differentiable=False,
        make_inputs=_small_ints((3, 4)),
        zero_dim=True,
    ),
    OpSpec(
        "bitwise_and",
        lambda m, a, b: m.bitwise_and(a, b),
        np.bitwise_and,
        [(3, 4), (4,)],
        differentiable=False,
        make_inputs=_small_ints((3, 4), (4,), as_float=False, low=-8, high=9),
    ),
    OpSpec(
        "bitwise_or_operator",
        lambda m, a, b: a | b,
        np.bitwise_or,
        [(3, 4), (4,)],
        differentiable=False,
        make_inputs=_small_ints((3, 4), (4,), as_float=False, low=-8, high=9),
    ),
    OpSpec(
        "bitwise_xor_operator",
        lambda m, a, b: a ^ b,
        np.bitwise_xor,
        [(3, 4), (4,)],
        differentiable=False,
        make_inputs=_small_ints((3, 4), (4,), as_float=False, low=-8, high=9),
    ),
    OpSpec(
        "bitwise_not_operator",
        lambda m, a: ~a,
        np.invert,
        [(3, 4)],
        differentiable=False,
        make_inputs=_small_ints((3, 4), as_float=False, low=-8, high=9),
    ),
    OpSpec(
        "bool_and_or_not",
        lambda m, a, b: (a & b) | ~a,
        lambda a, b: (a & b) | ~a,
        [(3, 4), (4,)],
        differentiable=False,
        make_inputs=_bools((3, 4), (4,)),
    ),
    OpSpec(
        "isnan", lambda m, a: m.isnan(a), np.isnan, [(3, 4)], make_inputs=_with_specials, differentiable=False
    ),
    OpSpec(
        "isinf", lambda m, a: m.isinf(a), np.isinf, [(3, 4)], make_inputs=_with_specials, differentiable=False
    ),
    OpSpec(
        "isfinite",
        lambda m, a: a.isfinite(),
        np.isfinite,
        [(3, 4)],
        make_inputs=_with_specials,
        differentiable=False,
    ),
    OpSpec(
        "isposinf",
        lambda m, a: m.isposinf(a),
        np.isposinf,
        [(3, 4)],
        make_inputs=_with_specials,
        differentiable=False,
    ),
    OpSpec(
        "isneginf",
        lambda m, a: m.isneginf(a),
        np.isneginf,
        [(3, 4)],
        make_inputs=_with_specials,
        differentiable=False,
    ),
    OpSpec(
        "nan_to_num",
        lambda m, a: m.nan_to_num(a, nan=0.5, posinf=3.0, neginf=-3.0),
        lambda a: np.nan_to_num(a, nan=0.5, posinf=3.0, neginf=-3.0),
        [(3, 4)],
        make_inputs=_with_specials,
    ),
    OpSpec(
        "nan_to_num_defaults",
        lambda m, a: m.nan_to_num(a),
        np.nan_to_num,
        [(3, 4)],
        make_inputs=_with_specials,
        float32=False,
        differentiable=False,
    ),  # its outputs near 1.8e308 overflow the weighted loss
    _binary(
        "heaviside",
        lambda m, a, v: m.heaviside(a, v),
        _heaviside,
        differentiable=False,
        make_inputs=_small_ints((3, 4), (4,)),
    ),
    # -- in-place twins, through a clone so that the graph reaches the leaf
    _unary("exp_", lambda m, a: a.clone().exp_(), np.exp, gradgrad=True),
    _unary("sigmoid_", lambda m, a: a.clone().sigmoid_(), lambda a: 1 / (1 + np.exp(-a))),
    _unary("relu_", lambda m, a: m.relu_(a.clone()), lambda a: np.maximum(a, 0)),
    _unary("clamp_", lambda m, a: a.clone().clamp_(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5)),
    _unary("abs_", lambda m, a: a.clone().abs_(), np.abs),
    _unary("sqrt_", lambda m, a: a.clone().sqrt_(), np.sqrt, domain=(0.5, 3.0)),
    _unary("floor_", lambda m, a: a.clone().floor_(), np.floor),
    _unary("tanh_", lambda m, a: a.clone().tanh_(), np.tanh),
    OpSpec(
        "lerp_", lambda m, a, b: a.clone().lerp_(b, 0.25), lambda a, b: a + 0.25 * (b - a), [(3, 4), (4,)]
    ),
    OpSpec(
        "addcmul_",
        lambda m, a, b, c: a.clone().addcmul_(b, c, value=2),
        lambda a, b, c: a + 2 * b * c,
        [(3, 4), (4,), (3, 1)],
    ),
    OpSpec(
        "addcdiv_",
        lambda m, a, b, c: a.clone().addcdiv_(b, c),
        lambda a, b, c: a + b / c,
        [(3, 4), (4,), (3, 1)],
        make_inputs=_uniform(((-2, 2), (3, 4)), ((-2, 2), (4,)), ((0.5, 2), (3, 1))),
    ),
    OpSpec(
        "copy_",
        lambda m, a, b: a.clone().copy_(b),
        lambda a, b: np.broadcast_to(b, a.shape).copy(),
        [(3, 4), (4,)],
        gradgrad=True,
    ),
    OpSpec("fill_tensor", lambda m, a, b: a.clone().fill_(b), lambda a, b: np.full_like(a, b), [(3, 4), ()]),
    OpSpec("zero_", lambda m, a: a.clone().zero_() + a, lambda a: a, [(3, 4)]),
]
