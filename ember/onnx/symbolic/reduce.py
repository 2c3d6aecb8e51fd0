"""Reductions, softmax and arg-extremes."""

from __future__ import annotations

import numpy as np

from ember.onnx.registry import symbolic


def _axes(g, dims, ndim):
    if dims is None:
        return list(range(ndim))
    dims = (dims,) if isinstance(dims, int) else dims
    return [d % ndim for d in dims] if ndim else []


def reduce(g, onnx_op: str, name: str, axes, keepdim: bool):
    """``onnx_op`` over ``axes``: the axes are an input from opset 18 on (ReduceSum from 13)."""
    if onnx_op == "ReduceSum" or g.opset >= 18:
        return g.op(onnx_op, name, g.i64(axes), keepdims=int(bool(keepdim)))
    return g.op(onnx_op, name, axes=list(axes), keepdims=int(bool(keepdim)))


@symbolic("Sum", "Mean", "Prod")
def _sum(g):
    src = g.traced(0)
    onnx_op = {"Sum": "ReduceSum", "Mean": "ReduceMean", "Prod": "ReduceProd"}[g.step.op]
    name = g.arg(0)
    if g.output().dtype != src.dtype:
        name = g.cast_like(name, g.output().dtype)
    axes = _axes(g, g.step.args[1], src.ndim)
    if not axes:
        return g.op("Identity", name)
    return reduce(g, onnx_op, name, axes, g.step.args[2])


@symbolic("Amax")
def _amax(g):
    largest = g.step.args[3] if len(g.step.args) > 3 else g.step.kwargs.get("largest", True)
    axes = _axes(g, g.step.args[1], g.traced(0).ndim)
    return reduce(g, "ReduceMax" if largest else "ReduceMin", g.arg(0), axes, g.step.args[2])


@symbolic("ArgExtreme")
def _arg_extreme(g):
    dim, keepdim, largest = g.step.args[1:4]
    name = g.arg(0)
    if dim is None:
        name, dim = g.op("Reshape", name, g.i64([-1])), 0
        out = g.op("ArgMax" if largest else "ArgMin", name, axis=0, keepdims=0)
        return g.op("Reshape", out, g.i64([1] * g.traced(0).ndim)) if keepdim else out
    return g.op(
        "ArgMax" if largest else "ArgMin", name, axis=dim, keepdims=int(bool(keepdim)), select_last_index=0
    )


@symbolic("Select")
def _select(g):
    dim, keepdim, kind = g.step.args[1:4]
    a = g.traced(0)
    if kind not in ("max", "min"):
        raise g.error("median and kthvalue have no ONNX mapping here")
    axes = [dim % a.ndim]
    values = reduce(g, "ReduceMax" if kind == "max" else "ReduceMin", g.arg(0), axes, keepdim)
    index = g.op("ArgMax" if kind == "max" else "ArgMin", g.arg(0), axis=axes[0], keepdims=int(bool(keepdim)))
    return values, index


@symbolic("Softmax")
def _softmax(g):
    dims, log = g.step.args[1], g.step.args[2]
    axes = _axes(g, dims, g.traced(0).ndim)
    if len(axes) != 1:
        raise g.error(f"softmax over several dims {axes} has no ONNX operator")
    return g.op("LogSoftmax" if log else "Softmax", g.arg(0), axis=axes[0])


@symbolic("Logical")
def _logical(g):
    how, dims, keepdim = g.step.args[1:4]
    src = g.traced(0)
    axes = _axes(g, dims, src.ndim)
    name = g.arg(0)
    if how in ("all", "any"):
        if src.dtype != np.bool_:
            name = g.op("Not", g.op("Equal", name, g.scalar(0, src.dtype)))
        as_int = g.cast_like(name, np.int64)
        total = reduce(g, "ReduceMin" if how == "all" else "ReduceMax", as_int, axes, keepdim)
        return g.cast_like(total, np.bool_)
    raise g.error(f"the reduction {how!r} has no ONNX mapping here")


@symbolic("Cumsum")
def _cumsum(g):
    dim, reverse = g.step.args[1], bool(g.step.args[2]) if len(g.step.args) > 2 else False
    return g.op("CumSum", g.arg(0), g.const(np.asarray(dim, dtype=np.int64)), reverse=int(reverse))


@symbolic("Norm")
def _norm(g):
    p, dims, keepdim = g.step.args[1:4]
    axes = _axes(g, dims, g.traced(0).ndim)
    if p == 2:
        return reduce(g, "ReduceL2", g.arg(0), axes, keepdim)
    if p == 1:
        return reduce(g, "ReduceL1", g.arg(0), axes, keepdim)
    raise g.error(f"a {p}-norm has no ONNX mapping here (1 and 2 do)")
