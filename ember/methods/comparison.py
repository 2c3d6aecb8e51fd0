"""Comparisons, logical and bitwise ops and ``is*`` predicates (a mixin of ``ember.Tensor``).

They give bool or integer tensors that never join the graph, so they are computed directly on
the arrays, without a primitive (``_raw_binary`` / ``_raw_unary`` of ``methods/elementwise.py``).
Their in-place twins and free functions are listed with the other elementwise ops there.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ember.methods.elementwise import _binary_error, _not_for, _raw_binary, _raw_unary
from ember.tensor_core import TensorBase, make

if TYPE_CHECKING:
    from ember.tensor import Tensor


def _check_bitwise(self: Tensor, other, op: str) -> None:
    bad = (
        self._data.dtype.kind not in "biu"
        or isinstance(other, float)
        or (isinstance(other, TensorBase) and other._data.dtype.kind not in "biu")
    )
    if bad:
        culprit = other if isinstance(other, TensorBase) and self._data.dtype.kind in "biu" else self
        if isinstance(other, float):
            raise NotImplementedError(
                f"{op}: not implemented for a float operand ({other!r}); use an int or bool"
            )
        raise _not_for(op, culprit, "bitwise ops take bool or integer tensors")


def _compare(kernel: str, name: str):
    def method(self, other) -> Tensor:
        return _raw_binary(self, other, kernel, name)

    def operator(self, other):
        return _raw_binary(self, other, kernel, name, strict=False)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``{name}`` elementwise: a bool tensor, outside the graph."
    return method, operator


def _logical(kernel: str):
    def method(self, other) -> Tensor:
        return _raw_binary(self, other, kernel, kernel)

    method.__name__ = method.__qualname__ = kernel
    method.__doc__ = f"``{kernel}`` elementwise (nonzero is true): a bool tensor."
    return method


def _bitwise(name: str, kernel: str):
    def method(self, other) -> Tensor:
        _check_bitwise(self, other, name)
        return _raw_binary(self, other, kernel, name)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``{name}`` of bool or integer tensors (``{kernel}`` on the arrays)."
    return method


def _predicate(name: str, kernel: str, value=None):
    def method(self) -> Tensor:
        if value is None:
            return _raw_unary(self, kernel)
        return _raw_binary(self, value, kernel, name)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``{name}`` elementwise: a bool tensor."
    return method


class ComparisonMethods:
    """Tensor methods that compare, combine bits or test values elementwise."""

    __slots__ = ()

    eq, __eq__ = _compare("equal", "eq")
    ne, __ne__ = _compare("not_equal", "ne")
    lt, __lt__ = _compare("less", "lt")
    le, __le__ = _compare("less_equal", "le")
    gt, __gt__ = _compare("greater", "gt")
    ge, __ge__ = _compare("greater_equal", "ge")
    not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge
    __hash__ = object.__hash__

    logical_and = _logical("logical_and")
    logical_or = _logical("logical_or")
    logical_xor = _logical("logical_xor")

    def logical_not(self) -> Tensor:
        """``not x`` elementwise (nonzero is true): a bool tensor."""
        return _raw_unary(self, "logical_not")

    bitwise_and = __and__ = __rand__ = _bitwise("bitwise_and", "bitwise_and")
    bitwise_or = __or__ = __ror__ = _bitwise("bitwise_or", "bitwise_or")
    bitwise_xor = __xor__ = __rxor__ = _bitwise("bitwise_xor", "bitwise_xor")

    def bitwise_not(self) -> Tensor:
        """``~x``: logical not for bool tensors, two's complement for integers."""
        _check_bitwise(self, None, "bitwise_not")
        return _raw_unary(self, "invert")

    __invert__ = bitwise_not

    isnan = _predicate("isnan", "isnan")
    isinf = _predicate("isinf", "isinf")
    isfinite = _predicate("isfinite", "isfinite")
    isposinf = _predicate("isposinf", "equal", math.inf)
    isneginf = _predicate("isneginf", "equal", -math.inf)

    def isclose(self, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
        """Elementwise ``|self - other| <= atol + rtol * |other|`` (bool, outside the graph)."""
        value = other._data if isinstance(other, TensorBase) else other
        try:
            out = self.xp.isclose(self._data, value, rtol=rtol, atol=atol, equal_nan=equal_nan)
        except ValueError as exc:
            raise _binary_error("isclose", self, other) from exc
        return make(self.xp.asarray(out))

    def allclose(self, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
        """Whether every element is close to ``other``'s (see ``isclose``)."""
        return bool(self.isclose(other, rtol, atol, equal_nan).all())

    def equal(self, other) -> bool:
        """True when ``other`` has the same shape and the same values (``torch.equal``)."""
        return self.shape == other.shape and bool(self.xp.array_equal(self._data, other._data))
