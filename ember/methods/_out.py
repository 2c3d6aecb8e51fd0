"""``out=``: one mechanism for every free function that PyTorch gives an ``out`` argument.

``with_out(fn)`` wraps a function computed out of place: the result is written into ``out``
with PyTorch's rules (cast to ``out``'s dtype unless that would lower the dtype's category,
resized when the shapes differ, with PyTorch's deprecation warning when ``out`` was not empty),
and ``out`` is returned. As in PyTorch, ``out=`` refuses to join the autograd graph.
"""

from __future__ import annotations

import functools
import inspect
import warnings

from ember.autograd import function
from ember.autograd.grad_mode import grad_enabled
from ember.methods._util import dtype_category


def _is_tensor(value) -> bool:
    # ember.Tensor as registered with autograd: no import of ember.tensor, whose mixins use this
    return isinstance(value, function._Tensor)


def write_out(op: str, result, out, same_dtype: bool = False):
    """Write ``result`` (a Tensor or a tuple of them) into ``out``; return ``out``.

    ``same_dtype``: ``out`` must have the result's dtype (linalg and fft), instead of any dtype
    the result casts to without lowering its category (elementwise ops)."""
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(
                f"{op}(): argument 'out' must be a tuple of {len(result)} Tensors, got {type(out).__name__}"
            )
        written = [write_out(op, r, o, same_dtype) for r, o in zip(result, out)]
        return type(result)(*written) if hasattr(result, "_fields") else tuple(written)
    if getattr(result, "_sp_layout", None) is not None:  # a sparse result: out takes its parts
        return result._write_into(op, out)
    if not _is_tensor(out):
        raise TypeError(f"{op}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if not _is_tensor(result):
        raise TypeError(f"{op}(): out= is not supported (the result is a {type(result).__name__})")
    _check_out(op, result, out, same_dtype)
    if out.shape != result.shape:
        _resize_out(op, out, result.shape)
    out.xp.copyto(out._data, result._data, casting="unsafe")
    out._bump_version(op)
    return out


def _check_out(op: str, result, out, same_dtype: bool) -> None:
    if grad_enabled.get() and (result._requires_grad or out._requires_grad):
        raise RuntimeError(
            f"{op}(): functions with out=... arguments don't support automatic differentiation, "
            "but one of the arguments requires grad."
        )
    if out.device != result.device:
        raise RuntimeError(
            f"{op}(): Expected out tensor to have device {result.device}, but got {out.device} instead"
        )
    if same_dtype and result.dtype != out.dtype:
        raise RuntimeError(
            f"{op}(): Expected out tensor to have dtype {result.dtype}, but got {out.dtype} instead"
        )
    if dtype_category(result._data.dtype) > dtype_category(out._data.dtype):
        raise RuntimeError(
            f"{op}(): result type {result.dtype} can't be cast to the desired output type {out.dtype}"
        )
    out._check_writeable(op)


def _resize_out(op: str, out, shape) -> None:
    if out.numel() != 0:
        warnings.warn(
            f"{op}(): An output with one or more elements was resized since it had shape "
            f"{list(out.shape)}, which does not match the required output shape {list(shape)}. "
            "This behavior is deprecated, and in a future PyTorch release outputs will not be "
            "resized unless they have zero elements. You can explicitly reuse an out tensor t by "
            "resizing it, inplace, to zero elements with t.resize_(0).",
            UserWarning,
            stacklevel=4,
        )
    out._data = out.xp.empty(tuple(shape), dtype=out._data.dtype)


def with_out(
    fn,
    name: str | None = None,
    signature: inspect.Signature | None = None,
    factory: bool = False,
    same_dtype: bool = False,
):
    """``fn`` with a keyword-only ``out=``; a factory also takes its dtype from ``out``."""
    op = name or fn.__name__
    sig = signature or inspect.signature(fn)
    factory = factory and "dtype" in sig.parameters

    @functools.wraps(fn)
    def function(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        if factory and kwargs.get("dtype") is None and _is_tensor(out):
            kwargs["dtype"] = out.dtype
            if "device" in sig.parameters:
                kwargs.setdefault("device", out.device)
        return write_out(op, fn(*args, **kwargs), out, same_dtype)

    function.__signature__ = add_out_parameter(sig)
    if name:
        function.__name__ = function.__qualname__ = name
    return function


def add_out_parameter(sig: inspect.Signature) -> inspect.Signature:
    """``sig`` with a keyword-only ``out=None`` (before any ``**kwargs``) unless it has one."""
    params = list(sig.parameters.values())
    if any(p.name == "out" for p in params):
        return sig
    out = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None)
    at = len(params) - (1 if params and params[-1].kind is params[-1].VAR_KEYWORD else 0)
    return sig.replace(parameters=params[:at] + [out] + params[at:])


def accepts_out(fn):
    """Decorator: ``fn`` with ``out=``, whose dtype must be the result's (linalg, fft, special)."""
    if "out" in inspect.signature(fn).parameters:
        return fn
    return with_out(fn, same_dtype=True)


def add_out_to(namespace: dict, names) -> None:
    """Give every function in ``names`` of a module's ``namespace`` the ``out=`` keyword."""
    for name in names:
        if inspect.isfunction(namespace[name]):
            namespace[name] = accepts_out(namespace[name])
