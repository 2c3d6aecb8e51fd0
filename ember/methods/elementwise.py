"""Elementwise methods: math functions, clamping, rounding, interpolation and the in-place
twins of every elementwise op (primitives in ``ember.ops.elementwise``). Comparisons, logical
and bitwise ops and predicates, which never join the graph, are in ``methods/comparison.py``;
their in-place twins and free functions are listed here with the rest.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ember import dtypes
from ember.autograd import function
from ember.methods.arithmetic import as_tensor_like, promote, python_scalar
from ember.ops import binary, special
from ember.ops import elementwise as ew
from ember.tensor_core import TensorBase, make

if TYPE_CHECKING:
    from ember.tensor import Tensor

_Number = (int, float, bool)


def _float(t: Tensor) -> Tensor:
    """``t``, cast to the default float dtype unless it is floating already."""
    return t if dtypes.is_inexact_np(t._data.dtype) else t._cast(dtypes.get_default_dtype().np)


def _scalar_tensor(value, like: Tensor, np_dtype=None) -> Tensor:
    """A number as a 0-d tensor on ``like``'s device: PyTorch's dtype for it unless given."""
    if isinstance(value, TensorBase):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        return as_tensor_like(value, like)
    if np_dtype is None:
        np_dtype = dtypes.result_type(value).np
    return make(like.xp.asarray(value, dtype=np_dtype))


def _kind_name(t: Tensor) -> str:
    return str(t.dtype).replace("ember.", "")


def _not_for(op: str, t: Tensor, hint: str):
    return NotImplementedError(
        f"{op}: not implemented for {_kind_name(t)} tensors (shape {list(t.shape)}); {hint}"
    )


def _raw_binary(self: Tensor, other, kernel: str, op: str, strict: bool = True):
    """``xp.<kernel>(self, other)`` as a Tensor outside the graph (bool/integer results)."""
    if isinstance(other, TensorBase):
        value = other._data
    elif isinstance(other, _Number):
        value = other
    elif isinstance(other, (np.ndarray, np.generic)):
        value = as_tensor_like(other, self)._data
    elif strict:
        raise TypeError(
            f"{op}: expected a Tensor or a number as the second operand, got {type(other).__name__}"
        )
    else:
        return NotImplemented
    xp = self.xp
    try:
        out = getattr(xp, kernel)(self._data, value)
    except (TypeError, ValueError) as exc:
        raise _binary_error(op, self, other) from exc
    result = make(out if type(out) is type(self._data) else xp.asarray(out))
    if function._trace_hook is not None:
        function._trace_hook.raw(kernel, (self, other), result)
    return result


def _binary_error(op: str, a: Tensor, b) -> RuntimeError:
    if isinstance(b, TensorBase):
        if b.device != a.device:
            return RuntimeError(
                f"{op}: expected all tensors to be on the same device, but found {a.device} and "
                f"{b.device}; move one with .to(device)"
            )
        return RuntimeError(
            f"{op}: the shapes {list(a.shape)} ({_kind_name(a)}) and {list(b.shape)} ({_kind_name(b)}) "
            "are not broadcastable: trailing dims must match or be 1"
        )
    return RuntimeError(f"{op}: unsupported operands {_kind_name(a)} tensor {list(a.shape)} and {b!r}")


def _raw_unary(self: Tensor, kernel: str) -> Tensor:
    xp = self.xp
    out = getattr(xp, kernel)(self._data)
    result = make(out if type(out) is type(self._data) else xp.asarray(out))
    if function._trace_hook is not None:
        function._trace_hook.raw(kernel, (self,), result)
    return result


def _where(condition: Tensor, a, b) -> Tensor:
    if not isinstance(condition, TensorBase):
        raise TypeError(f"where: condition must be a bool Tensor, got {type(condition).__name__}")
    if condition._data.dtype.kind != "b":
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{_kind_name(condition)} (shape {list(condition.shape)}); compare it first, e.g. cond != 0"
        )
    a_is, b_is = isinstance(a, TensorBase), isinstance(b, TensorBase)
    if a_is and b_is:
        if a._data.dtype != b._data.dtype:
            a, b = promote(a, b)
    elif a_is:
        a, b = promote(a, b)
    elif b_is:
        b, a = promote(b, a)
    else:
        a = _scalar_tensor(a, condition, dtypes.result_type(a, b).np)
    return binary.Where.apply(condition, a, b)


def _clamp_tensor(self: Tensor, lo, hi) -> Tensor:
    target = dtypes.result_type(self, *(v for v in (lo, hi) if v is not None)).np
    lo, hi = (None if v is None else _scalar_tensor(v, self, target)._cast(target) for v in (lo, hi))
    return binary.ClampTensor.apply(self._cast(target), lo, hi)


def _unary(name: str, op, doc: str, to_float: bool = True):
    """A method ``x.<name>()`` applying ``op`` (to ``x`` cast to the default float when needed)."""
    if to_float:

        def method(self) -> Tensor:
            return op.apply(_float(self))
    else:

        def method(self) -> Tensor:
            return op.apply(self)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = doc
    return method


def _inplace(name: str, saves_input: bool = True):
    """The in-place twin ``x.<name>_(...)``: computed out of place, then written into ``x``.

    When the backward of ``name`` saves its input and a graph is recorded, the op reads a clone,
    so that writing the result into ``x`` leaves the saved value intact (as PyTorch does).
    """

    def method(self, *args, **kwargs) -> Tensor:
        source = self
        if saves_input and self._needs_graph(*args, *kwargs.values()):
            source = self.clone()
        return self._set_from(name + "_", getattr(source, name)(*args, **kwargs))

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place ``{name}``: ``x.{name}_(...)`` writes ``x.{name}(...)`` into ``x``."
    return method


# fmt: off
_FLOAT_UNARY = [
    "exp", "log", "exp2", "expm1", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos", "tan",
    "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "sigmoid", "erf",
    "erfc", "erfinv", "sinc", "reciprocal",
]
# fmt: on
_ALIASES = ["arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "absolute", "clip", "fix", "sgn"]
# fmt: off
_INPLACE = _FLOAT_UNARY + _ALIASES + [
    "abs", "sign", "square", "relu", "clamp", "clamp_min", "clamp_max", "floor", "ceil", "round",
    "trunc", "frac", "atan2", "arctan2", "lerp", "addcmul", "addcdiv", "logical_and",
    "logical_or", "logical_xor", "logical_not", "eq", "ne", "lt", "le", "gt", "ge", "greater",
    "greater_equal", "less", "less_equal", "not_equal", "bitwise_and", "bitwise_or",
    "bitwise_xor", "bitwise_not", "nan_to_num", "floor_divide", "remainder", "fmod", "hypot",
    "copysign", "xlogy", "deg2rad", "rad2deg", "heaviside",
]
# fmt: on

# backward needs only the output (or nothing): their in-place twins need no clone of the input
# fmt: off
_KEEPS_NO_INPUT = {
    "exp", "exp2", "expm1", "sqrt", "rsqrt", "reciprocal", "tan", "tanh", "sigmoid", "erfinv",
    "relu", "floor", "ceil", "round", "trunc", "fix", "frac", "sign", "sgn", "eq", "ne", "lt",
    "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or",
    "bitwise_xor", "bitwise_not", "addcmul", "addcdiv", "deg2rad", "rad2deg", "floor_divide",
}
# fmt: on

# Tensor methods that are also free functions: ember.<name>(t, ...) is t.<name>(...)
# fmt: off
FUNCTIONS = _FLOAT_UNARY + _ALIASES + [
    "abs", "sign", "square", "relu", "clamp", "clamp_min", "clamp_max", "floor", "ceil", "round",
    "trunc", "frac", "atan2", "arctan2", "maximum", "minimum", "fmax", "fmin", "lerp", "addcmul",
    "addcdiv", "logical_and", "logical_or", "logical_xor", "logical_not", "eq", "ne", "lt", "le",
    "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal", "bitwise_and",
    "bitwise_or", "bitwise_xor", "bitwise_not", "isnan", "isinf", "isfinite", "isposinf",
    "isneginf", "nan_to_num", "floor_divide", "fmod", "logaddexp", "hypot", "copysign", "deg2rad",
    "rad2deg", "positive", "heaviside", "isclose", "allclose", "equal", "relu_", "sigmoid_",
    "exp_", "sqrt_", "tanh_", "clamp_", "clip_", "zero_", "fill_",
]
# fmt: on
__all__ = ["remainder", "where", "xlogy"]  # free functions defined here (scalars allowed first)


class ElementwiseMethods:
    __slots__ = ()

    # -- float functions: integer and bool inputs give the default float dtype ---------------
    exp = _unary("exp", ew.Exp, "``e ** x``, elementwise.")
    log = _unary("log", ew.Log, "Natural logarithm, elementwise.")
    exp2 = _unary("exp2", ew.Exp2, "``2 ** x``, elementwise.")
    expm1 = _unary("expm1", ew.Expm1, "``exp(x) - 1``, accurate near 0.")
    log2 = _unary("log2", ew.Log2, "Base-2 logarithm, elementwise.")
    log10 = _unary("log10", ew.Log10, "Base-10 logarithm, elementwise.")
    log1p = _unary("log1p", ew.Log1p, "``log(1 + x)``, accurate near 0.")
    sqrt = _unary("sqrt", ew.Sqrt, "Square root, elementwise.")
    rsqrt = _unary("rsqrt", ew.Rsqrt, "``1 / sqrt(x)``, elementwise.")
    reciprocal = _unary("reciprocal", ew.Reciprocal, "``1 / x``, elementwise.")
    sin = _unary("sin", ew.Sin, "Sine, elementwise.")
    cos = _unary("cos", ew.Cos, "Cosine, elementwise.")
    tan = _unary("tan", ew.Tan, "Tangent, elementwise.")
    asin = arcsin = _unary("asin", ew.Asin, "Inverse sine, elementwise.")
    acos = arccos = _unary("acos", ew.Acos, "Inverse cosine, elementwise.")
    atan = arctan = _unary("atan", ew.Atan, "Inverse tangent, elementwise.")
    sinh = _unary("sinh", ew.Sinh, "Hyperbolic sine, elementwise.")
    cosh = _unary("cosh", ew.Cosh, "Hyperbolic cosine, elementwise.")
    tanh = _unary("tanh", ew.Tanh, "Hyperbolic tangent, elementwise.")
    asinh = arcsinh = _unary("asinh", ew.Asinh, "Inverse hyperbolic sine, elementwise.")
    acosh = arccosh = _unary("acosh", ew.Acosh, "Inverse hyperbolic cosine, elementwise.")
    atanh = arctanh = _unary("atanh", ew.Atanh, "Inverse hyperbolic tangent, elementwise.")
    sigmoid = _unary("sigmoid", ew.Sigmoid, "``1 / (1 + exp(-x))``, elementwise.")
    erf = _unary("erf", special.Erf, "The error function, elementwise.")
    erfc = _unary("erfc", special.Erfc, "``1 - erf(x)``, accurate where erf is near 1.")
    erfinv = _unary("erfinv", special.Erfinv, "The inverse error function (inf at 1, NaN outside [-1, 1]).")
    sinc = _unary("sinc", ew.Sinc, "``sin(pi x) / (pi x)``, 1 at 0.")

    def deg2rad(self) -> Tensor:
        """Degrees to radians."""
        return _float(self) * (math.pi / 180.0)

    def rad2deg(self) -> Tensor:
        """Radians to degrees."""
        return _float(self) * (180.0 / math.pi)

    # -- dtype-keeping unary ops -------------------------------------------------------------
    def abs(self) -> Tensor:
        """Absolute value; abs'(0) = 0."""
        if self._data.dtype.kind == "b":
            raise _not_for("abs", self, "convert with .int() first")
        return ew.Abs.apply(self)

    absolute = __abs__ = abs

    def sign(self) -> Tensor:
        """-1, 0 or 1 by the sign of each element (NaN stays NaN)."""
        if self._data.dtype.kind == "b":
            return self.clone()
        return ew.Sign.apply(self)

    sgn = sign

    def positive(self) -> Tensor:
        """``self`` itself (``+x``); an error for bool tensors, as in PyTorch."""
        if self._data.dtype.kind == "b":
            raise RuntimeError(
                f"positive: the `+` operator, on a bool tensor (shape {list(self.shape)}) is not supported."
            )
        return self

    def square(self) -> Tensor:
        """``x * x``; bool gives int64, as in PyTorch."""
        return self.pow(2)

    def relu(self) -> Tensor:
        """``max(x, 0)``; relu'(0) = 0."""
        if self._data.dtype.kind == "b":
            raise RuntimeError(f"relu: Boolean inputs not supported for relu (shape {list(self.shape)})")
        return ew.Relu.apply(self)

    def _rounding(self, op, name: str) -> Tensor:
        kind = self._data.dtype.kind
        if dtypes.is_floating_np(self._data.dtype):
            return op.apply(self)
        if kind == "b":
            raise _not_for(name, self, "convert with .int() or .float() first")
        return self.clone()

    def floor(self) -> Tensor:
        """The largest integer <= x, elementwise (integer tensors are copied)."""
        return self._rounding(ew.Floor, "floor")

    def ceil(self) -> Tensor:
        """The smallest integer >= x, elementwise (integer tensors are copied)."""
        return self._rounding(ew.Ceil, "ceil")

    def trunc(self) -> Tensor:
        """Round toward zero, elementwise (integer tensors are copied)."""
        return self._rounding(ew.Trunc, "trunc")

    fix = trunc

    def round(self, decimals: int = 0) -> Tensor:
        """Round half to even, at ``decimals`` places (before the point when negative)."""
        if dtypes.is_floating_np(self._data.dtype):
            return ew.Round.apply(self, int(decimals))
        if decimals:
            raise _not_for("round", self, "decimals needs a floating tensor: call .float() first")
        return self._rounding(None, "round")

    def frac(self) -> Tensor:
        """``x - trunc(x)``, for floating tensors."""
        if not dtypes.is_floating_np(self._data.dtype):
            raise _not_for("frac", self, "call .float() first")
        return ew.Frac.apply(self)

    def nan_to_num(
        self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
    ) -> Tensor:
        """NaN, +inf and -inf replaced (by 0 and the dtype's largest and smallest finite values)."""
        if not dtypes.is_floating_np(self._data.dtype):
            return self.clone()
        return ew.NanToNum.apply(self, nan, posinf, neginf)

    # -- clamping ------------------------------------------------------------------------------
    def clamp(self, min=None, max=None) -> Tensor:
        """Limit to ``[min, max]`` (numbers or tensors; either may be None)."""
        if min is None and max is None:
            raise RuntimeError(
                f"clamp: At least one of 'min' or 'max' must not be None (input shape {list(self.shape)})"
            )
        min, max = python_scalar(min), python_scalar(max)
        if isinstance(min, TensorBase) or isinstance(max, TensorBase):
            return _clamp_tensor(self, min, max)
        a = self
        if not dtypes.is_floating_np(self._data.dtype) and (type(min) is not int or type(max) is not int):
            a = self._cast(dtypes.result_type(self, *(v for v in (min, max) if v is not None)).np)
        return binary.Clamp.apply(a, min, max)

    clip = clamp

    def clamp_min(self, min) -> Tensor:
        """``clamp(min=min)``."""
        return self.clamp(min, None)

    def clamp_max(self, max) -> Tensor:
        """``clamp(max=max)``."""
        return self.clamp(None, max)

    # -- binary float functions ----------------------------------------------------------------
    def atan2(self, other) -> Tensor:
        """The angle of the point (other, self), quadrant-aware."""
        return binary.Atan2.apply(*promote(self, other, True))

    arctan2 = atan2

    def hypot(self, other) -> Tensor:
        """``sqrt(self**2 + other**2)``, without overflow."""
        return binary.Hypot.apply(*promote(self, other, True))

    def logaddexp(self, other) -> Tensor:
        """``log(exp(self) + exp(other))``, without overflow."""
        return binary.Logaddexp.apply(*promote(self, other, True))

    def copysign(self, other) -> Tensor:
        """``|self|`` with the sign of ``other`` (no gradient reaches ``other``)."""
        return binary.Copysign.apply(*promote(self, other, True))

    def xlogy(self, other) -> Tensor:
        """``self * log(other)``, 0 where self is 0 (unless other is NaN)."""
        a, b = promote(self, other, True)
        return binary.Xlogy.apply(a, _scalar_tensor(b, a, a._data.dtype))

    # -- binary dtype-keeping ops ---------------------------------------------------------------
    def maximum(self, other) -> Tensor:
        """Elementwise max (NaN propagates); ties split the gradient."""
        return binary.Maximum.apply(*promote(self, other))

    def minimum(self, other) -> Tensor:
        """Elementwise min (NaN propagates); ties split the gradient."""
        return binary.Minimum.apply(*promote(self, other))

    def fmax(self, other) -> Tensor:
        """Elementwise max, ignoring NaN."""
        return binary.Fmax.apply(*promote(self, other))

    def fmin(self, other) -> Tensor:
        """Elementwise min, ignoring NaN."""
        return binary.Fmin.apply(*promote(self, other))

    def _div_rounded(self, other, mode: str) -> Tensor:
        """``div(other, rounding_mode=mode)`` for mode 'trunc' or 'floor' (zero gradient)."""
        if mode not in ("trunc", "floor"):
            raise RuntimeError(
                f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found {mode!r}"
            )
        a, b = promote(self, other)
        if a._data.dtype.kind == "b":
            a = a._cast(np.int64)
        return binary.DivRounded.apply(a, b, mode)

    def floor_divide(self, other) -> Tensor:
        """``self // other``, rounding down."""
        return self._div_rounded(other, "floor")

    def remainder(self, other) -> Tensor:
        """Python's ``%``: the result has the sign of ``other``."""
        return binary.Remainder.apply(*promote(self, other))

    def fmod(self, other) -> Tensor:
        """C's ``fmod``: the result has the sign of ``self``."""
        return binary.Fmod.apply(*promote(self, other))

    def __floordiv__(self, other):
        return self._div_rounded(other, "floor")

    def __rfloordiv__(self, other):
        return _scalar_tensor(other, self)._div_rounded(self, "floor")

    def __mod__(self, other):
        return self.remainder(other)

    def __rmod__(self, other):
        return _scalar_tensor(other, self).remainder(self)

    def heaviside(self, values) -> Tensor:
        """0 where x < 0, ``values`` where x == 0, 1 where x > 0 (not differentiable)."""
        a, v = promote(self, values)
        xp, x = a.xp, a._data
        chosen = xp.where(x == 0, v._data if isinstance(v, TensorBase) else v, (x > 0).astype(x.dtype))
        return make(chosen)

    # -- interpolation and fused multiply-adds -----------------------------------------------
    def lerp(self, end, weight) -> Tensor:
        """``self + weight * (end - self)``, for a number or tensor weight."""
        a, b = promote(self, end)
        if not dtypes.is_floating_np(a._data.dtype):
            raise RuntimeError(
                f"lerp: expected floating tensors, got {_kind_name(self)} and "
                f"{_kind_name(end) if isinstance(end, TensorBase) else type(end).__name__}; call .float() first"
            )
        weight = python_scalar(weight)
        if isinstance(weight, TensorBase):
            weight = weight._cast(a._data.dtype)
        return binary.Lerp.apply(a, b, weight)

    def addcmul(self, tensor1, tensor2, *, value=1) -> Tensor:
        """``self + value * tensor1 * tensor2``."""
        product = tensor1 * tensor2
        return self + (product if value == 1 else product * value)

    def addcdiv(self, tensor1, tensor2, *, value=1) -> Tensor:
        """``self + value * tensor1 / tensor2``."""
        if all(isinstance(x, TensorBase) and x._data.dtype.kind in "biu" for x in (tensor1, tensor2)):
            raise RuntimeError(
                f"addcdiv: integer division with addcdiv is no longer supported (tensor1 {_kind_name(tensor1)}, "
                f"tensor2 {_kind_name(tensor2)}); use addcmul with the reciprocal, or cast to float first"
            )
        quotient = tensor1 / tensor2
        return self + (quotient if value == 1 else quotient * value)

    def where(self, condition, other) -> Tensor:
        """``self`` where ``condition`` holds, else ``other``."""
        return _where(condition, self, other)


for _name in _INPLACE:
    setattr(ElementwiseMethods, _name + "_", _inplace(_name, _name not in _KEEPS_NO_INPUT))
ElementwiseMethods.__iand__ = ElementwiseMethods.bitwise_and_
ElementwiseMethods.__ior__ = ElementwiseMethods.bitwise_or_
ElementwiseMethods.__ixor__ = ElementwiseMethods.bitwise_xor_
ElementwiseMethods.__ifloordiv__ = ElementwiseMethods.floor_divide_
ElementwiseMethods.__imod__ = ElementwiseMethods.remainder_


# -- free functions that accept a number first ---------------------------------------------
def where(condition, input=None, other=None) -> Tensor:
    """``input`` where ``condition`` holds, else ``other`` (numbers allowed for either).

    ``where(condition)`` alone is ``condition.nonzero(as_tuple=True)``.

    >>> import ember
    >>> ember.where(ember.tensor([True, False]), 1.0, 0.0)
    tensor([1., 0.])
    """
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    return _where(condition, input, other)


def remainder(input, other) -> Tensor:
    """Python's ``%`` elementwise; ``input`` may be a number."""
    if not isinstance(input, TensorBase):
        input = _scalar_tensor(input, other)
    return input.remainder(other)


def xlogy(input, other) -> Tensor:
    """``input * log(other)``, 0 where input is 0; either may be a number."""
    if not isinstance(input, TensorBase):
        input = _scalar_tensor(input, other)
    return input.xlogy(other)
