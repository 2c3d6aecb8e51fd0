"""nn.functional: ``linear``, ``bilinear`` and ``grouped_mm``."""

from __future__ import annotations

import itertools

from ember.amp.autocast_mode import STATE as autocast_state
from ember.amp.autocast_mode import cast_inputs
from ember.methods._util import mixed_dtypes_message
from ember.ops import linalg
from ember.tensor import Tensor

__all__ = ["bilinear", "grouped_mm", "linear"]


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
    if not _same_dtype(input, weight, bias):
        raise RuntimeError(
            mixed_dtypes_message("linear", *(t for t in (input, weight, bias) if t is not None))
        )
    if weight.dim() == 2 and (bias is None or bias.dim() == 1):
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
    if (
        input1.dim() == 0
        or input1.shape[-1] != in1
        or input2.dim() == 0
        or input2.shape[-1] != in2
        or tuple(input1.shape[:-1]) != tuple(input2.shape[:-1])
    ):
        raise RuntimeError(
            f"bilinear: inputs of shapes {list(input1.shape)} and {list(input2.shape)} do not fit "
            f"weight of shape {list(weight.shape)}: expected [..., {in1}] and [..., {in2}] with the "
            "same leading dims"
        )
    if not _same_dtype(input1, input2, weight, bias):
        raise RuntimeError(
            mixed_dtypes_message("bilinear", *(t for t in (input1, input2, weight, bias) if t is not None))
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


def _group_bounds(offs, total: int) -> list:
    """[(start, end), ...] of the groups that the increasing end offsets ``offs`` delimit."""
    ends = [int(e) for e in offs.tolist()]
    decreasing = any(b < a for a, b in itertools.pairwise(ends))
    if decreasing or (ends and (ends[0] < 0 or ends[-1] > total)):
        raise RuntimeError(f"grouped_mm: offs {ends} must increase and stay within {total}")
    return list(zip([0] + ends[:-1], ends))


def grouped_mm(
    mat_a: Tensor, mat_b: Tensor, *, offs: Tensor | None = None, bias: Tensor | None = None, out_dtype=None
) -> Tensor:
    """Matrix products of groups (Mixture-of-Experts): ``offs`` ends the groups of a 2-D operand.

    2-D x 3-D: rows of ``mat_a`` (M, K) by group times ``mat_b[g]`` (K, N) -> (M, N);
    3-D x 3-D: a batched product; 2-D x 2-D: the shared K dim split by group -> (G, M, N);
    3-D x 2-D: ``mat_a[g]`` times the columns of ``mat_b`` in group g -> (M, N). Rows or
    columns past ``offs[-1]`` are zero.

    >>> import ember
    >>> grouped_mm(ember.ones(4, 2), ember.ones(2, 2, 3), offs=ember.tensor([1, 4])).shape
    ember.Size([4, 3])
    """
    if bias is not None:
        raise NotImplementedError("grouped_mm: bias is not supported (nor is it by PyTorch's CPU kernel)")
    dims = (mat_a.dim(), mat_b.dim())
    if dims == (3, 3):
        if offs is not None:
            raise RuntimeError("grouped_mm: offs must be None when both operands are 3-D")
        out = mat_a.matmul(mat_b)
    elif dims in ((2, 3), (2, 2), (3, 2)):
        if offs is None:
            raise RuntimeError(f"grouped_mm: offs is required for {dims[0]}-D x {dims[1]}-D operands")
        out = _jagged_mm(mat_a, mat_b, offs, dims)
    else:
        raise RuntimeError(
            f"grouped_mm: expected 2-D or 3-D operands, got shapes "
            f"{list(mat_a.shape)} and {list(mat_b.shape)}"
        )
    return out if out_dtype is None else out.to(out_dtype)


def _jagged_mm(mat_a: Tensor, mat_b: Tensor, offs: Tensor, dims: tuple) -> Tensor:
    from ember.methods.join import cat, stack

    if dims == (2, 3):  # groups of rows of a
        bounds = _group_bounds(offs, mat_a.shape[0])
        parts = [mat_a[s:e].matmul(mat_b[g]) for g, (s, e) in enumerate(bounds)]
        rest = mat_a.shape[0] - (bounds[-1][1] if bounds else 0)
        parts.append(mat_a.new_zeros((rest, mat_b.shape[-1])))
        return cat(parts, 0)
    if dims == (2, 2):  # the shared dim split into groups
        bounds = _group_bounds(offs, mat_a.shape[1])
        return stack([mat_a[:, s:e].matmul(mat_b[s:e]) for s, e in bounds])
    bounds = _group_bounds(offs, mat_b.shape[1])  # 3-D x 2-D: groups of columns of b
    parts = [mat_a[g].matmul(mat_b[:, s:e]) for g, (s, e) in enumerate(bounds)]
    rest = mat_b.shape[1] - (bounds[-1][1] if bounds else 0)
    parts.append(mat_a.new_zeros((mat_a.shape[1], rest)))
    return cat(parts, 1)
