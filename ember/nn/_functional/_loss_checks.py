"""Argument checks and small helpers shared by the loss functions in ``loss.py``."""

from __future__ import annotations

import math

from ember.tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")


def _resolve_reduction(op: str, size_average, reduce, reduction: str, extra: tuple = ()) -> str:
    """``reduction``, or the legacy ``size_average``/``reduce`` pair translated as PyTorch does."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = ("mean" if size_average else "sum") if reduce else "none"
    if reduction not in _REDUCTIONS + extra:
        valid = ", ".join(repr(r) for r in _REDUCTIONS + extra)
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction; use one of {valid}")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_same_shape(op: str, input: Tensor, target: Tensor) -> None:
    """Refuse differing shapes (PyTorch warns and broadcasts), naming the reshape meant."""
    a, b = list(input.shape), list(target.shape)
    if a == b:
        return
    message = f"{op}: input shape {a} and target shape {b} differ"
    try:
        message += f"; this would broadcast to {list(_broadcast_shape(a, b))}"
    except ValueError:
        message += " and do not broadcast"
    raise ValueError(f"{message}. {_reshape_hint(a, b)}")


def _broadcast_shape(a: list, b: list) -> tuple:
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and 1 not in (x, y):
            raise ValueError("not broadcastable")
        out.append(max(x, y) if 0 not in (x, y) else 0)
    return tuple(reversed(out))


def _view_args(shape: list) -> str:
    return ", ".join(["-1"] + [str(s) for s in shape[1:]]) if shape else ""


def _reshape_hint(a: list, b: list) -> str:
    """Which reshape makes input shape ``a`` and target shape ``b`` agree."""
    extra_in = [i for i, s in enumerate(a) if s == 1]
    if [s for s in a if s != 1] == [s for s in b if s != 1] and len(a) == len(b) + 1:
        dim = next(i for i in extra_in if a[:i] + a[i + 1 :] == b)
        return f"Use target.view({_view_args(a)}) or input.squeeze({dim})"
    if len(b) == len(a) + 1 and any(b[:i] + b[i + 1 :] == a for i in range(len(b)) if b[i] == 1):
        dim = next(i for i in range(len(b)) if b[i] == 1 and b[:i] + b[i + 1 :] == a)
        return f"Use target.squeeze({dim}) or input.view({_view_args(b)})"
    if math.prod(a) == math.prod(b):
        return "Use target.view_as(input) if the elements correspond one to one"
    return "Give input and target the same shape"


def _check_weight_shape(op: str, input: Tensor, weight) -> None:
    if weight is not None and weight.shape != input.shape:
        raise ValueError(
            f"{op}: weight shape {list(weight.shape)} must equal the input shape {list(input.shape)}"
        )


def _check_require_float(op: str, input: Tensor) -> None:
    if not input.is_floating_point():
        raise TypeError(
            f"{op}: expected a floating point input, got {input.dtype} with shape "
            f"{list(input.shape)}; call .float() first"
        )


def _check_float_target(op: str, target: Tensor) -> None:
    if not target.is_floating_point():
        raise TypeError(
            f"{op}: expected a floating point target (probabilities in [0, 1]), got {target.dtype} "
            f"with shape {list(target.shape)}; use target.float()"
        )


def _same_dtype(input: Tensor, target: Tensor) -> tuple:
    return input, target._cast(input._data.dtype)


def _check_unit_interval(op: str, input: Tensor) -> None:
    data = input._data
    if data.size and bool(((data < 0) | (data > 1)).any()):
        raise RuntimeError(
            f"{op}: all elements of input should be between 0 and 1 (input shape "
            f"{list(input.shape)}); for logits use binary_cross_entropy_with_logits"
        )


def _check_same_dims(op: str, *tensors: Tensor) -> None:
    if len({t.dim() for t in tensors}) > 1:
        shapes = ", ".join(str(list(t.shape)) for t in tensors)
        raise RuntimeError(f"{op}: all inputs should have the same number of dims, got shapes {shapes}")


def _check_cosine_shapes(input1: Tensor, input2: Tensor, target: Tensor) -> None:
    if (
        input1.shape != input2.shape
        or input1.dim() not in (1, 2)
        or tuple(target.shape) != tuple(input1.shape[:-1])
    ):
        raise RuntimeError(
            f"cosine_embedding_loss: expected inputs of one shape [N, D] or [D] and a target of "
            f"shape [N] or [], got {list(input1.shape)}, {list(input2.shape)} and "
            f"{list(target.shape)}"
        )


def _is_probability_target(op: str, input: Tensor, target: Tensor) -> bool:
    """True for a floating target of the input's shape; a floating target of another shape is an error."""
    if not target.is_floating_point():
        return False
    if target.shape == input.shape:
        return True
    raise TypeError(
        f"{op}: target of dtype {target.dtype} with shape {list(target.shape)}: class indices must "
        f"be integer (use target.long()), class probabilities must have the input's shape "
        f"{list(input.shape)}"
    )


def _check_class_targets(
    op: str, input: Tensor, target: Tensor, ignore_index, weight, class_dim: int | None = None
) -> None:
    """Class-index targets: integer dtype, the input's shape without the class dim, in range."""
    if input.dim() == 0:
        raise ValueError(f"{op}: expected an input with a class dim, got a 0-d tensor")
    if class_dim is None:
        class_dim = 1 if input.dim() >= 2 else 0
    if target.dtype.is_floating_point or target._data.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: class-index targets must be an integer tensor (int64), got {target.dtype} with "
            f"shape {list(target.shape)}; use target.long()"
        )
    shape = list(input.shape)
    num_classes = shape.pop(class_dim)
    if list(target.shape) != shape:
        raise ValueError(
            f"{op}: expected a target of shape {shape} for input of shape {list(input.shape)} "
            f"(class dim {class_dim} of size {num_classes}), got target shape {list(target.shape)}"
        )
    if weight is not None and tuple(weight.shape) != (num_classes,):
        raise ValueError(f"{op}: weight should have shape [{num_classes}], got {list(weight.shape)}")
    values = target._data
    if values.size and not _within(values, num_classes):
        _raise_out_of_range(op, target.xp, values, num_classes, ignore_index)


def _within(values, num_classes: int) -> bool:
    """Whether every class index lies in 0..num_classes-1 (a single one read as a number)."""
    if values.size == 1:
        return 0 <= int(values.reshape(-1)[0]) < num_classes
    return bool(values.min() >= 0) and bool(values.max() < num_classes)


def _raise_out_of_range(op: str, xp, values, num_classes: int, ignore_index) -> None:
    """Raise for the first target outside the classes that is not ``ignore_index``, if any."""
    bad = (values < 0) | (values >= num_classes)
    if ignore_index is not None:
        bad &= values != ignore_index
    if bool(bad.any()):
        where = [int(i) for i in xp.argwhere(bad)[0]]
        position = where[0] if len(where) == 1 else tuple(where)
        at = f" at position {position}" if where else ""
        ignoring = f", or ignore_index={ignore_index}" if ignore_index is not None else ""
        raise IndexError(
            f"{op}: target {int(values[tuple(where)])}{at} is out of range for {num_classes} "
            f"classes (valid: 0..{num_classes - 1}{ignoring})"
        )


def _check_multilabel_targets(op: str, input: Tensor, target: Tensor) -> None:
    if target._data.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must be an integer tensor (int64), got {target.dtype}")
    if input.dim() not in (1, 2) or target.shape != input.shape:
        raise ValueError(
            f"{op}: expected input [N, C] or [C] and a target of the same shape, got "
            f"{list(input.shape)} and {list(target.shape)}"
        )
    values, num_classes = target._data, input.shape[-1]
    if values.size and bool(((values < -1) | (values >= num_classes)).any()):
        raise IndexError(f"{op}: target values must be class indices in 0..{num_classes - 1} padded with -1")


def _gaussian_var(input: Tensor, var) -> Tensor:
    """``var`` as a Tensor that broadcasts against ``input`` (PyTorch's homoscedastic rules)."""
    op = "gaussian_nll_loss"
    if not isinstance(var, Tensor):
        if var < 0:
            raise ValueError(f"{op}: var has negative entry/entries ({var})")
        return input.new_full(input.shape, float(var))
    if var._data.size and bool((var._data < 0).any()):
        raise ValueError(f"{op}: var has negative entry/entries")
    if var.shape == input.shape:
        return var
    if tuple(var.shape) == tuple(input.shape[:-1]):
        return var.unsqueeze(-1)
    if var.dim() == input.dim() and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1:
        return var
    raise ValueError(
        f"{op}: var is of incorrect size {list(var.shape)} for input {list(input.shape)}: it must "
        "match the input, lack its last dim, or differ from it in one dim of size 1"
    )


def _lengths(xp, lengths, batch: int, what: str):
    values = lengths._data if isinstance(lengths, Tensor) else xp.asarray(list(lengths))
    values = xp.asarray(values).reshape(-1)
    if values.dtype.kind not in "iu" or values.shape[0] != batch:
        raise ValueError(
            f"ctc_loss: {what} must be {batch} integers (one per sample), got {values.dtype} "
            f"with shape {list(values.shape)}"
        )
    return values.astype(xp.int64)


def _ctc_inputs(lp: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int, batched: bool):
    """Padded (N, S) targets and the two length arrays, checked against ``lp`` (T, N, C)."""
    xp = lp.xp
    steps, batch, classes = lp.shape
    if targets._data.dtype.kind not in "iu":
        raise TypeError(f"ctc_loss: targets must be integer, got {targets.dtype}; use targets.long()")
    if not 0 <= blank < classes:
        raise ValueError(f"ctc_loss: blank {blank} is out of range for {classes} classes")
    in_lens = _lengths(xp, input_lengths, batch, "input_lengths")
    tgt_lens = _lengths(xp, target_lengths, batch, "target_lengths")
    if bool((in_lens > steps).any()) or bool((in_lens < 0).any()):
        raise ValueError(f"ctc_loss: input_lengths {in_lens.tolist()} must lie in 0..{steps}")
    data = targets._data.astype(xp.int64)
    if not batched:
        data = data.reshape(1, -1)
    if data.ndim == 1:  # concatenated targets
        if int(tgt_lens.sum()) != data.shape[0]:
            raise ValueError(
                f"ctc_loss: concatenated targets have {data.shape[0]} entries but target_lengths "
                f"sum to {int(tgt_lens.sum())}"
            )
        width = int(tgt_lens.max()) if batch else 0
        starts = xp.cumsum(tgt_lens) - tgt_lens
        column = xp.arange(width)[None, :]
        inside = column < tgt_lens[:, None]
        picked = xp.where(inside, starts[:, None] + column, 0)
        data = xp.where(inside, data[picked] if data.size else 0, blank)
    elif bool((tgt_lens > data.shape[1]).any()):
        raise ValueError(
            f"ctc_loss: target_lengths {tgt_lens.tolist()} exceed the padded targets' width {data.shape[1]}"
        )
    used = xp.arange(data.shape[1])[None, :] < tgt_lens[:, None]
    bad = used & ((data < 0) | (data >= classes) | (data == blank))
    if bool(bad.any()):
        n, s = (int(i) for i in xp.argwhere(bad)[0])
        raise IndexError(
            f"ctc_loss: target {int(data[n, s])} at position ({n}, {s}) must be a class in "
            f"0..{classes - 1} other than blank={blank}"
        )
    return data, in_lens, tgt_lens
