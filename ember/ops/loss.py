"""Loss kernels that are not a plain composite of other primitives.

* ``BinaryCrossEntropy``: PyTorch clamps each log at -100 and divides the gradient by
  ``max(x (1 - x), 1e-12)``; a composite of ``log`` and ``clamp`` would give 0/0 = NaN at
  ``x = 0`` or ``x = 1``, so the formula is one primitive (its backward is still written in
  ember ops, so it differentiates again).
* ``CTCLoss``: the forward-backward algorithm in log space, vectorised over the batch and the
  extended label sequence (blank, l1, blank, l2, ..., blank); Python loops run over time only.
  Forward computes alpha and the per-sample negative log-likelihood; backward computes beta
  and the gradient from the posterior occupancy of each (time, label) pair.
* ``SoftmaxCrossEntropy``: log_softmax followed by picking the target class, fused; see its
  docstring for the measurement that justifies it.
* ``NLLLoss``: picking each target's log-probability, with class weights, ``ignore_index``
  and the reduction, in one node (the composite was about ten primitives and their backward
  ops per call; a char-RNN fed one character at a time runs one per character).
"""

from __future__ import annotations

import contextlib

from ember import backend
from ember.backend import fused
from ember.backend.fused import cross_entropy as fused_cross_entropy
from ember.ops import Float32Primitive

_LOG_FLOOR = -100.0  # PyTorch's clamp of log(x) in binary_cross_entropy
_BCE_EPS = 1e-12  # PyTorch's floor of x (1 - x) in the gradient of binary_cross_entropy


def _quiet(xp):
    """Silence NumPy's floating-point warnings where -inf (log 0) is the right answer."""
    errstate = getattr(xp, "errstate", None)
    return errstate(all="ignore") if errstate is not None else contextlib.nullcontext()


def _const(like, array):
    """A constant (no graph) Tensor holding ``array``, built beside the tensor ``like``."""
    return like._wrap_like(array)


class BinaryCrossEntropy(Float32Primitive):
    """``-(t log x + (1 - t) log(1 - x))`` elementwise, each log clamped to >= -100."""

    op_name = "binary_cross_entropy"

    @staticmethod
    def forward(ctx, x, t):
        xp = ctx.xp
        ctx.save_for_backward(x, t)
        with _quiet(xp):
            log_x = xp.maximum(xp.log(x), _LOG_FLOOR)
            log_1mx = xp.maximum(xp.log1p(-x), _LOG_FLOOR)
        return -(t * log_x + (1 - t) * log_1mx)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        need_x, need_t = ctx.needs_input_grad
        grad_x = grad_t = None
        if need_x:
            grad_x = grad * (x - t) / ((1 - x) * x).clamp(min=_BCE_EPS)
        if need_t:
            log_x = x.log().clamp(min=_LOG_FLOOR)
            log_1mx = (-x).log1p().clamp(min=_LOG_FLOOR)
            grad_t = grad * (log_1mx - log_x)
        return grad_x, grad_t


class SoftmaxCrossEntropy(Float32Primitive):
    """Cross entropy of (N, C) logits ``x`` against class indices ``target``, reduced, in one node.

    ``-w[n] * log_softmax(x)[n, target[n]]`` per row, where ``w[n]`` is ``class_weight[target[n]]``
    (1 without class weights) and 0 for rows whose target is ``ignore_index``; ``reduction``
    'mean' divides the sum by ``sum(w)`` (NaN when every row is ignored, as in PyTorch), 'sum'
    sums, 'none' returns the rows. Targets are checked by the caller. Backward is
    ``grad * w * (softmax(x) - onehot(target))`` (divided by ``sum(w)`` for 'mean'), one multiply
    (softmax - onehot is formed in forward); under ``create_graph`` it is rebuilt from
    differentiable ops instead. The ignore handling, weighting and reduction used to be seven
    more primitives: forward+backward of a (128, 10) batch took 387 us against PyTorch's 112.
    """

    op_name = "cross_entropy"

    @staticmethod
    def forward(ctx, x, target, class_weight, ignore_index, reduction):
        xp = ctx.xp
        kernel = fused.kernel(xp, "cross_entropy.forward")
        if kernel is not None:
            return _fused_cross_entropy(ctx, kernel, x, target, class_weight, ignore_index, reduction)
        rows = xp.arange(x.shape[0])
        kept = target != ignore_index
        safe = xp.where(kept, target, 0)
        weight = kept.astype(x.dtype)
        if class_weight is not None:
            weight *= class_weight[safe]
        shifted = x - x.max(axis=1, keepdims=True)
        picked = shifted[rows, safe]
        # in place: a (1120, 1000) float32 batch saves ~1 ms
        exp = backend.for_xp(xp).parallel_elementwise(xp.exp, shifted, out=shifted)
        total = exp.sum(axis=1, keepdims=True)
        picked -= xp.log(total[:, 0])
        exp /= total
        exp[rows, safe] -= 1  # softmax - onehot: the gradient of each row's loss
        with _quiet(xp):
            losses = xp.where(kept, -picked * weight, 0).astype(x.dtype)
            if reduction == "none":
                out, scale = losses, weight
            else:
                out = losses.sum(dtype=x.dtype)
                scale = weight
                if reduction == "mean":
                    count = weight.sum(dtype=x.dtype)
                    out = out / count
                    scale = weight / count
        ctx.row_grad, ctx.scale, ctx.safe, ctx.reduction = exp, scale.astype(x.dtype), safe, reduction
        ctx.save_for_backward(x)
        return xp.asarray(out, dtype=x.dtype)

    @staticmethod
    def backward_arrays(ctx, grad):
        g = grad if ctx.reduction == "none" else grad.reshape(1)
        if ctx.row_grad is None:  # the fused forward: the gradient is recomputed from the logits
            kernel = fused.kernel(ctx.xp, "cross_entropy.backward") or fused_cross_entropy.backward
            return kernel(ctx.saved_arrays[0], ctx.safe, g * ctx.scale), None, None, None, None
        return ctx.row_grad * (g * ctx.scale)[:, None], None, None, None, None

    @staticmethod
    def backward(ctx, grad):
        """The same gradient from differentiable ops, so that it differentiates again."""
        xp = ctx.xp
        (x,) = ctx.saved_tensors
        onehot = xp.zeros(x.shape, x._data.dtype)
        onehot[xp.arange(x.shape[0]), ctx.safe] = 1
        per_row = grad if ctx.reduction == "none" else grad.reshape(1)
        scale = (per_row * _const(grad, ctx.scale)).unsqueeze(1)
        return scale * (x.softmax(1) - _const(grad, onehot)), None, None, None, None


def _fused_cross_entropy(ctx, kernel, x, target, class_weight, ignore_index, reduction):
    """``SoftmaxCrossEntropy.forward`` by the fused device kernel: per-row losses and weights
    from one kernel, reduced here; backward recomputes softmax - onehot (no ``row_grad`` kept)."""
    xp = ctx.xp
    losses, weight = kernel(x, target, class_weight, ignore_index)
    out, scale = losses, weight
    with _quiet(xp):
        if reduction != "none":
            out = losses.sum(dtype=x.dtype)
            if reduction == "mean":
                count = weight.sum(dtype=x.dtype)
                out = out / count
                scale = weight / count
    ctx.row_grad, ctx.scale, ctx.reduction = None, scale.astype(x.dtype), reduction
    ctx.safe = xp.where(target != ignore_index, target, 0)
    ctx.save_for_backward(x)
    return xp.asarray(out, dtype=x.dtype)


def _class_last(xp, logp):
    """``logp`` as (rows, C): the class dim (1, or 0 for a 1-D input) moved last and the rest
    flattened."""
    if logp.ndim == 1:
        return logp.reshape(1, -1)
    if logp.ndim > 2:
        logp = xp.moveaxis(logp, 1, -1)
    return logp.reshape(-1, logp.shape[-1])


def _class_first(xp, rows, shape):
    """The inverse of ``_class_last`` for an array of the input's ``shape``."""
    if len(shape) <= 2:
        return rows.reshape(shape)
    moved = rows.reshape(shape[:1] + shape[2:] + shape[1:2])
    return xp.moveaxis(moved, -1, 1)


def _classes(shape) -> int:
    return shape[0] if len(shape) == 1 else shape[1]


def _none_ignored(flat, ignore_index: int, classes: int) -> bool:
    """Whether no target equals ``ignore_index``, decided cheaply for targets the caller checked
    (each a class in range or ``ignore_index``); False when that would take a full comparison."""
    if flat.size == 1:
        return int(flat[0]) != ignore_index
    if flat.size == 0:
        return False
    if ignore_index < 0:
        return bool(flat.min() >= 0)
    if ignore_index >= classes:
        return bool(flat.max() < classes)
    return False


def _nll_unweighted(ctx, xp, logp, rows, flat, target_shape, reduction):
    """``NLLLoss.forward`` without class weights or ignored targets (the common case): every
    element weighs 1, so 'mean' divides by the count and the gradient scale is one number."""
    count = flat.shape[0]
    picked = rows[xp.arange(count), flat] if count > 1 else rows[0, flat]
    dtype = logp.dtype
    if reduction == "none":
        out = -picked.reshape(target_shape)
        scale = xp.ones(count, dtype)
    else:
        out = (-picked).sum(dtype=dtype)  # a sum of -0.0 terms is +0.0, as in PyTorch
        scale = xp.ones(count, dtype)
        if reduction == "mean":
            out = out / dtype.type(count)
            scale /= count
    ctx.scale, ctx.safe, ctx.reduction, ctx.shape = scale, flat, reduction, logp.shape
    return xp.asarray(out, dtype=dtype)


class NLLLoss(Float32Primitive):
    """Negative log-likelihood of class indices given log-probabilities, reduced, in one node.

    ``logp`` is (C,), (N, C) or (N, C, d1, ...) and ``target`` the matching integer indices
    (checked by the caller). Each element's loss is ``-w * logp[target]``, where ``w`` is
    ``class_weight[target]`` (1 without class weights) and 0 where the target is
    ``ignore_index``; 'mean' divides the sum by ``sum(w)`` (NaN when every element is ignored,
    as in PyTorch). The gradient is ``-grad * w`` (over ``sum(w)`` for 'mean') at each target's
    position and 0 elsewhere.
    """

    op_name = "nll_loss"

    @staticmethod
    def forward(ctx, logp, target, class_weight, ignore_index, reduction):
        xp = ctx.xp
        rows = _class_last(xp, logp)
        flat = target.reshape(-1)
        if class_weight is None and _none_ignored(flat, ignore_index, rows.shape[1]):
            return _nll_unweighted(ctx, xp, logp, rows, flat, target.shape, reduction)
        kept = flat != ignore_index
        safe = xp.where(kept, flat, 0)
        weight = kept.astype(logp.dtype)
        if class_weight is not None:
            weight *= class_weight[safe]
        picked = rows[xp.arange(rows.shape[0]), safe]
        with _quiet(xp):
            losses = xp.where(kept, -picked * weight, 0).astype(logp.dtype)
            if reduction == "none":
                out, scale = losses.reshape(target.shape), weight
            else:
                out, scale = losses.sum(dtype=logp.dtype), weight
                if reduction == "mean":
                    count = weight.sum(dtype=logp.dtype)
                    out, scale = out / count, weight / count
        ctx.scale, ctx.safe, ctx.reduction, ctx.shape = scale.astype(logp.dtype), safe, reduction, logp.shape
        return xp.asarray(out, dtype=logp.dtype)

    @staticmethod
    def backward_arrays(ctx, grad):
        xp = ctx.xp
        scale, safe = ctx.scale, ctx.safe
        g = grad.reshape(-1) if ctx.reduction == "none" else grad
        rows = xp.zeros((safe.shape[0], _classes(ctx.shape)), scale.dtype)
        rows[xp.arange(safe.shape[0]), safe] = -(g * scale)
        return _class_first(xp, rows, ctx.shape), None, None, None, None

    @staticmethod
    def backward(ctx, grad):
        """The same gradient from differentiable ops, so that it differentiates again."""
        xp = ctx.xp
        safe, shape = ctx.safe, ctx.shape
        onehot = xp.zeros((safe.shape[0], _classes(shape)), ctx.scale.dtype)
        onehot[xp.arange(safe.shape[0]), safe] = 1
        g = grad.reshape(-1) if ctx.reduction == "none" else grad.reshape(1)
        rows = _const(grad, onehot) * (g * _const(grad, -ctx.scale)).unsqueeze(1)
        if len(shape) <= 2:
            return rows.reshape(shape), None, None, None, None
        moved = rows.reshape(shape[:1] + shape[2:] + shape[1:2])
        return moved.movedim(-1, 1), None, None, None, None


def _logsumexp3(xp, a, b, c):
    """``log(exp(a) + exp(b) + exp(c))`` elementwise, -inf where all three are -inf."""
    top = xp.maximum(xp.maximum(a, b), c)
    top = xp.where(xp.isfinite(top), top, 0)
    with _quiet(xp):
        return top + xp.log(xp.exp(a - top) + xp.exp(b - top) + xp.exp(c - top))


def _shift(xp, a, by: int, fill):
    """``a`` moved ``by`` places along the last axis (right if positive), the gap set to ``fill``."""
    out = xp.full(a.shape, fill, a.dtype)
    if by > 0:
        out[..., by:] = a[..., :-by]
    else:
        out[..., :by] = a[..., -by:]
    return out


class CTCLoss(Float32Primitive):
    """Per-sample CTC negative log-likelihood of ``log_probs`` (T, N, C) given padded targets.

    ``targets`` (N, S), ``input_lengths`` (N,) and ``target_lengths`` (N,) are integer arrays.
    The gradient is d(nll)/d(log_probs), the exact derivative (PyTorch's kernel adds
    ``exp(log_probs)``, which only agrees after a log_softmax); entries past a sample's input
    length get zero. With ``zero_infinity`` an infinite loss (no valid alignment) becomes 0
    and so does its gradient.
    """

    op_name = "ctc_loss"

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
        xp = ctx.xp
        steps, batch, _ = log_probs.shape
        width = 2 * targets.shape[1] + 1
        ext = xp.full((batch, width), blank, dtype=targets.dtype)
        ext[:, 1::2] = targets
        skip = xp.zeros((batch, width), dtype=bool)  # may jump from s - 2 to s
        skip[:, 3::2] = targets[:, 1:] != targets[:, :-1]
        lp_ext = log_probs[:, xp.arange(batch)[:, None], ext]  # (T, N, L)
        valid = xp.arange(width)[None, :] < (2 * target_lengths + 1)[:, None]
        neg_inf = -xp.inf
        alpha = xp.full((steps, batch, width), neg_inf, dtype=log_probs.dtype)
        alpha[0, :, 0] = lp_ext[0, :, 0]
        alpha[0, :, 1] = xp.where(target_lengths > 0, lp_ext[0, :, 1], neg_inf)
        for t in range(1, steps):
            prev = alpha[t - 1]
            jump = xp.where(skip, _shift(xp, prev, 2, neg_inf), neg_inf)
            new = _logsumexp3(xp, prev, _shift(xp, prev, 1, neg_inf), jump) + lp_ext[t]
            new = xp.where(valid, new, neg_inf)
            alpha[t] = xp.where((t < input_lengths)[:, None], new, prev)
        last = alpha[steps - 1]
        rows = xp.arange(batch)
        end = 2 * target_lengths
        before_end = xp.where(target_lengths > 0, last[rows, xp.maximum(end - 1, 0)], neg_inf)
        with _quiet(xp):
            nll = -xp.logaddexp(last[rows, end], before_end)
        ctx.alpha, ctx.lp_ext, ctx.ext, ctx.skip = alpha, lp_ext, ext, skip
        ctx.lengths, ctx.ends, ctx.num_classes = input_lengths, end, log_probs.shape[2]
        ctx.nll = nll
        if zero_infinity:
            ctx.dead = xp.isinf(nll)
            nll = xp.where(ctx.dead, 0, nll).astype(nll.dtype)
        else:
            ctx.dead = None
        return nll

    @staticmethod
    def backward(ctx, grad):
        gradient = _ctc_gradient(ctx)
        return grad.reshape(1, -1, 1) * _const(grad, gradient), None, None, None, None, None


def _ctc_beta(ctx):
    """The backward variables beta[t, n, s] in log space (each includes lp at time t)."""
    xp = ctx.xp
    lp_ext, skip, lengths = ctx.lp_ext, ctx.skip, ctx.lengths
    steps, batch, width = lp_ext.shape
    neg_inf = -xp.inf
    positions = xp.arange(width)[None, :]
    ends = ctx.ends[:, None]
    finish = (positions == ends) | ((positions == ends - 1) & (ends > 0))
    skip_from = _shift(xp, skip, -2, False)  # s may jump to s + 2
    beta = xp.full((steps, batch, width), neg_inf, dtype=lp_ext.dtype)
    following = xp.full((batch, width), neg_inf, dtype=lp_ext.dtype)
    for t in range(steps - 1, -1, -1):
        jump = xp.where(skip_from, _shift(xp, following, -2, neg_inf), neg_inf)
        step = _logsumexp3(xp, following, _shift(xp, following, -1, neg_inf), jump) + lp_ext[t]
        start = xp.where(finish, lp_ext[t], neg_inf)
        is_last = (t == lengths - 1)[:, None]
        inside = (t < lengths - 1)[:, None]
        beta[t] = xp.where(is_last, start, xp.where(inside, step, neg_inf))
        following = beta[t]
    return beta


def _ctc_gradient(ctx):
    """d(nll_n) / d(log_probs[t, n, c]) = -sum over s with label c of the occupancy at (t, s)."""
    xp = ctx.xp
    beta = _ctc_beta(ctx)
    steps, batch, _ = beta.shape
    classes = ctx.num_classes
    with _quiet(xp):
        occupancy = xp.exp(ctx.alpha + beta - ctx.lp_ext + ctx.nll[None, :, None])
    if ctx.dead is not None:
        occupancy = xp.where(ctx.dead[None, :, None], 0, occupancy)
    cell = (xp.arange(steps)[:, None, None] * batch + xp.arange(batch)[None, :, None]) * classes
    index = (cell + ctx.ext[None, :, :]).ravel()
    flat = xp.bincount(index, weights=occupancy.ravel(), minlength=steps * batch * classes)
    return -flat.reshape(steps, batch, classes).astype(beta.dtype)
