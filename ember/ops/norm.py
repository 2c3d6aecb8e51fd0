"""Normalization primitive: ``(x - mean) / sqrt(var + eps) * weight + bias`` over some dims, fused.

Batch, layer, group and instance norm all normalize over a set of dims and then apply an
affine map. As a composite that is about nine primitives each way; fused, forward is a few
passes of array code and backward is the closed-form formula

    dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),   g = grad * weight,

on arrays. With ``create_graph=True`` the same formula is written with Tensor ops, so it
differentiates again (then ``xhat`` and ``rstd`` are rebuilt from ``x`` with Tensor ops, so
that they carry their own dependence on x).

What makes the array code fast (float32, one BLAS thread, median CPU time on a shared 2-core
machine, against the previous version of this file, which summed with NumPy reductions and
ran backward in Tensor ops):

* sums over dims are matrix-vector products with a vector of ones (``_sum_over``), and sums of
  products are einsum row dot products (``_dot_over``): BLAS reads an array once, 3-5x faster
  than ``sum(axis=(0, 2, 3))``; no ``x * x`` temporary;
* forward keeps ``x - mean`` (not ``xhat``), so with a weight constant over dims (batch norm)
  ``rstd * weight`` is one per-channel factor: the output is two passes over ``x - mean``;
* per-channel operands are broadcast once to a contiguous slab of the trailing dims
  (``_slab``), which NumPy's loops run through 1.5-2.5x faster than a (1, C, 1, 1) operand;
* backward returns the weight's and bias's gradients already summed to their shapes (the
  engine would otherwise sum full-size arrays), reuses the buffers it allocates, and skips what
  no input needs.

Forward / backward per call, ms: LayerNorm(128) on (32, 64, 128) 0.81 / 1.65 -> 0.76 / 1.06;
BatchNorm2d on (64, 32, 32, 32) 8.4 / 9.9 -> 5.0 / 6.8, (64, 64, 16, 16) 3.1 / 4.2 -> 2.1 / 2.9,
(64, 128, 8, 8) 2.2 / 2.6 -> 1.2 / 1.5. Time inside this primitive per training step: gpt (9
LayerNorms) 21.4 -> 17.1 ms, convnet (3 BatchNorm2d) 25.7 -> 16.2 ms. What did not pay: running
the elementwise passes in L2-sized chunks (the per-chunk Python overhead ate the gain, except
10-20% at (64, 32, 32, 32)); recomputing ``x - mean`` in backward instead of keeping it; the
squares in the output's buffer summed by BLAS instead of einsum's dot products (5.5 -> 6.5 ms
forward at (64, 32, 32, 32)); ``vecdot`` instead of einsum (no difference beyond noise).
``tests/nn/test_normalization.py`` checks the array and Tensor-op backward agree, to second
order, and both against PyTorch.
"""

from __future__ import annotations

import math

from ember.backend import fused
from ember.backend.fused import norm as fused_norm
from ember.ops import Float32Primitive


class Normalize(Float32Primitive):
    """``out, mean, var = Normalize.apply(x, weight, bias, dims, eps)``.

    ``dims`` are the reduced axes (a sorted tuple); ``weight``/``bias`` are None or broadcast
    against ``x`` as given. ``mean`` and the biased ``var`` come back with ``dims`` kept, for the
    caller's running statistics: they are statistics only, and no gradient flows through them.
    """

    op_name = "normalize"

    @staticmethod
    def forward(ctx, x, weight, bias, dims, eps):
        xp = ctx.xp
        if fused.kernel(xp, "norm.layer_forward") is not None:
            layout = _fused_layout(x, weight, bias, dims)
            if layout is not None:
                return _fused_forward(ctx, layout, x, weight, bias, dims, eps)
        n = _count(x.shape, dims)
        mean = _sum_over(xp, x, dims)
        mean /= n
        centred = x - _slab(xp, mean, x.shape)
        var = _dot_over(xp, centred, centred, dims)
        var /= n
        rstd = var + eps
        xp.sqrt(rstd, out=rstd)
        xp.reciprocal(rstd, out=rstd)
        out = _affine(xp, centred, rstd, _full_rank(weight, x.ndim), _full_rank(bias, x.ndim), dims)
        ctx.dims, ctx.eps = dims, eps
        ctx.bias_shape = None if bias is None else bias.shape
        ctx.save_for_backward(x, weight, centred, rstd)
        return out, mean, var

    @staticmethod
    def backward(ctx, grad, grad_mean, grad_var):
        """create_graph: xhat and rstd must depend on x in the new graph."""
        return _recorded_backward(ctx, grad)

    @staticmethod
    def backward_arrays(ctx, grad, grad_mean, grad_var):
        if getattr(ctx, "layout", None) is not None:
            return _fused_backward(ctx, grad)
        x, weight, centred, rstd = ctx.saved_arrays
        xp, dims = ctx.xp, ctx.dims
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        grads = _per_channel_grads if _constant_over(weight, dims, x.ndim) else _general_grads
        grad_x, grad_w, sum_g = grads(
            xp, grad, _full_rank(weight, x.ndim), centred, rstd, dims, need_x, need_w
        )
        grad_b = _bias_grad(xp, grad, sum_g, ctx.bias_shape, dims) if need_b else None
        return grad_x, None if grad_w is None else grad_w.reshape(weight.shape), grad_b, None, None


# ---------------------------------------------------------------- fused device kernels


def _fused_layout(x, weight, bias, dims):
    """'layer' (dims trailing; weight and bias None or of the normalized shape), 'batch' (dims
    all but axis 1; per-channel weight and bias), or None: the layouts the device kernels run."""
    ndim = x.ndim
    if x.size == 0 or not dims:
        return None
    trailing = x.shape[ndim - len(dims) :]
    if dims == tuple(range(ndim - len(dims), ndim)) and all(
        p is None or p.shape == trailing for p in (weight, bias)
    ):
        return "layer"
    channel = (1, x.shape[1]) + (1,) * (ndim - 2) if ndim >= 2 else None
    if dims == (0,) + tuple(range(2, ndim)) and all(
        p is None or _full_rank(p, ndim).shape == channel for p in (weight, bias)
    ):
        return "batch"
    return None


def _flat(a):
    return None if a is None else a.reshape(-1)


def _fused_forward(ctx, layout, x, weight, bias, dims, eps):
    """``Normalize.forward`` by a fused device kernel; keeps x, the mean and rstd for backward."""
    xp = ctx.xp
    kernel = fused.kernel(xp, f"norm.{layout}_forward")
    view = _fused_shape(x, layout, dims)
    out, mean, var, rstd = kernel(view, _flat(weight), _flat(bias), eps)
    kept = _keep_shape(x.shape, dims)
    ctx.layout, ctx.dims, ctx.eps = layout, dims, eps
    ctx.bias_shape = None if bias is None else bias.shape
    ctx.bias_dtype = None if bias is None else bias.dtype
    ctx.save_for_backward(x, weight, mean, rstd)
    dtype = x.dtype
    return out.reshape(x.shape), mean.reshape(kept).astype(dtype), var.reshape(kept).astype(dtype)


def _fused_shape(a, layout, dims):
    """``a`` as the kernels see it: (rows, n) for 'layer', (N, C, L) for 'batch'."""
    if layout == "layer":
        return a.reshape(-1, _count(a.shape, dims))
    return a.reshape(a.shape[0], a.shape[1], -1)


def _fused_backward(ctx, grad):
    """``Normalize.backward_arrays`` for a forward that ran a fused device kernel."""
    x, weight, mean, rstd = ctx.saved_arrays
    layout = ctx.layout
    kernel = fused.kernel(ctx.xp, f"norm.{layout}_backward") or getattr(fused_norm, f"{layout}_backward")
    need_x, need_w, need_b = ctx.needs_input_grad[:3]
    view, g = _fused_shape(x, layout, ctx.dims), _fused_shape(grad, layout, ctx.dims)
    dx, dweight, dbias = kernel(view, g, mean, rstd, _flat(weight), need_w or need_b)
    grad_w = dweight.reshape(weight.shape).astype(weight.dtype) if need_w else None
    grad_b = dbias.reshape(ctx.bias_shape).astype(ctx.bias_dtype) if need_b else None
    return dx.reshape(x.shape) if need_x else None, grad_w, grad_b, None, None


# ---------------------------------------------------------------- forward


def _affine(xp, centred, rstd, weight, bias, dims):
    """``centred * rstd * weight + bias`` (full-rank operands) into a new array; ``rstd * weight``
    is one factor when the weight is constant over dims."""
    shape = centred.shape
    if _constant_over(weight, dims, centred.ndim):
        out = centred * _slab(xp, rstd if weight is None else rstd * weight, shape)
    else:
        out = centred * _slab(xp, rstd, shape)
        out *= _slab(xp, weight, shape)
    if bias is not None:
        out += _slab(xp, bias, shape)
    return out


def _slab(xp, a, shape):
    """A full-rank ``a`` that is constant along axis 0 of ``shape``, broadcast to one contiguous
    ``(1, *shape[1:])`` slab: NumPy then runs its elementwise loops over whole slabs instead of
    over the short runs where ``a`` is constant. Three passes over (64, C, H, W) float32 with a
    (1, C, 1, 1) operand: 3.9 -> 2.5 ms (C = 32), 0.75 -> 0.29 ms (C = 128); with layer norm's
    weight over (32, 64, 128): 0.25 -> 0.13 ms."""
    if a is None or a.shape[0] != 1 or shape[0] == 1 or a.shape[1:] == shape[1:]:
        return a
    slab = xp.empty((1,) + shape[1:], a.dtype)
    slab[...] = a
    return slab


# ---------------------------------------------------------------- backward on arrays


def _per_channel_grads(xp, g, weight, centred, rstd, dims, need_x, need_w):
    """Batch-norm-like case, ``weight`` (full rank) constant over dims: the sums that give weight
    and bias their gradients also give x's. Returns the gradients of x and weight, and ``g``
    summed over dims."""
    sum_g = _sum_over(xp, g, dims)
    sum_gc = _dot_over(xp, g, centred, dims)
    grad_x = None
    if need_x:
        scale = rstd if weight is None else rstd * weight
        grad_x = _grad_x(xp, g, centred, rstd, scale, sum_g, sum_gc, _count(g.shape, dims))
    grad_w = _sum_to(xp, sum_gc * rstd, weight.shape) if need_w else None
    return grad_x, grad_w, sum_g


def _general_grads(xp, g, weight, centred, rstd, dims, need_x, need_w):
    """Layer-norm-like case, ``weight`` (full rank) varies over dims: x's gradient is the
    per-channel one of ``g * weight``, computed in that product's buffer, and the weight's
    product ``g * centred`` is the scratch for it. Returns the gradients of x and weight, and
    None (the bias's gradient is summed from ``g`` itself)."""
    grad_w = scratch = None
    if need_w:
        scratch = g * centred
        grad_w = _weighted_sum_to(xp, scratch, rstd, weight.shape)
    grad_x = None
    if need_x:
        scaled = g * _slab(xp, weight, g.shape)
        sum_g = _sum_over(xp, scaled, dims)
        sum_gc = _dot_over(xp, scaled, centred, dims)
        n = _count(g.shape, dims)
        grad_x = _grad_x(xp, scaled, centred, rstd, rstd, sum_g, sum_gc, n, out=scaled, scratch=scratch)
    return grad_x, grad_w, None


def _grad_x(xp, g, centred, rstd, scale, sum_g, sum_gc, n, out=None, scratch=None):
    """``g * scale - scale * sum_g / n - centred * scale * rstd^2 * sum_gc / n`` into ``out``
    (which may be ``g``), with ``scratch`` (or a new array) for the last product. That is the
    module's formula with ``xhat = centred * rstd``; ``scale`` is ``rstd`` or ``rstd * weight``."""
    shift = scale * sum_g
    shift /= n
    slope = scale * rstd
    slope *= rstd
    slope *= sum_gc
    slope /= n
    shape = g.shape
    out = xp.multiply(g, _slab(xp, scale, shape), out=out)
    out -= _slab(xp, shift, shape)
    out -= xp.multiply(centred, _slab(xp, slope, shape), out=scratch)
    return out


def _bias_grad(xp, g, sum_g, shape, dims):
    """``g`` summed to the bias's ``shape``; from ``sum_g`` (``g`` summed over dims, or None) when
    the bias is constant over dims."""
    source = sum_g if sum_g is not None and _shape_constant_over(shape, dims, g.ndim) else g
    return _sum_to(xp, source, (1,) * (g.ndim - len(shape)) + tuple(shape)).reshape(shape)


# ---------------------------------------------------------------- backward in Tensor ops


def _recorded_backward(ctx, grad):
    """Backward in Tensor ops (for ``create_graph=True``), with xhat and rstd rebuilt from x."""
    x, weight, _, _ = ctx.saved_tensors
    dims = ctx.dims
    need_x, need_w, need_b = ctx.needs_input_grad[:3]
    xhat, rstd = standardize(x, dims, ctx.eps)
    if _constant_over(weight, dims, x.dim()):
        grad_x, grad_w, sum_g = _recorded_per_channel(grad, weight, xhat, rstd, dims, need_x, need_w)
    else:
        grad_x, grad_w, sum_g = _recorded_general(grad, weight, xhat, rstd, dims, need_x, need_w)
    grad_b = None
    if need_b:  # at the broadcast shape: the engine sums it to the bias's
        constant = sum_g is not None and _shape_constant_over(ctx.bias_shape, dims, x.dim())
        grad_b = sum_g if constant else grad
    return grad_x, grad_w, grad_b, None, None


def _recorded_per_channel(grad, weight, xhat, rstd, dims, need_x, need_w):
    """Batch-norm-like case in Tensor ops: the sums that give weight and bias their gradients
    also give x's."""
    n = _count(grad.shape, dims)
    sum_g = grad.sum(dims, keepdim=True)
    sum_gx = (grad * xhat).sum(dims, keepdim=True)
    grad_x = None
    if need_x:
        scale = rstd if weight is None else rstd * weight
        grad_x = (grad - sum_g * (1.0 / n) - xhat * (sum_gx * (1.0 / n))) * scale
    return grad_x, (sum_gx if need_w else None), sum_g


def _recorded_general(grad, weight, xhat, rstd, dims, need_x, need_w):
    """Layer-norm-like case in Tensor ops: the module's formula as written."""
    grad_x = None
    if need_x:
        g = grad * weight
        centred = g - g.mean(dims, keepdim=True) - xhat * (g * xhat).mean(dims, keepdim=True)
        grad_x = centred * rstd
    return grad_x, (grad * xhat if need_w else None), None


def standardize(x, dims: tuple, eps: float):
    """``(x - mean) * rstd`` and ``rstd`` over ``dims`` as Tensor ops (the composite form)."""
    centred = x - x.mean(dims, keepdim=True)
    rstd = ((centred * centred).mean(dims, keepdim=True) + eps).rsqrt()
    return centred * rstd, rstd


# ---------------------------------------------------------------- sums on arrays


def _rows(a, axes):
    """``a`` as a (P, C, L) view whose axes 0 and 2 are ``axes``, or None.

    That needs the kept axes to be one run (batch norm's (0, 2, 3) keeps 1; layer norm's
    trailing dims keep a leading run) and ``a`` fit for BLAS (``_blas_ready``).
    """
    if not _blas_ready(a):
        return None
    kept = [d for d in range(a.ndim) if d not in axes]
    lo, hi = (kept[0], kept[-1] + 1) if kept else (a.ndim, a.ndim)
    if hi - lo != len(kept):
        return None
    return a.reshape(math.prod(a.shape[:lo]), math.prod(a.shape[lo:hi]), -1)


def _blas_ready(a) -> bool:
    """Whether ``a`` is a non-empty C-contiguous float32/float64 array."""
    return a.dtype.char in "fd" and a.size > 0 and a.flags.c_contiguous


def _sum_over(xp, a, axes):
    """``a.sum(axes, keepdims=True)`` as a new array; by matrix-vector products with ones where
    ``_rows`` allows: BLAS reads the array once at memory speed, 3-5x faster than
    ``sum(axis=(0, 2, 3))`` at the batch-norm shapes and than ``sum(-1)`` over rows of 128."""
    view = _rows(a, axes)
    if view is None:
        return a.sum(axis=axes, keepdims=True)
    p, c, length = view.shape
    sums = view.reshape(p * c, length) @ xp.ones(length, a.dtype) if length > 1 else view
    return _sum_leading(xp, sums.reshape(p, c)).reshape(_keep_shape(a.shape, axes))


def _dot_over(xp, a, b, axes):
    """``(a * b).sum(axes, keepdims=True)`` for arrays of one shape, with no ``a * b`` temporary
    where ``_rows`` allows (einsum's row dot products)."""
    view_a, view_b = _rows(a, axes), _rows(b, axes)
    if view_a is None or view_b is None:
        return (a * b).sum(axis=axes, keepdims=True)
    p, c, length = view_a.shape
    if length == 1:
        dots = xp.einsum("ij,ij->j", view_a.reshape(p, c), view_b.reshape(p, c))
    else:
        dots = xp.einsum("ij,ij->i", view_a.reshape(p * c, length), view_b.reshape(p * c, length))
        dots = _sum_leading(xp, dots.reshape(p, c))
    return dots.reshape(_keep_shape(a.shape, axes))


def _sum_leading(xp, a):
    """Sum of a (P, C) array over P as a new array, by a vector-matrix product."""
    return xp.ones(a.shape[0], a.dtype) @ a


def _weighted_sum_to(xp, a, weights, shape):
    """``a * weights`` summed to the full-rank ``shape``. When ``a`` is (rows, block) with
    ``shape`` the block and one weight per row (layer norm's weight and rstd), that is one
    vector-matrix product: 0.03 ms against 0.16 ms for the product and its sum at (32, 64, 128)."""
    k = next((d for d, s in enumerate(shape) if s != 1), a.ndim)
    per_row = tuple(shape[k:]) == a.shape[k:] and weights.shape == a.shape[:k] + (1,) * (a.ndim - k)
    if not (per_row and _blas_ready(a) and _blas_ready(weights)):
        return _sum_to(xp, a * weights, shape)
    return (weights.reshape(-1) @ a.reshape(weights.size, -1)).reshape(shape)


def _sum_to(xp, a, shape):
    """``a`` (full rank) summed over the axes where the full-rank ``shape`` has extent 1."""
    axes = tuple(d for d, s in enumerate(shape) if s == 1 and a.shape[d] != 1)
    return _sum_over(xp, a, axes) if axes else a


# ---------------------------------------------------------------- shapes


def _count(shape, dims) -> int:
    """The number of elements each statistic is taken over."""
    return math.prod(shape[d] for d in dims)


def _keep_shape(shape, axes):
    """``shape`` with ``axes`` set to 1 (what ``keepdims=True`` leaves)."""
    return tuple(1 if d in axes else s for d, s in enumerate(shape))


def _full_rank(a, ndim):
    """``a`` (None, or broadcast against ``ndim`` dims) with its leading ones made explicit."""
    return None if a is None else a.reshape((1,) * (ndim - a.ndim) + a.shape)


def _constant_over(weight, dims: tuple, ndim: int) -> bool:
    """Whether ``weight`` (None, or broadcast against an ``ndim``-d input) is constant over ``dims``."""
    return weight is None or _shape_constant_over(weight.shape, dims, ndim)


def _shape_constant_over(shape, dims: tuple, ndim: int) -> bool:
    """Whether an array of ``shape``, broadcast against ``ndim`` dims, is constant over ``dims``."""
    full = (1,) * (ndim - len(shape)) + tuple(shape)
    return all(full[d] == 1 for d in dims)
