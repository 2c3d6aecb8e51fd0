"""nn.functional: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

Masks follow PyTorch, whose two conventions differ: in ``scaled_dot_product_attention`` a bool
``attn_mask`` is True where attention is *allowed*; in ``multi_head_attention_forward`` (and
``nn.MultiheadAttention``) a bool ``attn_mask`` or ``key_padding_mask`` is True where it is *not*.
Float masks are added to the scores in both.
"""

from __future__ import annotations

import math

from ember import creation, dtypes
from ember import functions as _fn
from ember.amp.autocast_mode import autocast_to
from ember.ops.attention import ScaledDotProductAttention, masked_softmax
from ember.tensor import Tensor

__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]


def _dropout(x: Tensor, p: float, training: bool) -> Tensor:
    if p <= 0 or not training:
        return x
    from ember.nn._functional.dropout import dropout

    return dropout(x, p, True)


def _fusable(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None, dropout_p: float) -> bool:
    """Whether the fused primitive computes this call: no dropout, one floating dtype, and a mask
    that is absent, bool, or float of that dtype without a gradient of its own."""
    dtype = query.dtype
    if dropout_p > 0 or not dtype.is_floating_point or key.dtype != dtype or value.dtype != dtype:
        return False
    return (
        attn_mask is None
        or attn_mask.dtype == dtypes.bool
        or (attn_mask.dtype == dtype and not attn_mask.requires_grad)
    )


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """``softmax(q k^T * scale + mask) v`` over the last two dims, (…, L, E) x (…, S, E) -> (…, L, Ev).

    ``attn_mask`` broadcasts to (…, L, S): bool True = attend, float = added to the scores.
    ``is_causal`` masks out keys after each query (top-left aligned). ``enable_gqa`` lets
    ``query`` have a multiple of the key/value heads (dim -3), each group sharing one.
    Without dropout, and unless a float mask needs a gradient, this is one fused primitive
    (``ember.ops.attention``); otherwise it is composed of ember's ops.

    >>> import ember
    >>> q = ember.ones(2, 3, 4)
    >>> scaled_dot_product_attention(q, q, ember.arange(6.).reshape(1, 3, 2), is_causal=True)[0]
    tensor([[0., 1.],
            [1., 2.],
            [2., 3.]])
    """
    if (
        query.dim() < 2
        or key.dim() < 2
        or value.dim() < 2
        or query.shape[-1] != key.shape[-1]
        or key.shape[-2] != value.shape[-2]
    ):
        raise RuntimeError(
            f"scaled_dot_product_attention: query {list(query.shape)}, key {list(key.shape)} and value "
            f"{list(value.shape)} do not fit: expected (..., L, E), (..., S, E) and (..., S, Ev)"
        )
    if is_causal and attn_mask is not None:
        raise RuntimeError(
            "scaled_dot_product_attention: _scaled_dot_product_attention: Explicit attn_mask should not be "
            "set when is_causal=True; pass one or the other"
        )
    if enable_gqa and query.dim() >= 3 and key.shape[-3] != query.shape[-3]:
        heads, kv_heads = query.shape[-3], key.shape[-3]
        if heads % kv_heads:
            raise RuntimeError(
                f"scaled_dot_product_attention: with enable_gqa the query heads ({heads}) must be a "
                f"multiple of the key/value heads ({kv_heads})"
            )
        key = key.repeat_interleave(heads // kv_heads, dim=-3)
        value = value.repeat_interleave(heads // kv_heads, dim=-3)
    factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if _fusable(query, key, value, attn_mask, dropout_p):
        return ScaledDotProductAttention.apply(query, key, value, attn_mask, factor, is_causal)
    return _composed_attention(query, key, value, attn_mask, dropout_p, is_causal, factor)


def _composed_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None,
    dropout_p: float,
    is_causal: bool,
    factor: float,
) -> Tensor:
    """scaled_dot_product_attention as a composite of ember's ops (dropout, float masks with a gradient)."""
    length, source = query.shape[-2], key.shape[-2]
    scores = query.matmul(key.transpose(-2, -1)) * factor
    if is_causal:
        allowed = creation.ones(length, source, dtype=dtypes.bool, device=query.device).tril()
        scores = scores.masked_fill(allowed.logical_not(), float("-inf"))
    elif attn_mask is not None:
        if attn_mask.dtype.is_floating_point:
            scores = scores + attn_mask
        else:
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
    weights = _dropout(masked_softmax(scores), dropout_p, True)
    return weights.matmul(value)


# -- multi-head attention ------------------------------------------------------------------------
def _float_mask(mask: Tensor | None, name: str, like: Tensor) -> Tensor | None:
    """A bool mask (True = masked out) as an additive float mask; float masks pass through."""
    if mask is None:
        return None
    if mask.dtype.is_floating_point:
        return mask.to(like.dtype)
    if mask.dtype != dtypes.bool:
        raise TypeError(f"multi_head_attention_forward: {name} must be bool or float, got {mask.dtype}")
    return creation.zeros(tuple(mask.shape), dtype=like.dtype, device=like.device).masked_fill(
        mask, float("-inf")
    )


def _in_projection(query, key, value, num_heads, in_proj_weight, in_proj_bias, use_separate, q_w, k_w, v_w):
    embed = query.shape[-1]
    biases = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
    if use_separate:
        weights = (q_w, k_w, v_w)
    else:
        weights = in_proj_weight.chunk(3)
    for w, x, what in zip(weights, (query, key, value), ("q", "k", "v")):
        if w is None or w.shape[-1] != x.shape[-1] or w.shape[0] != embed:
            raise RuntimeError(
                f"multi_head_attention_forward: {what} projection weight of shape "
                f"{None if w is None else list(w.shape)} does not fit input of shape {list(x.shape)}: "
                f"expected ({embed}, {x.shape[-1]})"
            )
    return tuple(
        x.matmul(w.t()) + (0 if b is None else b) for x, w, b in zip((query, key, value), weights, biases)
    )


@autocast_to("lower")
def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention on time-major (L, N, E) inputs (or unbatched (L, E)), as in PyTorch.

    Returns ``(output (L, N, E), weights)``; ``weights`` is (N, L, S) averaged over heads, (N, H, L, S)
    with ``average_attn_weights=False``, or None when ``need_weights`` is False.

    >>> import ember
    >>> x = ember.ones(3, 2, 4)
    >>> out, w = multi_head_attention_forward(x, x, x, 4, 2, ember.ones(12, 4), None, None, None, False,
    ...                                       0.0, ember.ones(4, 4), None)
    >>> out.shape, w.shape
    (ember.Size([3, 2, 4]), ember.Size([2, 3, 3]))
    """
    batched = query.dim() == 3
    if query.dim() not in (2, 3) or key.dim() != query.dim() or value.dim() != query.dim():
        raise RuntimeError(
            f"multi_head_attention_forward: query {list(query.shape)}, key {list(key.shape)} and value "
            f"{list(value.shape)} must all be 3-D (L, N, E) or all 2-D (L, E)"
        )
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    length, batch, embed = query.shape
    if embed != embed_dim_to_check or embed % num_heads:
        raise RuntimeError(
            f"multi_head_attention_forward: query of shape {list(query.shape)} has embed dim {embed}; "
            f"expected {embed_dim_to_check}, divisible by num_heads={num_heads}"
        )
    if key.shape[:2] != value.shape[:2] or key.shape[1] != batch:
        raise RuntimeError(
            f"multi_head_attention_forward: key {list(key.shape)} and value {list(value.shape)} must share "
            f"(S, N) with N = {batch} from query {list(query.shape)}"
        )
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "multi_head_attention_forward: Need attn_mask if specifying the is_causal hint. You may use "
            "the Transformer module method `generate_square_subsequent_mask` to create this mask."
        )
    head_dim = embed // num_heads
    q, k, v = _in_projection(
        query,
        key,
        value,
        num_heads,
        in_proj_weight,
        in_proj_bias,
        use_separate_proj_weight,
        q_proj_weight,
        k_proj_weight,
        v_proj_weight,
    )
    attn_mask = _float_mask(attn_mask, "attn_mask", q)
    key_padding_mask = _float_mask(key_padding_mask, "key_padding_mask", q)
    if attn_mask is not None and attn_mask.dim() == 2:
        attn_mask = attn_mask.unsqueeze(0)
    if bias_k is not None and bias_v is not None:
        k = _fn.cat([k, bias_k.expand(1, batch, embed)])
        v = _fn.cat([v, bias_v.expand(1, batch, embed)])
        attn_mask = None if attn_mask is None else _pad_last(attn_mask)
        key_padding_mask = None if key_padding_mask is None else _pad_last(key_padding_mask)
    # (L, N, E) -> (N * H, L, head_dim)
    q = q.reshape(length, batch * num_heads, head_dim).transpose(0, 1)
    k = k.reshape(k.shape[0], batch * num_heads, head_dim).transpose(0, 1) if static_k is None else static_k
    v = v.reshape(v.shape[0], batch * num_heads, head_dim).transpose(0, 1) if static_v is None else static_v
    if add_zero_attn:
        k = _fn.cat([k, creation.zeros(batch * num_heads, 1, head_dim, dtype=k.dtype, device=k.device)], 1)
        v = _fn.cat([v, creation.zeros(batch * num_heads, 1, head_dim, dtype=v.dtype, device=v.device)], 1)
        attn_mask = None if attn_mask is None else _pad_last(attn_mask)
        key_padding_mask = None if key_padding_mask is None else _pad_last(key_padding_mask)
    source = k.shape[1]
    if attn_mask is not None and (
        tuple(attn_mask.shape[-2:]) != (length, source) or attn_mask.shape[0] not in (1, batch * num_heads)
    ):
        raise RuntimeError(
            f"multi_head_attention_forward: attn_mask of shape {list(attn_mask.shape)} does not fit: "
            f"expected ({length}, {source}) or ({batch * num_heads}, {length}, {source})"
        )
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (batch, source):
            raise RuntimeError(
                f"multi_head_attention_forward: key_padding_mask of shape {list(key_padding_mask.shape)} "
                f"does not fit: expected ({batch}, {source}) (batch, source length)"
            )
        padding = key_padding_mask.reshape(batch, 1, 1, source).expand(batch, num_heads, 1, source)
        padding = padding.reshape(batch * num_heads, 1, source)
        attn_mask = padding if attn_mask is None else attn_mask + padding
    scores = q.matmul(k.transpose(1, 2)) * (1.0 / math.sqrt(head_dim))
    if attn_mask is not None:
        scores = scores + attn_mask
    weights = _dropout(scores.softmax(-1), dropout_p, training)
    out = weights.matmul(v).transpose(0, 1).reshape(length * batch, embed)
    out = out.matmul(out_proj_weight.t())
    if out_proj_bias is not None:
        out = out + out_proj_bias
    out = out.reshape(length, batch, embed)
    if not batched:
        out = out.squeeze(1)
    if not need_weights:
        return out, None
    weights = weights.reshape(batch, num_heads, length, source)
    if average_attn_weights:
        weights = weights.mean(1)
    return out, (weights if batched else weights.squeeze(0))


def _pad_last(mask: Tensor) -> Tensor:
    """One more (zero: not masked) column on the last dim of an additive mask."""
    zeros = creation.zeros(tuple(mask.shape[:-1]) + (1,), dtype=mask.dtype, device=mask.device)
    return _fn.cat([mask, zeros], -1)
