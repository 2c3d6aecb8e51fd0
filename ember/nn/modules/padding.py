"""Padding layers: zero, constant, reflection, replication and circular padding in 1, 2, 3-D."""

from __future__ import annotations

from ember.nn import functional as F
from ember.nn._functional.conv import expand_param
from ember.nn.modules.module import Module
from ember.tensor import Tensor

__all__ = [
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
]


def _padding(value, n: int, name: str) -> tuple:
    """An int (the same on every side) or ``2 * n`` ints (left, right, top, bottom)."""
    if isinstance(value, int):
        return (value,) * (2 * n)
    return expand_param(value, 2 * n, "padding", name)


class _PadNd(Module):
    _spatial = 2
    _mode = "constant"

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _padding(padding, self._spatial, type(self).__name__)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with ``value``; ``padding`` is an int or (left, right, top, bottom).

    >>> import ember
    >>> ConstantPad2d(1, 3.5)(ember.ones(1, 2, 2)).shape
    ember.Size([1, 4, 4])
    """


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``; ``padding`` is an int or (left, right).

    >>> import ember
    >>> ConstantPad1d((1, 2), 0.5)(ember.ones(1, 2, 3)).shape
    ember.Size([1, 2, 6])
    """

    _spatial = 1


class ZeroPad2d(_ConstantPadNd):
    """Pad the last two dims with zeros.

    >>> import ember
    >>> ZeroPad2d((1, 1, 2, 0))
    ZeroPad2d((1, 1, 2, 0))
    """

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(ZeroPad2d):
    """Pad the last dim with zeros.

    >>> import ember
    >>> ZeroPad1d(2)(ember.ones(1, 3)).shape
    ember.Size([1, 7])
    """

    _spatial = 1


class ReflectionPad2d(_PadNd):
    """Pad the last two dims by reflecting about the edges (the edge is not repeated).

    >>> import ember
    >>> ReflectionPad2d(1)(ember.ones(1, 1, 3, 3)).shape
    ember.Size([1, 1, 5, 5])
    """

    _mode = "reflect"


class ReflectionPad1d(ReflectionPad2d):
    """Pad the last dim by reflection.

    >>> import ember
    >>> ReflectionPad1d(2)(ember.tensor([[[0., 1., 2., 3.]]]))
    tensor([[[2., 1., 0., 1., 2., 3., 2., 1.]]])
    """

    _spatial = 1


class ReplicationPad2d(_PadNd):
    """Pad the last two dims by repeating the edge values.

    >>> import ember
    >>> ReplicationPad2d((1, 0, 0, 1))(ember.ones(1, 1, 2, 2)).shape
    ember.Size([1, 1, 3, 3])
    """

    _mode = "replicate"


class ReplicationPad1d(ReplicationPad2d):
    """Pad the last dim by repeating the edge values.

    >>> import ember
    >>> ReplicationPad1d(2)(ember.tensor([[[1., 2.]]]))
    tensor([[[1., 1., 1., 2., 2., 2.]]])
    """

    _spatial = 1


class CircularPad2d(_PadNd):
    """Pad the last two dims by wrapping around.

    >>> import ember
    >>> CircularPad2d(1)(ember.ones(1, 1, 2, 2)).shape
    ember.Size([1, 1, 4, 4])
    """

    _mode = "circular"


class CircularPad1d(CircularPad2d):
    """Pad the last dim by wrapping around.

    >>> import ember
    >>> CircularPad1d(1)(ember.tensor([[[1., 2., 3.]]]))
    tensor([[[3., 1., 2., 3., 1.]]])
    """

    _spatial = 1


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dims with a constant ``value``.

    >>> import ember
    >>> ConstantPad3d(1, 3.5)(ember.ones(1, 2, 2, 2)).shape
    ember.Size([1, 4, 4, 4])
    """

    _spatial = 3


class ZeroPad3d(ZeroPad2d):
    """Pad the last three dims with zeros.

    >>> import ember
    >>> ZeroPad3d((1, 0, 0, 0, 0, 2))(ember.ones(1, 2, 2, 2)).shape
    ember.Size([1, 4, 2, 3])
    """

    _spatial = 3


class ReflectionPad3d(ReflectionPad2d):
    """Pad the last three dims by reflection.

    >>> import ember
    >>> ReflectionPad3d(1)(ember.ones(1, 1, 3, 3, 3)).shape
    ember.Size([1, 1, 5, 5, 5])
    """

    _spatial = 3


class ReplicationPad3d(ReplicationPad2d):
    """Pad the last three dims by repeating the edge values.

    >>> import ember
    >>> ReplicationPad3d(1)(ember.ones(1, 1, 2, 2, 2)).shape
    ember.Size([1, 1, 4, 4, 4])
    """

    _spatial = 3


class CircularPad3d(CircularPad2d):
    """Pad the last three dims by wrapping around.

    >>> import ember
    >>> CircularPad3d(1)(ember.ones(1, 1, 2, 2, 2)).shape
    ember.Size([1, 1, 4, 4, 4])
    """

    _spatial = 3
