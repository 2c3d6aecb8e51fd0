"""Complex-number methods: ``real``, ``imag``, ``conj``, ``angle`` and the free functions
``view_as_real``, ``view_as_complex``, ``complex`` and ``polar`` (primitives in
``ember.ops.complex``).
"""

from __future__ import annotations

from ember import dtypes
from ember.methods._out import accepts_out
from ember.ops import complex as cx

FUNCTIONS = [
    "real",
    "imag",
    "conj",
    "conj_physical",
    "conj_physical_",
    "resolve_conj",
    "resolve_neg",
    "angle",
    "is_conj",
    "is_neg",
    "adjoint",
]
__all__ = [
    "complex",
    "is_complex",
    "polar",
    "view_as_complex",
    "view_as_complex_copy",
    "view_as_real",
    "view_as_real_copy",
]


def _need_complex(op: str, t) -> None:
    if t._data.dtype.kind != "c":
        raise RuntimeError(
            f"{op} is not implemented for tensors with non-complex dtypes "
            f"(got {t.dtype}, shape {list(t.shape)})"
        )


class ComplexMethods:
    __slots__ = ()

    @property
    def real(self):
        """The real part (the tensor itself when it is real)."""
        return cx.Real.apply(self) if self._data.dtype.kind == "c" else self

    @property
    def imag(self):
        """The imaginary part of a complex tensor."""
        _need_complex("imag", self)
        return cx.Imag.apply(self)

    def conj(self):
        """The complex conjugate (the tensor itself when it is real)."""
        return cx.Conj.apply(self) if self._data.dtype.kind == "c" else self

    conj_physical = conj

    def conj_physical_(self):
        """In-place conjugate (nothing to do for real tensors)."""
        return self._set_from("conj_physical_", self.conj()) if self.is_complex() else self

    def adjoint(self):
        """The conjugate transpose of the last two dims (``mH``)."""
        return self.mH

    def cfloat(self, memory_format=None):
        """This tensor as complex64 (``memory_format`` is accepted and ignored: ember is strided)."""
        return self.to(dtypes.complex64)

    def cdouble(self, memory_format=None):
        """This tensor as complex128 (``memory_format`` is accepted and ignored, as in ``cfloat``)."""
        return self.to(dtypes.complex128)

    def resolve_conj(self):
        """The tensor itself: ember materialises conjugates at once."""
        return self

    resolve_neg = resolve_conj

    def is_conj(self) -> bool:
        """False: ember has no lazy conjugate bit."""
        return False

    def is_neg(self) -> bool:
        """False: ember has no lazy negation bit."""
        return False

    def angle(self):
        """The argument ``atan2(imag, real)``; for real tensors 0 or pi (float)."""
        src = self if dtypes.is_inexact_np(self._data.dtype) else self._cast(dtypes.get_default_dtype().np)
        return cx.Angle.apply(src)


def view_as_real(input):
    """Complex ``(...)`` as real ``(..., 2)``: real and imaginary parts (a copy in ember)."""
    _need_complex("view_as_real", input)
    return cx.ViewAsReal.apply(input)


def view_as_complex(input):
    """Real ``(..., 2)`` pairs as a complex tensor (a copy in ember)."""
    return cx.ViewAsComplex.apply(input)


def view_as_real_copy(input):
    """``view_as_real`` as a new tensor (which ``view_as_real`` already is in ember)."""
    return view_as_real(input)


def view_as_complex_copy(input):
    """``view_as_complex`` as a new tensor (which ``view_as_complex`` already is in ember)."""
    return view_as_complex(input)


@accepts_out
def complex(real, imag):
    """``real + i imag`` for two float tensors of one dtype."""
    if real._data.dtype != imag._data.dtype or real._data.dtype.kind != "f":
        raise RuntimeError(
            f"complex: Expected both inputs to be Half, Float or Double tensors of "
            f"one dtype, but got {real.dtype} and {imag.dtype}"
        )
    target = dtypes.from_numpy_dtype(real._data.dtype).to_complex().np
    return real._cast(target) + imag._cast(target) * 1j


@accepts_out
def polar(abs, angle):
    """``abs * (cos(angle) + i sin(angle))``."""
    return complex(abs * angle.cos(), abs * angle.sin())


def is_complex(input) -> bool:
    """Whether ``input`` has a complex dtype."""
    return input.is_complex()
