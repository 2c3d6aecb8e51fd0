"""More elementwise math: float_power, frexp, ldexp, gcd/lcm, nextafter, signbit, logaddexp2,
shifts, the real-number answers of the complex API (conj, angle, ...), and dtype queries.

Differentiable ones are composed from existing primitives; integer and bit-level ones work on
the arrays directly and never join the graph, as in PyTorch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ember import dtypes
from ember.methods._util import dtype_category, return_type
from ember.methods.elementwise import _float, _raw_binary, _scalar_tensor
from ember.tensor_core import TensorBase, make

if TYPE_CHECKING:
    from ember.tensor import Tensor

FUNCTIONS = [
    "float_power",
    "frexp",
    "ldexp",
    "gcd",
    "lcm",
    "nextafter",
    "signbit",
    "logaddexp2",
    "bitwise_left_shift",
    "bitwise_right_shift",
    "isreal",
    "is_nonzero",
    "is_same_size",
    "is_signed",
    "hardshrink",
]
__all__ = ["can_cast", "fill", "is_inference", "result_type", "rsub"]
INPLACE = ["float_power", "ldexp", "gcd", "lcm", "nextafter", "bitwise_left_shift", "bitwise_right_shift"]

frexp_result = return_type("frexp", ["mantissa", "exponent"])


def _integer_only(t: Tensor, other, op: str) -> None:
    for x in (t, other):
        if isinstance(x, TensorBase) and x._data.dtype.kind not in "biu" or isinstance(x, float):
            raise RuntimeError(
                f"{op}: expected integer tensors, got {getattr(x, 'dtype', x)!r} "
                f"(shape {list(getattr(x, 'shape', []))}); call .long() first"
            )


class ExtraMathMethods:
    __slots__ = ()

    def float_power(self, exponent) -> Tensor:
        """``self ** exponent`` computed in double precision (the result is float64)."""
        if isinstance(exponent, TensorBase):
            exponent = exponent._cast(dtypes.float64.np)
        return self._cast(dtypes.float64.np).pow(exponent)

    def float_power_(self, exponent) -> Tensor:
        if self._data.dtype != dtypes.float64.np:
            raise RuntimeError(
                f"float_power_: the base given to float_power_ has dtype {self.dtype} but the "
                "operation's result requires dtype ember.float64; call .double() first"
            )
        return self._set_from("float_power_", self.float_power(exponent))

    def frexp(self):
        """``(mantissa, exponent)`` with ``self == mantissa * 2 ** exponent``."""
        if not dtypes.is_floating_np(self._data.dtype):
            raise RuntimeError(f"frexp: only supports floating-point dtypes, got {self.dtype}")
        mantissa, exponent = self.xp.frexp(self._data)
        return frexp_result(make(mantissa), make(exponent.astype("int32")))

    def ldexp(self, other) -> Tensor:
        """``self * 2 ** other``."""
        two = _scalar_tensor(2.0, self, dtypes.get_default_dtype().np)
        return _float(self) * two.pow(other)

    def gcd(self, other) -> Tensor:
        """Greatest common divisor, elementwise (integer tensors)."""
        _integer_only(self, other, "gcd")
        return _raw_binary(self, other, "gcd", "gcd")

    def lcm(self, other) -> Tensor:
        """Least common multiple, elementwise (integer tensors)."""
        _integer_only(self, other, "lcm")
        return _raw_binary(self, other, "lcm", "lcm")

    def nextafter(self, other) -> Tensor:
        """The next representable float after ``self`` towards ``other``."""
        return _raw_binary(self, other, "nextafter", "nextafter")

    def signbit(self) -> Tensor:
        """True where the sign bit is set (including -0.0)."""
        return make(self.xp.asarray(self.xp.signbit(self._data)))

    def logaddexp2(self, other) -> Tensor:
        """``log2(2**self + 2**other)``, without overflow."""
        a = _float(self)
        b = _float(other if isinstance(other, TensorBase) else _scalar_tensor(other, a, a._data.dtype))
        top = a.maximum(b).detach()
        top = top.masked_fill(top.isinf(), 0.0)
        return top + ((a - top).exp2() + (b - top).exp2()).log2()

    def bitwise_left_shift(self, other) -> Tensor:
        """``self << other``."""
        return _raw_binary(self, other, "left_shift", "bitwise_left_shift")

    def bitwise_right_shift(self, other) -> Tensor:
        """``self >> other`` (arithmetic shift for signed integers)."""
        return _raw_binary(self, other, "right_shift", "bitwise_right_shift")

    __lshift__ = bitwise_left_shift
    __rshift__ = bitwise_right_shift

    # -- the complex API: ember.methods.complex ---------------------------------------------------
    def isreal(self) -> Tensor:
        """True where the element is real: everywhere for a real tensor, where the imaginary
        part is 0 for a complex one."""
        if self._data.dtype.kind == "c":
            return make(self._data.imag == 0)
        return make(self.xp.ones(self._data.shape, dtype=bool))

    # -- predicates --------------------------------------------------------------------------------
    def is_nonzero(self) -> bool:
        """Whether a one-element tensor is nonzero."""
        if self._data.size == 0:
            raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
        if self._data.size > 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous (shape {list(self.shape)})"
            )
        return bool(self.item())

    def is_same_size(self, other) -> bool:
        return self.shape == other.shape

    def is_inference(self) -> bool:
        """False: tensors made under ember's inference_mode are ordinary tensors."""
        return False

    # -- activations PyTorch also has as Tensor methods --------------------------------------------
    def hardshrink(self, lambd: float = 0.5) -> Tensor:
        """Zero where ``|x| <= lambd``, ``x`` elsewhere."""
        return self.masked_fill(self.abs() <= lambd, 0)

    def prelu(self, weight) -> Tensor:
        """``max(0, x) + weight * min(0, x)``, the weight broadcast along dim 1."""
        from ember.nn import functional  # layer 4, built on Tensor: a cycle at module level

        return functional.prelu(self, weight)


def rsub(input, other, *, alpha=1) -> Tensor:
    """``other - alpha * input``."""
    if not isinstance(input, TensorBase):
        input = _scalar_tensor(input, other)
    scaled = input if alpha == 1 else input * alpha
    return other - scaled if isinstance(other, TensorBase) else scaled.__rsub__(other)


def fill(input, value) -> Tensor:
    """A new tensor shaped like ``input`` holding ``value`` (the out-of-place ``fill_``)."""
    return input.clone().fill_(value)


def is_inference(input) -> bool:
    return input.is_inference()


def result_type(tensor=None, other=None, *, scalar=None) -> dtypes.dtype:
    """The dtype PyTorch's promotion gives an op on these two operands (tensors or numbers)."""
    operands = [x for x in (tensor, other, scalar) if x is not None]
    return dtypes.result_type(*operands)


def can_cast(from_, to) -> bool:
    """Whether casting ``from_`` to ``to`` keeps the kind (bool < integer < float)."""
    src, dst = dtypes.as_dtype(from_).np, dtypes.as_dtype(to).np
    if dst.kind == "b" and src.kind != "b":
        return False
    return dtype_category(src) <= dtype_category(dst)
