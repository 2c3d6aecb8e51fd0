"""Arithmetic: the operators (+ - * / ** @ and their reflected and in-place forms), with
PyTorch's type promotion, and the no-graph fast path of in-place arithmetic."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

import numpy as np

from ember import backend, dtypes, tensor_core
from ember.amp.autocast_mode import STATE as autocast_state
from ember.amp.autocast_mode import cast_inputs
from ember.layouts import strided
from ember.methods._util import dtype_category, mixed_dtypes_message
from ember.ops import elementwise, linalg
from ember.tensor_core import TensorBase, make

if TYPE_CHECKING:
    from ember.tensor import Tensor

_Number = (int, float, bool, complex)


def python_scalar(value):
    """A NumPy number (``np.float64(2.5)``, ``np.int32(3)``) as the Python number it holds.

    PyTorch treats NumPy scalars like Python scalars, so they only lift the result's category:
    ``float32_tensor * np.sqrt(2.0)`` stays float32 (NumPy 2 would make it float64).
    """
    if isinstance(value, np.generic) and isinstance(value, (np.floating, np.integer, np.complexfloating)):
        return value.item()  # one isinstance for the usual Python number, two for NumPy's
    return value


FUNCTIONS: list = []
__all__: list = []


class ArithmeticMethods:
    __slots__ = ()

    def __add__(self, other):
        if type(other) is type(self) is tensor_core._tensor_class and other._data.dtype == self._data.dtype:
            return elementwise.Add.apply(self, other)  # add()'s common case: nothing to promote
        return self.add(other)

    def __radd__(self, other):
        return self.add(other)

    def __iadd__(self, other):
        return self.add_(other)

    def __sub__(self, other):
        if (
            type(other) is type(self) is tensor_core._tensor_class
            and other._data.dtype == self._data.dtype
            and self._data.dtype.kind != "b"
        ):
            return elementwise.Sub.apply(self, other)  # sub()'s common case: nothing to promote
        return self.sub(other)

    def __rsub__(self, other):
        other = python_scalar(other)
        _refuse_bool_subtraction(other, self)
        if isinstance(other, _Number):
            a, b = promote(self, other)
            return elementwise.RSub.apply(a, b)
        return as_tensor_like(other, self).sub(self)

    def __isub__(self, other):
        return self.sub_(other)

    def __mul__(self, other):
        if type(other) is type(self) is tensor_core._tensor_class and other._data.dtype == self._data.dtype:
            return elementwise.Mul.apply(self, other)  # mul()'s common case: nothing to promote
        return self.mul(other)

    def __rmul__(self, other):
        return self.mul(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __truediv__(self, other):
        return self.div(other)

    def __rtruediv__(self, other):
        other = python_scalar(other)
        if isinstance(other, _Number):
            a = self if dtypes.is_inexact_np(self._data.dtype) else self._cast(dtypes.get_default_dtype().np)
            return elementwise.RDiv.apply(a, other)
        return as_tensor_like(other, self).div(self)

    def __itruediv__(self, other):
        return self.div_(other)

    def __pow__(self, other):
        return self.pow(other)

    def __rpow__(self, other):
        other = python_scalar(other)
        if isinstance(other, _Number):
            a, b = promote(self, other)
            return elementwise.RPow.apply(a, b)
        return as_tensor_like(other, self).pow(self)

    def __ipow__(self, other):
        return self.pow_(other)

    def __matmul__(self, other):
        if (
            type(other) is type(self) is tensor_core._tensor_class
        ):  # matmul()'s common case, its checks inline
            a, b = self._data, other._data
            if a.dtype == b.dtype and a.ndim > 1 and b.ndim > 1 and a.shape[-1] == b.shape[-2]:
                return linalg.MatMul.apply(self, other)
        return self.matmul(other)

    def __rmatmul__(self, other):
        return as_tensor_like(other, self).matmul(self)

    def __neg__(self):
        return elementwise.Neg.apply(self)

    def __pos__(self):
        return self.positive()

    def add(self, other, *, alpha=1):
        if alpha != 1:
            other = other * alpha
        a, b = promote(self, other)
        return elementwise.Add.apply(a, b)

    def sub(self, other, *, alpha=1):
        _refuse_bool_subtraction(self, other)
        if alpha != 1:
            other = other * alpha
        a, b = promote(self, other)
        return elementwise.Sub.apply(a, b)

    subtract = sub

    def mul(self, other):
        a, b = promote(self, other)
        return elementwise.Mul.apply(a, b)

    multiply = mul

    def div(self, other, *, rounding_mode=None):
        if rounding_mode is not None:
            return self._div_rounded(other, rounding_mode)
        a, b = promote(self, other, true_division=True)
        return elementwise.Div.apply(a, b)

    divide = true_divide = div

    def pow(self, exponent):
        exponent = python_scalar(exponent)
        if isinstance(exponent, _Number):
            a, b = promote(self, exponent)
            return elementwise.PowScalar.apply(a, b)
        a, b = promote(self, exponent)
        return elementwise.Pow.apply(a, b)

    def neg(self):
        return elementwise.Neg.apply(self)

    negative = neg

    def matmul(self, other):
        if not isinstance(other, TensorBase):
            raise TypeError(f"matmul: expected a Tensor as the second operand, got {type(other).__name__}")
        if self.layout is not strided or other.layout is not strided:  # ember.sparse operands
            return self._sparse_matmul(other)
        if self._data.ndim == 0 or other._data.ndim == 0:
            raise RuntimeError(
                f"matmul: both arguments need at least 1 dimension, got shapes {list(self.shape)} "
                f"and {list(other.shape)}"
            )
        if self._data.dtype != other._data.dtype:
            if autocast_state.active:  # the region's casts come first, as in the primitive
                self, other = cast_inputs(linalg.MatMul, (self, other))
            if self._data.dtype != other._data.dtype:
                raise RuntimeError(mixed_dtypes_message("matmul", self, other))
        _check_matmul_shapes(self, other)
        return linalg.MatMul.apply(self, other)

    def add_(self, other, *, alpha=1):
        if not self._needs_graph(other):
            return self._fast_inplace("add_", np.add, other, alpha)
        return self._set_from("add_", self.add(other, alpha=alpha))

    def sub_(self, other, *, alpha=1):
        _refuse_bool_subtraction(self, other)
        if not self._needs_graph(other):
            return self._fast_inplace("sub_", np.subtract, other, alpha)
        return self._set_from("sub_", self.sub(other, alpha=alpha))

    def mul_(self, other):
        if not self._needs_graph(other):
            return self._fast_inplace("mul_", np.multiply, other, 1)
        return self._set_from("mul_", self.mul(other))

    def div_(self, other, *, rounding_mode=None):
        if rounding_mode is None and dtypes.is_floating_np(self._data.dtype) and not self._needs_graph(other):
            return self._fast_inplace("div_", np.true_divide, other, 1)
        return self._set_from("div_", self.div(other, rounding_mode=rounding_mode))

    def pow_(self, exponent):
        return self._set_from("pow_", self.pow(exponent))

    def neg_(self):
        return self._set_from("neg_", self.neg())

    def _fast_inplace(self, op: str, ufunc, other, alpha):
        """In-place arithmetic with no graph to record: one ufunc call writing into this array."""
        self._check_writeable(op)
        if isinstance(other, TensorBase):
            value = other._data
            if value.dtype != self._data.dtype and dtype_category(value.dtype) > dtype_category(
                self._data.dtype
            ):
                raise RuntimeError(
                    f"{op}: result type {other.dtype} can't be cast to the desired output type {self.dtype}"
                )
        elif isinstance(other, _Number):
            value = other
            if isinstance(other, builtins.float) and self._data.dtype.kind in "iub":
                raise RuntimeError(
                    f"{op}: result type Float can't be cast to the desired output type {self.dtype}"
                )
        else:
            return self._set_from(op, getattr(self, op[:-1])(other))
        if alpha != 1:
            value = value * alpha
        try:
            if type(value) is not type(self._data) and not isinstance(value, _Number):
                raise TypeError
            ufunc(self._data, value, out=self._data, casting="unsafe")  # CuPy's via __array_ufunc__
        except (ValueError, TypeError) as exc:
            other_shape = list(other.shape) if isinstance(other, TensorBase) else []
            if isinstance(other, TensorBase) and other.device != self.device:
                raise RuntimeError(
                    f"Expected all tensors to be on the same device, but found at least two "
                    f"devices, {self.device} and {other.device}! ({op})"
                ) from exc
            raise RuntimeError(
                f"{op}: output with shape {list(self.shape)} doesn't match the broadcast shape of "
                f"{list(self.shape)} and {other_shape}"
            ) from exc
        self._bump_version(op)
        return self


def _refuse_bool_subtraction(a, b) -> None:
    """PyTorch refuses ``-`` with a bool tensor operand (a mask is inverted with ``~``)."""
    a_bool = a._data.dtype.kind == "b" if isinstance(a, TensorBase) else type(a) is builtins.bool
    b_bool = b._data.dtype.kind == "b" if isinstance(b, TensorBase) else type(b) is builtins.bool
    if not (a_bool or b_bool):  # a Python bool counts: PyTorch makes it a bool tensor
        return
    shapes = " and ".join(f"{list(t.shape)} {t.dtype}" for t in (a, b) if isinstance(t, TensorBase))
    if a_bool and b_bool:
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
            f"`logical_xor()` operator instead. (sub: {shapes})"
        )
    raise RuntimeError(
        "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
        f"invert a mask, use the `~` or `logical_not()` operator instead. (sub: {shapes})"
    )


def as_tensor_like(value, like: Tensor) -> Tensor:
    if isinstance(value, TensorBase):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        return make(backend.to_device(np.asarray(value), like.device))
    raise TypeError(f"unsupported operand type for a Tensor: {type(value).__name__}")


def promote(a: Tensor, b, true_division: bool = False):
    """Cast a Tensor and a Tensor-or-number to PyTorch's result dtype (no-op in the usual case)."""
    b = python_scalar(b)
    ad = a._data.dtype
    if isinstance(b, TensorBase):
        bd = b._data.dtype
        if ad == bd and (not true_division or dtypes.is_inexact_np(ad)):
            return a, b
        target = dtypes.result_type(a, b)
        if true_division and not (target.is_floating_point or target.is_complex):
            target = dtypes.get_default_dtype()
        return a._cast(target.np), b._cast(target.np)
    if isinstance(b, _Number):
        kind = ad.kind
        if (
            kind == "c"
            or (dtypes.is_floating_np(ad) and type(b) is not complex)
            or (not true_division and (type(b) is builtins.int and kind in "iu" or type(b) is builtins.bool))
        ):
            return a, b
        target = dtypes.result_type(a, b)
        if true_division and not (target.is_floating_point or target.is_complex):
            target = dtypes.get_default_dtype()
        return a._cast(target.np), b
    if isinstance(b, (np.ndarray, np.generic)):
        return promote(a, as_tensor_like(b, a), true_division)
    raise TypeError(
        f"unsupported operand: Tensor and {type(b).__name__}; expected a Tensor, a number or an ndarray"
    )


def _check_matmul_shapes(a: Tensor, b: Tensor) -> None:
    k_a = a._data.shape[-1]
    k_b = b._data.shape[-2] if b._data.ndim > 1 else b._data.shape[0]
    if k_a != k_b:
        raise RuntimeError(
            f"matmul: shapes {list(a.shape)} and {list(b.shape)} cannot be multiplied "
            f"({k_a} != {k_b}): the last dim of the first must equal the "
            f"{'second-to-last' if b._data.ndim > 1 else 'only'} dim of the second"
        )
