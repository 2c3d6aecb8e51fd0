"""nn.functional: ``conv1d/2d/3d``, ``conv_transpose1d/2d/3d`` and ``conv_tbc``.

All run on the N-D primitives of ``ember.ops.conv``; the 1-D forms add a unit height.
"""

from __future__ import annotations

from ember.amp.autocast_mode import autocast_to
from ember.ops.conv import Conv2d, Conv2dInputGrad, ConvGeometry
from ember.tensor import Tensor

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_tbc",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
]


def expand_param(value, n: int, name: str, op: str) -> tuple:
    """An int or a length-``n`` sequence of ints as an ``n``-tuple (PyTorch's ``_pair``)."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1 and n > 1:
            value = tuple(value) * n
        if len(value) != n or not all(isinstance(v, int) for v in value):
            raise ValueError(f"{op}: {name} must be an int or a sequence of {n} ints, got {value!r}")
        return tuple(int(v) for v in value)
    if not isinstance(value, int):
        raise TypeError(f"{op}: {name} must be an int or a sequence of {n} ints, got {value!r}")
    return (int(value),) * n


def same_padding(kernel: tuple, dilation: tuple) -> list:
    """``[(before, after), ...]`` per spatial dim for padding='same' (extra on the after side)."""
    pads = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return pads


def _check_input(op: str, input: Tensor, weight: Tensor, spatial: int, layout: str) -> bool:
    """Validate ranks; returns whether the input is unbatched (one dim fewer)."""
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(
            f"{op}: input and weight must be Tensors, got {type(input).__name__} and {type(weight).__name__}"
        )
    if input.dim() not in (spatial + 1, spatial + 2):
        raise RuntimeError(
            f"{op}: expected input with {spatial + 2} dims ({layout}) or {spatial + 1} dims "
            f"(unbatched), got shape {list(input.shape)}"
        )
    if weight.dim() != spatial + 2:
        raise RuntimeError(f"{op}: expected weight with {spatial + 2} dims, got shape {list(weight.shape)}")
    if input.dtype != weight.dtype:
        raise RuntimeError(
            f"{op}: input ({input.dtype}) and weight ({weight.dtype}) must have the same dtype; "
            "convert one with .to(other.dtype)"
        )
    return input.dim() == spatial + 1


def _check_bias(op: str, bias, channels: int, weight: Tensor) -> None:
    if bias is None:
        return
    if bias.dim() != 1 or bias.shape[0] != channels:
        raise RuntimeError(f"{op}: expected bias of shape [{channels}], got {list(bias.shape)}")
    if bias.dtype != weight.dtype:
        raise RuntimeError(f"{op}: bias ({bias.dtype}) and weight ({weight.dtype}) must have the same dtype")


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation of (N, C, H, W) with weight (O, C/groups, kh, kw), as PyTorch.

    ``padding`` is an int, a pair, ``'valid'`` (none) or ``'same'`` (output size = input size,
    stride 1 only).

    >>> import ember
    >>> conv2d(ember.ones(1, 2, 5, 5), ember.ones(3, 2, 3, 3), padding=1).shape
    ember.Size([1, 3, 5, 5])
    """
    unbatched = _check_input("conv2d", input, weight, 2, "N, C, H, W")
    if unbatched:
        input = input.unsqueeze(0)
    out = _conv2d(input, weight, bias, stride, padding, dilation, groups, "conv2d")
    return out.squeeze(0) if unbatched else out


def _conv2d(input: Tensor, weight: Tensor, bias, stride, padding, dilation, groups: int, op: str) -> Tensor:
    n = weight.dim() - 2
    stride = expand_param(stride, n, "stride", op)
    dilation = expand_param(dilation, n, "dilation", op)
    kernel = tuple(weight.shape[2:])
    out_channels, in_per_group = weight.shape[:2]
    if groups < 1 or out_channels % groups:
        raise RuntimeError(
            f"{op}: groups={groups} must be positive and divide out_channels "
            f"(weight of shape {list(weight.shape)})"
        )
    if input.shape[1] != in_per_group * groups:
        raise RuntimeError(
            f"{op}: input of shape {list(input.shape)} has {input.shape[1]} channels, but weight "
            f"of shape {list(weight.shape)} with groups={groups} expects in_channels = "
            f"{in_per_group} * {groups} = {in_per_group * groups}"
        )
    _check_bias(op, bias, out_channels, weight)
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * n
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
            pads = same_padding(kernel, dilation)
            if any(a != b for a, b in pads):
                from ember.nn._functional.padding import pad

                input = pad(input, [p for a, b in reversed(pads) for p in (0, b - a)])
            padding = tuple(a for a, _ in pads)
        else:
            raise ValueError(f"{op}: invalid padding string {padding!r}, expected 'valid' or 'same'")
    padding = expand_param(padding, n, "padding", op)
    in_hw = tuple(input.shape[2:])
    geo = ConvGeometry(stride, padding, dilation, groups, kernel, in_hw)
    if min(geo.out_hw) < 1 or any(p < 0 for p in padding):
        effective = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
        raise RuntimeError(
            f"{op}: input of shape {list(input.shape)} padded by {list(padding)} is smaller than "
            f"the (dilated) kernel {list(effective)}; computed output size {list(geo.out_hw)}"
        )
    return Conv2d.apply(input, weight, bias, geo)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation of (N, C, L) with weight (O, C/groups, k): conv2d with unit height.

    >>> import ember
    >>> conv1d(ember.ones(2, 4, 10), ember.ones(6, 4, 3), stride=2).shape
    ember.Size([2, 6, 4])
    """
    unbatched = _check_input("conv1d", input, weight, 1, "N, C, L")
    if unbatched:
        input = input.unsqueeze(0)
    if not isinstance(padding, str):
        padding = (0,) + expand_param(padding, 1, "padding", "conv1d")
    out = _conv2d(
        input.unsqueeze(2),
        weight.unsqueeze(2),
        bias,
        (1,) + expand_param(stride, 1, "stride", "conv1d"),
        padding,
        (1,) + expand_param(dilation, 1, "dilation", "conv1d"),
        groups,
        "conv1d",
    )
    out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def transposed_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int, output_padding: int
) -> int:
    """Output length of a transposed convolution."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def _conv_transpose2d(
    input: Tensor, weight: Tensor, bias, stride, padding, output_padding, groups: int, dilation, op: str
) -> Tensor:
    n = weight.dim() - 2
    stride = expand_param(stride, n, "stride", op)
    padding = expand_param(padding, n, "padding", op)
    output_padding = expand_param(output_padding, n, "output_padding", op)
    dilation = expand_param(dilation, n, "dilation", op)
    in_channels, out_per_group = weight.shape[:2]
    if groups < 1 or in_channels % groups:
        raise RuntimeError(
            f"{op}: groups={groups} must be positive and divide in_channels "
            f"(weight of shape {list(weight.shape)})"
        )
    if input.shape[1] != in_channels:
        raise RuntimeError(
            f"{op}: input of shape {list(input.shape)} has {input.shape[1]} channels, but weight "
            f"of shape {list(weight.shape)} expects in_channels = {in_channels} (the weight is "
            "[in_channels, out_channels / groups, kh, kw])"
        )
    _check_bias(op, bias, out_per_group * groups, weight)
    for o, s, d in zip(output_padding, stride, dilation):
        if o < 0 or (o >= s and o >= d):
            raise RuntimeError(
                f"{op}: output_padding {list(output_padding)} must be smaller than either stride "
                f"{list(stride)} or dilation {list(dilation)}"
            )
    kernel = tuple(weight.shape[2:])
    in_hw = tuple(input.shape[2:])
    out_hw = tuple(
        transposed_size(in_hw[i], kernel[i], stride[i], padding[i], dilation[i], output_padding[i])
        for i in range(n)
    )
    if min(out_hw) < 1:
        raise RuntimeError(
            f"{op}: input of shape {list(input.shape)} gives a non-positive output "
            f"size {list(out_hw)}; reduce padding {list(padding)}"
        )
    geo = ConvGeometry(stride, padding, dilation, groups, kernel, out_hw, out_hw=in_hw)
    out = Conv2dInputGrad.apply(input, weight, geo, out_per_group * groups)
    return out if bias is None else out + bias.reshape((1, -1) + (1,) * n)


@autocast_to("lower")
def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """2-D transposed convolution, weight (C_in, C_out/groups, kh, kw): the adjoint of conv2d.

    >>> import ember
    >>> conv_transpose2d(ember.ones(1, 4, 5, 5), ember.ones(4, 2, 3, 3), stride=2).shape
    ember.Size([1, 2, 11, 11])
    """
    unbatched = _check_input("conv_transpose2d", input, weight, 2, "N, C, H, W")
    if unbatched:
        input = input.unsqueeze(0)
    out = _conv_transpose2d(
        input, weight, bias, stride, padding, output_padding, groups, dilation, "conv_transpose2d"
    )
    return out.squeeze(0) if unbatched else out


@autocast_to("lower")
def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """1-D transposed convolution, weight (C_in, C_out/groups, k).

    >>> import ember
    >>> conv_transpose1d(ember.ones(1, 4, 5), ember.ones(4, 2, 3), stride=2).shape
    ember.Size([1, 2, 11])
    """
    op = "conv_transpose1d"
    unbatched = _check_input(op, input, weight, 1, "N, C, L")
    if unbatched:
        input = input.unsqueeze(0)

    def lift(value, name, fill):
        return (fill,) + expand_param(value, 1, name, op)

    out = _conv_transpose2d(
        input.unsqueeze(2),
        weight.unsqueeze(2),
        bias,
        lift(stride, "stride", 1),
        lift(padding, "padding", 0),
        lift(output_padding, "output_padding", 0),
        groups,
        lift(dilation, "dilation", 1),
        op,
    )
    out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """3-D cross-correlation of (N, C, D, H, W) with weight (O, C/groups, kd, kh, kw).

    >>> import ember
    >>> conv3d(ember.ones(1, 2, 4, 5, 5), ember.ones(3, 2, 3, 3, 3), padding=1).shape
    ember.Size([1, 3, 4, 5, 5])
    """
    unbatched = _check_input("conv3d", input, weight, 3, "N, C, D, H, W")
    if unbatched:
        input = input.unsqueeze(0)
    out = _conv2d(input, weight, bias, stride, padding, dilation, groups, "conv3d")
    return out.squeeze(0) if unbatched else out


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """3-D transposed convolution, weight (C_in, C_out/groups, kd, kh, kw).

    >>> import ember
    >>> conv_transpose3d(ember.ones(1, 4, 3, 3, 3), ember.ones(4, 2, 2, 2, 2), stride=2).shape
    ember.Size([1, 2, 6, 6, 6])
    """
    unbatched = _check_input("conv_transpose3d", input, weight, 3, "N, C, D, H, W")
    if unbatched:
        input = input.unsqueeze(0)
    out = _conv_transpose2d(
        input, weight, bias, stride, padding, output_padding, groups, dilation, "conv_transpose3d"
    )
    return out.squeeze(0) if unbatched else out


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    """1-D convolution in (time, batch, channel) layout, weight (k, C_in, C_out), bias (C_out,).

    >>> import ember
    >>> conv_tbc(ember.ones(5, 2, 3), ember.ones(3, 3, 4), ember.zeros(4), 1).shape
    ember.Size([5, 2, 4])
    """
    if input.dim() != 3 or weight.dim() != 3 or bias.dim() != 1:
        raise RuntimeError(
            f"conv_tbc: expected input (T, B, C_in), weight (k, C_in, C_out) and "
            f"bias (C_out,), got {list(input.shape)}, {list(weight.shape)} and "
            f"{list(bias.shape)}"
        )
    out = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)
