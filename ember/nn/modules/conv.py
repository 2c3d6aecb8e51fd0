"""Convolution layers: ``Conv1d/2d/3d``, ``ConvTranspose1d/2d/3d`` (lazy forms: ``lazy.py``)."""

from __future__ import annotations

import math

from ember import creation
from ember.nn import functional as F
from ember.nn import init
from ember.nn._functional.conv import expand_param, same_padding, transposed_size
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.tensor import Tensor

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared constructor, initialisation and repr of the convolution layers."""

    _spatial = 2
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        output_padding=0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        name, n = type(self).__name__, self._spatial
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"{name}: padding_mode must be one of {list(_PADDING_MODES)}, got {padding_mode!r}"
            )
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f"{name}: only 'zeros' padding mode is supported, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = expand_param(kernel_size, n, "kernel_size", name)
        self.stride = expand_param(stride, n, "stride", name)
        self.dilation = expand_param(dilation, n, "dilation", name)
        self.output_padding = expand_param(output_padding, n, "output_padding", name)
        self.padding_mode = padding_mode
        self.transposed = self._transposed
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, expected 'same' or 'valid'")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding = padding
            pairs = same_padding(self.kernel_size, self.dilation) if padding == "same" else [(0, 0)] * n
        else:
            self.padding = expand_param(padding, n, "padding", name)
            pairs = [(p, p) for p in self.padding]
        self._reversed_padding_repeated_twice = [p for pair in reversed(pairs) for p in pair]
        shape = (
            (in_channels, out_channels // groups)
            if self._transposed
            else (out_channels, in_channels // groups)
        ) + self.kernel_size
        self.weight = Parameter(creation.empty(shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _padded(self, input: Tensor) -> Tensor:
        """The input padded by ``padding_mode`` when that is not zeros (then conv pads nothing)."""
        return F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)

    def _conv_padding(self):
        return self.padding if self.padding_mode == "zeros" else 0

    def extra_repr(self) -> str:
        n = self._spatial
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W), weight (C_out, C_in/groups, kh, kw).

    ``padding_mode`` is ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.

    >>> import ember
    >>> conv = Conv2d(3, 8, 3, padding=1)
    >>> conv
    Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    >>> conv(ember.ones(2, 3, 6, 6)).shape
    ember.Size([2, 8, 6, 6])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device=device,
            dtype=dtype,
        )

    def forward(self, input: Tensor) -> Tensor:
        x = input if self.padding_mode == "zeros" else self._padded(input)
        return F.conv2d(
            x, self.weight, self.bias, self.stride, self._conv_padding(), self.dilation, self.groups
        )


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L), weight (C_out, C_in/groups, k).

    >>> import ember
    >>> Conv1d(4, 2, 3)(ember.ones(1, 4, 10)).shape
    ember.Size([1, 2, 8])
    """

    _spatial = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device=device,
            dtype=dtype,
        )

    def forward(self, input: Tensor) -> Tensor:
        x = input if self.padding_mode == "zeros" else self._padded(input)
        return F.conv1d(
            x, self.weight, self.bias, self.stride, self._conv_padding(), self.dilation, self.groups
        )


class Conv3d(_ConvNd):
    """3-D convolution over (N, C_in, D, H, W), weight (C_out, C_in/groups, kd, kh, kw).

    >>> import ember
    >>> Conv3d(2, 4, 3, padding=1)(ember.ones(1, 2, 4, 4, 4)).shape
    ember.Size([1, 4, 4, 4, 4])
    """

    _spatial = 3

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device=device,
            dtype=dtype,
        )

    def forward(self, input: Tensor) -> Tensor:
        x = input if self.padding_mode == "zeros" else self._padded(input)
        return F.conv3d(
            x, self.weight, self.bias, self.stride, self._conv_padding(), self.dilation, self.groups
        )


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        if isinstance(padding, str):
            # ValueError, not TypeError: what PyTorch raises here
            raise ValueError(f"{type(self).__name__}: padding must be ints, not {padding!r}")  # noqa: TRY004
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            output_padding,
            device=device,
            dtype=dtype,
        )

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """``output_padding``, or what makes the output ``output_size`` (PyTorch's rule)."""
        if output_size is None:
            return self.output_padding
        n, name = self._spatial, type(self).__name__
        sizes = tuple(int(s) for s in output_size)
        if len(sizes) in (n + 1, n + 2):
            sizes = sizes[-n:]
        if len(sizes) != n:
            raise ValueError(f"{name}: output_size must have {n} or {n + 2} elements (got {len(sizes)})")
        result = []
        for i in range(n):
            smallest = transposed_size(
                input.shape[-n + i], self.kernel_size[i], self.stride[i], self.padding[i], self.dilation[i], 0
            )
            largest = smallest + self.stride[i] - 1
            if not smallest <= sizes[i] <= largest:
                raise ValueError(
                    f"{name}: requested an output size of {list(sizes)}, but valid sizes range from "
                    f"{smallest} to {largest} along dim {i} (for an input of shape {list(input.shape)})"
                )
            result.append(sizes[i] - smallest)
        return tuple(result)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution, weight (C_in, C_out/groups, kh, kw); ``output_size`` in forward.

    >>> import ember
    >>> up = ConvTranspose2d(4, 2, 3, stride=2, padding=1)
    >>> up(ember.ones(1, 4, 5, 5), output_size=[10, 10]).shape
    ember.Size([1, 2, 10, 10])
    """

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        return F.conv_transpose2d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(input, output_size),
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution, weight (C_in, C_out/groups, k).

    >>> import ember
    >>> ConvTranspose1d(4, 2, 3, stride=2)(ember.ones(1, 4, 5)).shape
    ember.Size([1, 2, 11])
    """

    _spatial = 1

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        return F.conv_transpose1d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(input, output_size),
            self.groups,
            self.dilation,
        )


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution, weight (C_in, C_out/groups, kd, kh, kw).

    >>> import ember
    >>> ConvTranspose3d(4, 2, 2, stride=2)(ember.ones(1, 4, 3, 3, 3)).shape
    ember.Size([1, 2, 6, 6, 6])
    """

    _spatial = 3

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        output_padding = self._output_padding(input, output_size)
        return F.conv_transpose3d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
        )
