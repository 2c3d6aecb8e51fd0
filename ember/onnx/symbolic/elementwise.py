"""Elementwise primitives and the comparisons and logical ops computed outside the graph."""

from __future__ import annotations

import math

import numpy as np

from ember.onnx.registry import symbolic

_UNARY = {
    "Neg": "Neg",
    "Exp": "Exp",
    "Log": "Log",
    "Abs": "Abs",
    "Sin": "Sin",
    "Cos": "Cos",
    "Tan": "Tan",
    "Asin": "Asin",
    "Acos": "Acos",
    "Atan": "Atan",
    "Sinh": "Sinh",
    "Cosh": "Cosh",
    "Asinh": "Asinh",
    "Acosh": "Acosh",
    "Atanh": "Atanh",
    "Sqrt": "Sqrt",
    "Reciprocal": "Reciprocal",
    "Tanh": "Tanh",
    "Sigmoid": "Sigmoid",
    "Sign": "Sign",
    "Floor": "Floor",
    "Ceil": "Ceil",
    "Relu": "Relu",
    "Erf": "Erf",
    "Clone": "Identity",
    "ToDevice": "Identity",
}
_BINARY = {
    "Add": "Add",
    "Sub": "Sub",
    "Mul": "Mul",
    "Div": "Div",
    "Pow": "Pow",
    "Maximum": "Max",
    "Minimum": "Min",
    "Fmax": "Max",
    "Fmin": "Min",
}
_REVERSED = {"RSub": "Sub", "RDiv": "Div", "RPow": "Pow"}
_RAW_BINARY = {
    "greater": "Greater",
    "less": "Less",
    "equal": "Equal",
    "greater_equal": "GreaterOrEqual",
    "less_equal": "LessOrEqual",
    "logical_and": "And",
    "logical_or": "Or",
    "logical_xor": "Xor",
    "bitwise_and": "BitwiseAnd",
    "bitwise_or": "BitwiseOr",
    "bitwise_xor": "BitwiseXor",
}


def _unary(onnx_op):
    return lambda g: g.op(onnx_op, g.arg(0))


def _binary(onnx_op, reverse=False):
    def emit(g):
        a, b = g.arg(0), g.arg(1)
        return g.op(onnx_op, b, a) if reverse else g.op(onnx_op, a, b)

    return emit


for _name, _onnx in _UNARY.items():
    symbolic(_name)(_unary(_onnx))
for _name, _onnx in _BINARY.items():
    symbolic(_name)(_binary(_onnx))
for _name, _onnx in _REVERSED.items():
    symbolic(_name)(_binary(_onnx, reverse=True))
for _name, _onnx in _RAW_BINARY.items():
    symbolic(_name)(_binary(_onnx))


@symbolic("not_equal")
def _not_equal(g):
    return g.op("Not", g.op("Equal", g.arg(0), g.arg(1)))


@symbolic("logical_not", "invert")
def _not(g):
    if g.traced(0).dtype != np.bool_:
        raise g.error("bitwise invert of integers has no ONNX operator here; use it on bool tensors")
    return g.op("Not", g.arg(0))


@symbolic("isnan")
def _isnan(g):
    return g.op("IsNaN", g.arg(0))


@symbolic("isinf")
def _isinf(g):
    return g.op("IsInf", g.arg(0))


@symbolic("PowScalar")
def _pow_scalar(g):
    return g.op("Pow", g.arg(0), g.scalar(g.step.args[1], g.traced(0).dtype))


@symbolic("Rsqrt")
def _rsqrt(g):
    return g.op("Reciprocal", g.op("Sqrt", g.arg(0)))


@symbolic("Exp2")
def _exp2(g):
    return g.op("Pow", g.scalar(2.0, g.traced(0).dtype), g.arg(0))


@symbolic("Expm1")
def _expm1(g):
    return g.op("Sub", g.op("Exp", g.arg(0)), g.scalar(1.0, g.traced(0).dtype))


@symbolic("Log1p")
def _log1p(g):
    return g.op("Log", g.op("Add", g.arg(0), g.scalar(1.0, g.traced(0).dtype)))


@symbolic("Log2", "Log10")
def _log_base(g):
    base = 2.0 if g.step.op == "Log2" else 10.0
    return g.op("Div", g.op("Log", g.arg(0)), g.scalar(math.log(base), g.traced(0).dtype))


@symbolic("Trunc")
def _trunc(g):
    x = g.arg(0)
    return g.op("Mul", g.op("Sign", x), g.op("Floor", g.op("Abs", x)))


@symbolic("Round")
def _round(g):
    decimals = g.step.args[1]
    if not decimals:
        return g.op("Round", g.arg(0))
    scale = g.scalar(10.0**decimals, g.traced(0).dtype)
    return g.op("Div", g.op("Round", g.op("Mul", g.arg(0), scale)), scale)


@symbolic("Gelu")
def _gelu(g):
    x, dtype = g.arg(0), g.traced(0).dtype
    erf = g.op("Erf", g.op("Mul", x, g.scalar(1 / math.sqrt(2.0), dtype)))
    return g.op("Mul", g.op("Mul", x, g.scalar(0.5, dtype)), g.op("Add", erf, g.scalar(1.0, dtype)))


@symbolic("Where")
def _where(g):
    return g.op("Where", g.arg(0), g.arg(1), g.arg(2))


@symbolic("Clamp", "ClampTensor")
def _clamp(g):
    x, out = g.arg(0), g.traced(0)
    for i, op in ((1, "Max"), (2, "Min")):
        if g.step.args[i] is not None:
            x = g.op(op, x, g.arg(i) if g.step.op == "ClampTensor" else g.scalar(g.step.args[i], out.dtype))
    return x


@symbolic("Cast")
def _cast(g):
    return g.cast_like(g.arg(0), g.output().dtype)


@symbolic("Lerp")
def _lerp(g):
    a, b, w = g.arg(0), g.arg(1), g.arg(2)
    return g.op("Add", a, g.op("Mul", w, g.op("Sub", b, a)))


@symbolic("Logaddexp")
def _logaddexp(g):
    a, b = g.arg(0), g.arg(1)
    top = g.op("Max", a, b)
    total = g.op("Add", g.op("Exp", g.op("Sub", a, top)), g.op("Exp", g.op("Sub", b, top)))
    return g.op("Add", top, g.op("Log", total))
