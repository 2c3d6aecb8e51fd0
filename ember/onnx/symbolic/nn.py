"""The fused primitives behind the layers: linear, convolution, pooling, normalization,
attention."""

from __future__ import annotations

import math

import numpy as np

from ember.onnx.registry import symbolic
from ember.onnx.symbolic.reduce import reduce


@symbolic("MatMul")
def _matmul(g):
    return g.op("MatMul", g.arg(0), g.arg(1))


@symbolic("Linear")
def _linear(g):
    x, w, b = g.step.args[:3]
    if x.ndim == 2:
        inputs = [g.arg(0), g.arg(1)] + ([g.arg(2)] if b is not None else [])
        return g.op("Gemm", *inputs, transB=1)
    out = g.op("MatMul", g.arg(0), g.op("Transpose", g.arg(1), perm=[1, 0]))
    return out if b is None else g.op("Add", out, g.arg(2))


@symbolic("Conv2d")
def _conv2d(g):
    x, w, b, geo = g.step.args[:4]
    inputs = [g.arg(0), g.arg(1)] + ([g.arg(2)] if b is not None else [])
    pads = list(geo.padding) * 2
    return g.op(
        "Conv",
        *inputs,
        kernel_shape=list(geo.kernel),
        strides=list(geo.stride),
        pads=pads,
        dilations=list(geo.dilation),
        group=geo.groups,
    )


@symbolic("Conv2dInputGrad")
def _conv_transpose(g):
    grad, w, geo = g.step.args[:3]
    out = g.output()
    inputs = [g.arg(0), g.arg(1)]
    pads = list(geo.padding) * 2
    return g.op(
        "ConvTranspose",
        *inputs,
        kernel_shape=list(geo.kernel),
        strides=list(geo.stride),
        pads=pads,
        dilations=list(geo.dilation),
        group=geo.groups,
        output_shape=list(out.shape[2:]),
    )


def _pool_attrs(g, geo):
    end_pads = [p + e for p, e in zip(geo.padding, geo.extra)]
    return dict(kernel_shape=list(geo.kernel), strides=list(geo.stride), pads=list(geo.padding) + end_pads)


@symbolic("MaxPool2d")
def _max_pool(g):
    geo = g.step.args[1]
    attrs = _pool_attrs(g, geo)
    if tuple(geo.dilation) != (1, 1):
        attrs["dilations"] = list(geo.dilation)
    if len(g.step.outputs) > 1:
        raise g.error("max_pool2d with return_indices=True has no ONNX mapping here")
    return g.op("MaxPool", g.arg(0), **attrs)


@symbolic("AvgPool2d")
def _avg_pool(g):
    geo, divisor = g.step.args[1:3]
    dtype = g.traced(0).dtype
    attrs = _pool_attrs(g, geo)
    summed = g.op(
        "Mul",
        g.op("AveragePool", g.arg(0), count_include_pad=1, **attrs),
        g.scalar(float(np.prod(geo.kernel)), dtype),
    )
    return g.op("Div", summed, g.const(np.asarray(divisor, dtype=dtype)))


@symbolic("Normalize")
def _normalize(g):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over ``dims``; also mean and var."""
    _, weight, bias, dims, eps = g.step.args[:5]
    x = g.traced(0)
    axes = [d % x.ndim for d in dims]
    name = g.arg(0)
    mean = reduce(g, "ReduceMean", name, axes, True)
    centred = g.op("Sub", name, mean)
    var = reduce(g, "ReduceMean", g.op("Mul", centred, centred), axes, True)
    std = g.op("Sqrt", g.op("Add", var, g.scalar(eps, x.dtype)))
    out = g.op("Div", centred, std)
    if weight is not None:
        out = g.op("Mul", out, g.arg(1))
    if bias is not None:
        out = g.op("Add", out, g.arg(2))
    return out, mean, var


@symbolic("ScaledDotProductAttention")
def _attention(g):
    _, _, _, mask, scale, causal = g.step.args[:6]
    q, k = g.traced(0), g.traced(1)
    mask = mask._data if mask is not None else None
    scores = g.op(
        "Mul",
        g.op("MatMul", g.arg(0), g.op("Transpose", g.arg(1), perm=_swap_last(k.ndim))),
        g.scalar(scale, q.dtype),
    )
    if causal:
        alt = g.step.alt
        sizes = [q.shape[-2], k.shape[-2]]
        alt_sizes = [alt.args[0]._data.shape[-2], alt.args[1]._data.shape[-2]] if alt else None
        ones = g.op(
            "ConstantOfShape",
            g.sizes(sizes, alt_sizes),
            value=g.helper.make_tensor("value", g.helper.np_dtype_to_tensor_dtype(q.dtype), [1], [1.0]),
        )
        mask_name = g.cast_like(g.op("Trilu", ones, upper=0), np.bool_)
        scores = g.op("Where", mask_name, scores, g.scalar(-math.inf, q.dtype))
    elif mask is not None:
        if mask.dtype == np.bool_:
            scores = g.op("Where", g.arg(3), scores, g.scalar(-math.inf, q.dtype))
        else:
            scores = g.op("Add", scores, g.arg(3))
    if causal or mask is not None:
        # a row masked everywhere gives zeros, as ember does, instead of NaN
        top = reduce(g, "ReduceMax", scores, [q.ndim - 1], True)
        dead = g.op("Equal", top, g.scalar(-math.inf, q.dtype))
        safe = g.op("Where", dead, g.scalar(0.0, q.dtype), scores)
        weights = g.op("Softmax", safe, axis=-1)
        weights = g.op("Where", dead, g.scalar(0.0, q.dtype), weights)
    else:
        weights = g.op("Softmax", scores, axis=-1)
    return g.op("MatMul", weights, g.arg(2))


def _swap_last(ndim):
    perm = list(range(ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    return perm
