"""Image transforms with torchvision's names: ``Compose``, ``ToTensor``, ``Normalize``, ``RandomCrop``,
``RandomHorizontalFlip``, ``Lambda``.

Images come as NumPy arrays laid out like PIL images (``H x W`` or ``H x W x C``; PIL images are
read through ``numpy.asarray``) or as ember tensors laid out ``(..., C, H, W)``. Random
transforms draw from ``generator`` (an ``ember.Generator``) or, by default, from ember's global
generator, which every DataLoader worker seeds with ``base_seed + worker_id``: runs are
reproducible under ``ember.manual_seed``. (A transform given its own ``generator`` carries that
generator's state into every worker, so workers then draw the same numbers.) Transforms work
on data, not on the autograd graph: tensors they return are detached.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ember.backend import xp_of
from ember.random import Generator, numpy_generator
from ember.tensor import Tensor, make

__all__ = ["Compose", "Lambda", "Normalize", "RandomCrop", "RandomHorizontalFlip", "ToTensor"]

_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}


def _array_and_axes(img, name: str):
    """The raw array of an image and the indices of its (height, width) axes."""
    if isinstance(img, Tensor):
        if img.ndim < 2:
            raise ValueError(f"{name}: expected a tensor of shape (..., H, W), got shape {list(img.shape)}")
        return img._data, (img.ndim - 2, img.ndim - 1)
    array = np.asarray(img)
    if array.ndim not in (2, 3):
        raise ValueError(
            f"{name}: expected a NumPy image of shape (H, W) or (H, W, C), got shape {array.shape}"
        )
    return array, (0, 1)


def _rewrap(img, array):
    # Tensors get their own contiguous memory (a flip is a negative-stride view); arrays stay views.
    return make(xp_of(array).ascontiguousarray(array)) if isinstance(img, Tensor) else array


def _pair(value, name: str, what: str) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    if isinstance(value, Sequence) and len(value) in (1, 2) and all(isinstance(v, int) for v in value):
        return (value[0], value[0]) if len(value) == 1 else (value[0], value[1])
    raise ValueError(f"{name}: {what} should be an int or a sequence of one or two ints, got {value!r}")


class Compose:
    """Apply transforms one after the other.

    >>> Compose([Lambda(lambda x: x + 1), Lambda(lambda x: x * 2)])(1)
    4
    """

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for transform in self.transforms:
            img = transform(img)
        return img

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"{type(self).__name__}({inner}\n)"


class ToTensor:
    """An ``H x W x C`` (or ``H x W``) image as a ``C x H x W`` tensor; uint8 becomes float32 in [0, 1].

    Other dtypes keep their values and dtype.

    >>> ToTensor()(np.full((2, 3, 3), 255, np.uint8)).shape
    ember.Size([3, 2, 3])
    """

    def __call__(self, pic) -> Tensor:
        if isinstance(pic, Tensor):
            raise TypeError(
                "ToTensor: expected a NumPy array or PIL image of shape (H, W[, C]); got a Tensor, "
                "which needs no conversion"
            )
        array = np.asarray(pic)
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim != 3:
            raise ValueError(
                f"ToTensor: expected an image of shape (H, W) or (H, W, C), got shape {array.shape}"
            )
        chw = np.ascontiguousarray(array.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            chw = chw.astype(np.float32) / np.float32(255)
        return make(chw)

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """``(x - mean) / std`` per channel of a ``(..., C, H, W)`` float tensor.

    >>> import ember
    >>> Normalize([0.5], [0.5])(ember.ones(1, 2, 2)).tolist()
    [[[1.0, 1.0], [1.0, 1.0]]]
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        self.mean = [float(m) for m in np.atleast_1d(mean)]
        self.std = [float(s) for s in np.atleast_1d(std)]
        if len(self.mean) != len(self.std):
            raise ValueError(f"Normalize: mean has {len(self.mean)} values but std has {len(self.std)}")
        if any(s == 0 for s in self.std):
            raise ValueError(
                f"Normalize: std evaluated to zero after conversion ({self.std}), leading to division by zero"
            )
        self.inplace = inplace

    def __call__(self, tensor: Tensor) -> Tensor:
        if not isinstance(tensor, Tensor) or tensor.ndim < 3 or not tensor.is_floating_point():
            got = (
                f"{tensor.dtype} tensor of shape {list(tensor.shape)}"
                if isinstance(tensor, Tensor)
                else type(tensor).__name__
            )
            raise TypeError(
                f"Normalize: expected a float tensor of shape (..., C, H, W) (use ToTensor first), got {got}"
            )
        data = tensor._data
        channels = data.shape[-3]
        if len(self.mean) not in (1, channels):
            raise ValueError(f"Normalize: {len(self.mean)} means/stds for an image with {channels} channels")
        xp = tensor.xp
        mean = xp.asarray(self.mean, dtype=data.dtype).reshape(-1, 1, 1)
        std = xp.asarray(self.std, dtype=data.dtype).reshape(-1, 1, 1)
        if self.inplace:
            data -= mean
            data /= std
            return tensor
        return make((data - mean) / std)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class RandomCrop:
    """Crop a random ``size`` window, after optional ``padding`` of the borders.

    Args:
        size: ``(h, w)`` or an int for a square.
        padding: an int (all sides), ``(left/right, top/bottom)`` or ``(left, top, right, bottom)``.
        pad_if_needed: pad images smaller than ``size`` instead of raising.
        fill: the value for ``padding_mode='constant'``.
        padding_mode: ``'constant'``, ``'edge'``, ``'reflect'`` or ``'symmetric'``.
        generator: an ``ember.Generator`` (default: ember's global generator).

    >>> RandomCrop(2, padding=1)(np.zeros((4, 4, 3), np.uint8)).shape
    (2, 2, 3)
    """

    def __init__(
        self,
        size,
        padding=None,
        pad_if_needed: bool = False,
        fill: float = 0,
        padding_mode: str = "constant",
        generator: Generator | None = None,
    ) -> None:
        self.size = _pair(size, "RandomCrop", "size")
        if padding_mode not in _PAD_MODES:
            raise ValueError(
                f"RandomCrop: padding_mode should be one of {sorted(_PAD_MODES)}, got {padding_mode!r}"
            )
        self.padding = None if padding is None else self._ltrb(padding)
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode
        self.generator = generator

    @staticmethod
    def _ltrb(padding) -> tuple[int, int, int, int]:
        if isinstance(padding, int):
            return padding, padding, padding, padding
        if isinstance(padding, Sequence) and all(isinstance(p, int) for p in padding):
            if len(padding) == 2:
                return padding[0], padding[1], padding[0], padding[1]
            if len(padding) == 4:
                return tuple(padding)
        raise ValueError(
            f"RandomCrop: padding should be an int or a sequence of 2 or 4 ints, got {padding!r}"
        )

    def _pad(self, array, axes, ltrb):
        left, top, right, bottom = ltrb
        widths = [(0, 0)] * array.ndim
        widths[axes[0]], widths[axes[1]] = (top, bottom), (left, right)
        xp = xp_of(array)
        if self.padding_mode != "constant":
            return xp.pad(array, widths, mode=_PAD_MODES[self.padding_mode])
        # Allocate and copy: several times faster than the general np.pad on small images.
        shape = tuple(n + before + after for n, (before, after) in zip(array.shape, widths))
        out = xp.full(shape, self.fill, dtype=array.dtype)
        out[tuple(slice(before, before + n) for n, (before, _) in zip(array.shape, widths))] = array
        return out

    def __call__(self, img):
        array, axes = _array_and_axes(img, "RandomCrop")
        if self.padding is not None:
            array = self._pad(array, axes, self.padding)
        th, tw = self.size
        h, w = array.shape[axes[0]], array.shape[axes[1]]
        if self.pad_if_needed and (h < th or w < tw):
            dh, dw = max(th - h, 0), max(tw - w, 0)
            array = self._pad(array, axes, (dw, dh, dw, dh))
            h, w = array.shape[axes[0]], array.shape[axes[1]]
        if h < th or w < tw:
            raise ValueError(
                f"RandomCrop: crop size {(th, tw)} is larger than the (padded) image size {(h, w)}; "
                "pass padding= or pad_if_needed=True"
            )
        rng = numpy_generator(self.generator)
        top, left = int(rng.integers(0, h - th + 1)), int(rng.integers(0, w - tw + 1))
        index = [slice(None)] * array.ndim
        index[axes[0]], index[axes[1]] = slice(top, top + th), slice(left, left + tw)
        return _rewrap(img, array[tuple(index)])

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror the image left-right with probability ``p``.

    >>> RandomHorizontalFlip(p=1.0)(np.array([[1, 2, 3]])).tolist()
    [[3, 2, 1]]
    """

    def __init__(self, p: float = 0.5, generator: Generator | None = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p should be a probability in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def __call__(self, img):
        if numpy_generator(self.generator).random() >= self.p:
            return img
        array, axes = _array_and_axes(img, "RandomHorizontalFlip")
        index = [slice(None)] * array.ndim
        index[axes[1]] = slice(None, None, -1)
        return _rewrap(img, array[tuple(index)])

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class Lambda:
    """Wrap a function as a transform.

    >>> Lambda(abs)(-3)
    3
    """

    def __init__(self, lambd: Callable) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return "Lambda()"
