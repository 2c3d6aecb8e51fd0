"""MNIST and Fashion-MNIST from the IDX files a user already has (raw or ``.gz``); no download.

Files are looked up in ``root/<Name>/raw/`` (torchvision's layout), then ``root/<Name>/``, then
``root/``, where ``<Name>`` is ``MNIST`` or ``FashionMNIST``:

    train-images-idx3-ubyte  train-labels-idx1-ubyte  t10k-images-idx3-ubyte  t10k-labels-idx1-ubyte
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from ember.creation import from_numpy
from ember.datasets._common import CorruptFileError, VisionDataset, find_file, no_download, read_bytes

__all__ = ["MNIST", "FashionMNIST", "read_idx"]

_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str) -> np.ndarray:
    """Read an IDX file (raw, or gzip-compressed when the name ends in ``.gz``) into a NumPy array.

    Raises ``CorruptFileError`` naming the file when its header or length is wrong.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x-idx1-ubyte")
    >>> _ = open(path, "wb").write(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]))
    >>> read_idx(path).tolist()
    [7, 9]
    """
    raw = read_bytes(path)
    if len(raw) < 4:
        raise CorruptFileError(f"{path}: too short for an IDX header ({len(raw)} bytes, need at least 4)")
    if raw[0] != 0 or raw[1] != 0:
        raise CorruptFileError(
            f"{path}: bad magic number 0x{raw[:4].hex()}; an IDX file starts with two zero bytes, a type "
            "code and the number of dimensions (is this an IDX file?)"
        )
    dtype = _IDX_TYPES.get(raw[2])
    if dtype is None:
        known = ", ".join(f"0x{code:02X}" for code in _IDX_TYPES)
        raise CorruptFileError(f"{path}: unknown IDX data type code 0x{raw[2]:02X}; expected one of {known}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CorruptFileError(
            f"{path}: truncated header: {ndim} dimensions need {header} bytes, file has {len(raw)}"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(raw) - header
    if actual < expected:
        raise CorruptFileError(
            f"{path}: truncated: the header promises shape {shape} ({expected} bytes of data) but the file "
            f"holds {actual} bytes after the header"
        )
    if actual > expected:
        raise CorruptFileError(
            f"{path}: {actual - expected} unexpected bytes after the data of shape {shape}"
        )
    array = np.frombuffer(raw, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return array.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


class MNIST(VisionDataset):
    """Handwritten digits, 28x28 grayscale: 60,000 training and 10,000 test images.

    Args:
        root: directory holding the IDX files (see the module docstring for the layout).
        train: the training files (``train-*``) or the test files (``t10k-*``).
        transform: applied to each image, a ``28 x 28`` uint8 NumPy array (e.g. ``ToTensor()``).
        target_transform: applied to each label (an int).
        download: must stay False; ember never downloads (the error says where the files go).

    ``data`` (uint8, ``N x 28 x 28``) and ``targets`` (int64) are ember tensors, as in torchvision.

    >>> MNIST("/nonexistent", download=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ember.datasets._common.DownloadUnavailableError: MNIST: download=True is not supported: ...
    """

    classes: ClassVar = [
        "0 - zero",
        "1 - one",
        "2 - two",
        "3 - three",
        "4 - four",
        "5 - five",
        "6 - six",
        "7 - seven",
        "8 - eight",
        "9 - nine",
    ]
    _FILES: ClassVar = {
        True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }

    def __init__(
        self,
        root: str,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ) -> None:
        super().__init__(root, transform, target_transform)
        self.train = train
        name = type(self).__name__
        if download:
            raise no_download(name, self.raw_folder, self._FILES[True] + self._FILES[False], allow_gz=True)
        image_file, label_file = self._FILES[bool(train)]
        image_path = find_file(name, self._candidates(), image_file, allow_gz=True)
        label_path = find_file(name, self._candidates(), label_file, allow_gz=True)
        images, labels = read_idx(image_path), read_idx(label_path)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise CorruptFileError(
                f"{image_path}: expected uint8 images of shape (N, H, W), got {images.dtype} "
                f"of shape {images.shape}"
            )
        if labels.ndim != 1:
            raise CorruptFileError(f"{label_path}: expected labels of shape (N,), got shape {labels.shape}")
        if len(images) != len(labels):
            raise CorruptFileError(
                f"{image_path} holds {len(images)} images but {label_path} holds "
                f"{len(labels)} labels; they must match"
            )
        if labels.size and (labels.min() < 0 or labels.max() >= len(self.classes)):
            raise CorruptFileError(
                f"{label_path}: labels must lie in [0, {len(self.classes) - 1}], found "
                f"{labels.min()}..{labels.max()}"
            )
        self.data = from_numpy(images)
        self.targets = from_numpy(labels.astype(np.int64))

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    def _candidates(self) -> list[str]:
        return [self.raw_folder, os.path.join(self.root, type(self).__name__), self.root]

    def __getitem__(self, index: int) -> tuple:
        return self._apply(self.data._data[index], int(self.targets._data[index]))

    def __len__(self) -> int:
        return len(self.targets._data)

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: the same IDX layout as MNIST, clothes instead of digits.

    Files go in ``root/FashionMNIST/raw/`` (or ``root/FashionMNIST/`` or ``root/``).
    """

    classes: ClassVar = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
