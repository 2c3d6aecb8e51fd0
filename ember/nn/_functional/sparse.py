"""nn.functional: ``embedding``, ``embedding_bag`` and ``one_hot``.

The lookup is advanced indexing into the weight (its backward scatter-adds into the rows).
``padding_idx`` and ``scale_grad_by_freq`` only change the gradient, so they are applied by
``_ScaleGrad``: the identity forward, a per-position factor on the gradient backward.
"""

from __future__ import annotations

from ember.autograd.function import Function
from ember.autograd.grad_mode import no_grad
from ember.backend import fused
from ember.functions import cat
from ember.ops.embedding import EmbeddingLookup
from ember.tensor import Tensor, make

__all__ = ["embedding", "embedding_bag", "one_hot"]


class _ScaleGrad(Function):
    """``x`` unchanged; its gradient multiplied by ``scale`` (a constant broadcast against x)."""

    @staticmethod
    def forward(ctx, x: Tensor, scale: Tensor) -> Tensor:
        ctx.scale = scale
        return x

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad * ctx.scale, None


def _check_indices(op: str, input: Tensor, num_rows: int) -> None:
    if not isinstance(input, Tensor) or input._data.dtype.kind not in "iu":
        got = input.dtype if isinstance(input, Tensor) else type(input).__name__
        raise RuntimeError(
            f"{op}: expected the indices (argument 'input') to be an integer tensor (int64 or int32), "
            f"got {got}; convert with .long()"
        )
    if input.numel() == 0:
        return
    data = input._data
    low, high = int(data.min()), int(data.max())
    if low < 0 or high >= num_rows:
        bad = low if low < 0 else high
        raise IndexError(
            f"{op}: index {bad} is out of range for a weight of {num_rows} rows: valid indices are "
            f"0 to {num_rows - 1} (indices of shape {list(input.shape)})"
        )


def normalize_padding_idx(op: str, padding_idx: int | None, num_rows: int) -> int | None:
    """``padding_idx`` as a row number in ``[0, num_rows)`` (negative counts from the end), or None."""
    if padding_idx is None:
        return None
    if not -num_rows <= padding_idx < num_rows:
        raise ValueError(
            f"{op}: padding_idx must be within num_embeddings: got {padding_idx} for {num_rows} rows "
            f"(valid: {-num_rows} to {num_rows - 1})"
        )
    return padding_idx % num_rows


def _renorm_rows(weight: Tensor, input: Tensor, max_norm: float, norm_type: float) -> None:
    """Rescale, in place, each row of ``weight`` used by ``input`` whose norm exceeds ``max_norm``."""
    with no_grad():
        rows = make(input.xp.unique(input._data.reshape(-1)))
        picked = weight[rows]
        norms = picked.norm(norm_type, 1, keepdim=True)
        scale = (max_norm / (norms + 1e-7)).where(norms > max_norm, 1.0)
        weight[rows] = picked * scale


def _grad_scale(input: Tensor, padding_idx: int | None, scale_grad_by_freq: bool, dtype) -> Tensor | None:
    """Per-position gradient factors, shaped input.shape + (1,): 0 at padding, 1/count by frequency."""
    if padding_idx is None and not scale_grad_by_freq:
        return None
    xp, idx = input.xp, input._data
    factor = xp.ones(idx.shape, dtype)
    if scale_grad_by_freq:
        _, inverse, counts = xp.unique(idx.reshape(-1), return_inverse=True, return_counts=True)
        factor = (1.0 / counts[inverse.reshape(-1)]).astype(dtype).reshape(idx.shape)
    if padding_idx is not None:
        factor = factor * (idx != padding_idx)
    return make(factor.reshape(idx.shape + (1,)).astype(dtype))


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``: output shape ``input.shape + (dim,)``.

    No gradient reaches row ``padding_idx``. With ``max_norm``, the rows used are first rescaled
    in place to norm at most ``max_norm``.

    >>> import ember
    >>> w = ember.arange(6.0).reshape(3, 2)
    >>> embedding(ember.tensor([2, 0]), w)
    tensor([[4., 5.],
            [0., 1.]])
    """
    if sparse:
        raise NotImplementedError(
            "embedding: sparse=True (sparse gradients) is not supported; use sparse=False"
        )
    if weight.dim() != 2:
        raise RuntimeError(
            f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape {list(weight.shape)}"
        )
    num_rows = weight.shape[0]
    _check_indices("embedding", input, num_rows)
    padding_idx = normalize_padding_idx("embedding", padding_idx, num_rows)
    if max_norm is not None:
        _renorm_rows(weight, input, max_norm, norm_type)
    if not scale_grad_by_freq and fused.kernel(weight.xp, "embedding.embedding_backward") is not None:
        return EmbeddingLookup.apply(weight, input, padding_idx)  # on CUDA: the fused backward
    out = weight[input]
    scale = _grad_scale(input, padding_idx, scale_grad_by_freq, weight._data.dtype)
    if scale is not None and out.requires_grad:
        out = _ScaleGrad.apply(out, scale)
    return out


def _bag_ids(input: Tensor, offsets: Tensor | None, include_last_offset: bool) -> tuple:
    """(flat indices, bag id of each, number of bags) for 2-D input or 1-D input with offsets."""
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: if input is 2-D, then offsets has to be None")
        bags, length = input.shape
        ids = input.xp.repeat(input.xp.arange(bags), length)
        return input.reshape(-1), ids, bags
    if input.dim() != 1 or offsets is None:
        raise ValueError(
            f"embedding_bag: input has to be 1-D (with offsets) or 2-D, got shape {list(input.shape)} "
            f"and offsets {'None' if offsets is None else list(offsets.shape)}"
        )
    starts = offsets._data.astype("int64")
    if include_last_offset:
        starts = starts[:-1]
    if starts.size and (starts[0] != 0 or (starts[1:] < starts[:-1]).any() or starts[-1] > input.numel()):
        raise ValueError(
            f"embedding_bag: offsets must start at 0, be non-decreasing and not exceed the input length "
            f"{input.numel()}, got {offsets.tolist()}"
        )
    xp = input.xp
    ids = xp.searchsorted(starts, xp.arange(input.numel()), side="right") - 1
    return input, ids, int(starts.size)


def _bag_max(rows: Tensor, ids, bags: int, keep) -> Tensor:
    """Per-bag max of ``rows``: bags laid out densely (padded with -inf), then ``max`` over each."""
    xp, n = rows.xp, rows.shape[0]
    if keep is not None:
        ids = xp.where(keep, ids, bags)  # padding rows go to an extra bag that is dropped
    order = xp.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = xp.searchsorted(sorted_ids, xp.arange(bags + 1))
    slot = xp.arange(n) - starts[sorted_ids]
    width = max(int(slot.max()) + 1 if n else 0, 1)
    layout = xp.full((bags + 1, width), n)  # n: the -inf row appended below
    layout[sorted_ids, slot] = order
    dense = cat([rows, rows.new_full((1, rows.shape[1]), float("-inf"))], 0)
    best = dense[make(layout[:bags])].max(1).values
    return best.where(best != float("-inf"), 0.0)


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """Sum, mean or max of the embeddings of each bag (rows of 2-D input, or runs given by ``offsets``).

    >>> import ember
    >>> w = ember.arange(6.0).reshape(3, 2)
    >>> embedding_bag(ember.tensor([[0, 2], [1, 1]]), w, mode="sum")
    tensor([[4., 6.],
            [4., 6.]])
    """
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode has to be one of sum, mean or max, got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            f"embedding_bag: per_sample_weights was not None. per_sample_weights is only supported for "
            f"mode='sum' (got mode='{mode}'). Please open a feature request on GitHub."
        )
    flat, ids, bags = _bag_ids(input, offsets, include_last_offset)
    rows = embedding(flat, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)
    keep = (
        flat._data != normalize_padding_idx("embedding_bag", padding_idx, weight.shape[0])
        if padding_idx is not None
        else None
    )
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1)
    if keep is not None:
        rows = rows * make(keep.astype(weight._data.dtype).reshape(-1, 1))
    out = weight.new_zeros((bags, weight.shape[1])).index_add(0, make(ids), rows)
    if mode == "max":
        return _bag_max(rows, ids, bags, keep)
    if mode == "mean":
        counts = input.xp.bincount(ids[keep] if keep is not None else ids, minlength=bags)
        out = out / make(input.xp.maximum(counts, 1).astype(weight._data.dtype).reshape(-1, 1))
    return out


def one_hot(input: Tensor, num_classes: int = -1) -> Tensor:
    """An int64 tensor of shape ``input.shape + (num_classes,)`` with a 1 at each class index.

    ``num_classes=-1`` takes one more than the largest index.

    >>> import ember
    >>> one_hot(ember.tensor([0, 2]))
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    if not isinstance(input, Tensor) or input._data.dtype.kind not in "iu":
        got = input.dtype if isinstance(input, Tensor) else type(input).__name__
        raise RuntimeError(f"one_hot is only applicable to index tensor of type LongTensor, got {got}")
    xp, data = input.xp, input._data
    if num_classes == -1:
        if data.size == 0:
            raise RuntimeError(
                "one_hot: Can not infer total number of classes from empty tensor; pass num_classes"
            )
        num_classes = int(data.max()) + 1
    if data.size:
        low, high = int(data.min()), int(data.max())
        if low < 0:
            raise RuntimeError(f"one_hot: Class values must be non-negative, got {low}")
        if high >= num_classes:
            raise RuntimeError(
                f"one_hot: Class values must be smaller than num_classes, got {high} with num_classes={num_classes} "
                f"(valid classes are 0 to {num_classes - 1})"
            )
    return make((data[..., None] == xp.arange(num_classes)).astype(xp.int64))
