"""PyTorch's ``out=`` keyword for the functions of ``ember.linalg``, ``ember.fft`` and friends."""

from __future__ import annotations

import functools
import inspect


def write_out(op: str, result, out):
    """Write ``result`` (a Tensor or a tuple of them) into ``out`` and return ``out``.

    As in PyTorch, ``out=`` does not record a graph: it is refused when the result needs one;
    an ``out`` of another shape is resized (its array replaced), the dtype must match.
    """
    from ember.autograd.grad_mode import is_grad_enabled, no_grad

    results = result if isinstance(result, tuple) else (result,)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    if len(results) != len(outs):
        raise TypeError(f"{op}(): out= expects {len(results)} tensor(s), got {len(outs)}")
    if is_grad_enabled() and any(getattr(r, "requires_grad", False) for r in results):
        raise RuntimeError(
            f"{op}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad."
        )
    for r, o in zip(results, outs):
        if r.dtype != o.dtype:
            raise RuntimeError(
                f"{op}(): Expected out tensor to have dtype {r.dtype}, but got {o.dtype} instead"
            )
        with no_grad():
            if tuple(o.shape) == tuple(r.shape):
                o.copy_(r)
            else:
                o.data = r.clone()
    return out


def accepts_out(fn):
    """``fn`` with a keyword-only ``out=None`` parameter that :func:`write_out` honours."""
    signature = inspect.signature(fn)
    if "out" in signature.parameters:
        return fn

    @functools.wraps(fn)
    def wrapper(*args, out=None, **kwargs):
        result = fn(*args, **kwargs)
        return result if out is None else write_out(fn.__name__, result, out)

    params = list(signature.parameters.values())
    keyword = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None)
    at = next((i for i, p in enumerate(params) if p.kind is p.VAR_KEYWORD), len(params))
    wrapper.__signature__ = signature.replace(parameters=params[:at] + [keyword] + params[at:])
    return wrapper


def add_out_to(namespace: dict, names) -> None:
    """Give every function in ``names`` of a module's ``namespace`` the ``out=`` keyword."""
    for name in names:
        value = namespace[name]
        if inspect.isfunction(value):
            namespace[name] = accepts_out(value)
