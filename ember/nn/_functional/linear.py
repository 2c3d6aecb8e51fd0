"""nn.functional: ``linear`` and ``bilinear``."""

from __future__ import annotations

from ember.amp.autocast_mode import STATE as autocast_state
from ember.amp.autocast_mode import cast_inputs
from ember.ops import linalg
from ember.tensor import Tensor

__all__ = ["bilinear", "linear"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``: the affine map of ``nn.Linear``.

    >>> import ember
    >>> linear(ember.ones(2, 3), ember.ones(4, 3), ember.zeros(4)).shape
    ember.Size([2, 4])
    """
    in_features = weight.shape[-1] if weight.dim() > 0 else None
    if weight.dim() not in (1, 2) or input.dim() == 0 or input.shape[-1] != in_features:
        raise RuntimeError(
            f"linear: input of shape {list(input.shape)} cannot be multiplied by weight of shape "
            f"{list(weight.shape)}: the input's last dim must equal in_features (the weight's last "
            "dim), and the weight must be [out_features, in_features]"
        )
    if autocast_state.active:  # cast all three before the dtype check, as the fused op would
        input, weight, bias = cast_inputs(linalg.Linear, (input, weight, bias))
    if weight.dim() == 2 and (bias is None or bias.dim() == 1) and _same_dtype(input, weight, bias):
        return linalg.Linear.apply(input, weight, bias)
    out = input.matmul(weight.t() if weight.dim() == 2 else weight)
    return out if bias is None else out + bias


def _same_dtype(*tensors) -> bool:
    dtype = tensors[0]._data.dtype
    return all(t is None or t._data.dtype == dtype for t in tensors)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y[..., k] = input1 @ weight[k] @ input2 + bias[k]``: the map of ``nn.Bilinear``.

    >>> import ember
    >>> bilinear(ember.ones(5, 2), ember.ones(5, 3), ember.ones(4, 2, 3)).shape
    ember.Size([5, 4])
    """
    if weight.dim() != 3:
        raise RuntimeError(
            f"bilinear: weight must be [out_features, in1_features, in2_features], got shape "
            f"{list(weight.shape)}"
        )
    out_features, in1, in2 = weight.shape
    if input1.dim() == 0 or input1.shape[-1] != in1 or input2.dim() == 0 or input2.shape[-1] != in2 \
            or tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(
            f"bilinear: inputs of shapes {list(input1.shape)} and {list(input2.shape)} do not fit "
            f"weight of shape {list(weight.shape)}: expected [..., {in1}] and [..., {in2}] with the "
            "same leading dims"
        )
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, in2)
    # (N, in1) @ (in1, out*in2) -> (N, out, in2), then contract in2 against input2
    mixed = x1.matmul(weight.permute(1, 0, 2).reshape(in1, out_features * in2))
    out = (mixed.reshape(-1, out_features, in2) * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(lead + (out_features,))
