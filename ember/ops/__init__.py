"""Primitive ops: one ``Primitive`` subclass per op, one file per family.

A primitive's ``forward`` gets raw arrays and reaches the array module through ``ctx.xp``;
its ``backward`` gets and returns Tensors and uses ember's differentiable ops, so that
``create_graph=True`` differentiates it again. Return gradients at the broadcast shape:
the engine sums them to each input's shape.
"""

from ember import dtypes
from ember.autograd import function
from ember.autograd.function import Function


class Primitive(Function):
    """Base of ember's own ops: ``forward`` works on arrays (see ``ember.autograd.function``)."""

    arrays = True


class Float32Primitive(Primitive):
    """A primitive that computes bfloat16 inputs in float32: matrix products, convolutions,
    reductions and normalisations, whose sums NumPy would otherwise run in bfloat16 (or, for
    ml_dtypes' matmul, return as float32).

    bfloat16 Tensor inputs are cast to float32 and float32 outputs back to bfloat16, with
    differentiable casts, so the node computes and saves float32 while gradients of bfloat16
    inputs come back bfloat16. PyTorch's CPU kernels likewise accumulate bfloat16 in float32.
    An input wider than bfloat16 (float32, float64) keeps the result wide. The widening
    ``apply`` is installed when bfloat16 is first resolved, so programs without it pay nothing.
    """


def _apply_in_float32(cls, *args, **kwargs):
    caster = function._input_caster
    if caster is not None:
        args = function.cast_inputs(cls, args)
    low = _only_bfloat16(args)
    if low is None:
        if caster is None:
            return function._apply_primitive(cls, *args, **kwargs)
        return function.apply_uncast(cls, args, kwargs)
    wide = tuple(_cast_if(a, low, _FLOAT32) for a in args)
    out = function.apply_uncast(cls, wide, kwargs)
    if type(out) is tuple:
        return tuple(_cast_if(o, _FLOAT32, low) for o in out)
    return _cast_if(out, _FLOAT32, low)


def _install_widening() -> None:
    Float32Primitive.apply = classmethod(_apply_in_float32)


_FLOAT32 = dtypes.float32.np


def _only_bfloat16(args):
    """The bfloat16 dtype when some Tensor in ``args`` is bfloat16 and none is a wider float
    (nor is a wider float asked for, as by ``sum(dtype=ember.float32)``)."""
    tensor = function._Tensor
    low = None
    for a in args:
        if isinstance(a, tensor):
            dtype = a._data.dtype
            kind = dtype.kind
            if kind == "f":
                return None
            if kind == "V" and dtypes.is_floating_np(dtype):
                low = dtype
        elif getattr(a, "kind", None) == "f":  # a NumPy dtype argument
            return None
    return low


def _cast_if(value, source, target):
    data = getattr(value, "_data", None)
    return value._cast(target) if data is not None and data.dtype == source else value


dtypes.on_bfloat16(_install_widening)
