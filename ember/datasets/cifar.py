"""CIFAR-10 and CIFAR-100 from the binary-version batches a user already has; no download.

CIFAR-10 (``cifar-10-binary.tar.gz``, extracted): ``root/cifar-10-batches-bin/`` holds
``data_batch_1.bin`` .. ``data_batch_5.bin`` and ``test_batch.bin``; each record is one label byte
and 3072 pixel bytes (1024 red, 1024 green, 1024 blue, rows of 32). CIFAR-100
(``cifar-100-binary.tar.gz``): ``root/cifar-100-binary/`` holds ``train.bin`` and ``test.bin``;
each record is a coarse label byte, a fine label byte and 3072 pixel bytes. Files may also sit
directly in ``root``. The Python-pickle version is not read: loading a dataset never unpickles.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from ember.datasets._common import CorruptFileError, VisionDataset, find_file, no_download, read_bytes

__all__ = ["CIFAR10", "CIFAR100", "read_cifar_batch"]

_PIXELS = 3 * 32 * 32


def read_cifar_batch(
    path: str, label_bytes: int, num_classes: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Images (``N x 32 x 32 x 3`` uint8) and labels (``N x label_bytes``) of one binary batch file.

    Raises ``CorruptFileError`` naming the file when its length or labels are wrong.
    """
    raw = read_bytes(path)
    record = label_bytes + _PIXELS
    if len(raw) == 0 or len(raw) % record:
        raise CorruptFileError(
            f"{path}: truncated or not a CIFAR binary batch: {len(raw)} bytes is not a positive multiple "
            f"of the {record}-byte record ({label_bytes} label byte(s) + {_PIXELS} pixel bytes)"
        )
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(-1, record)
    labels = rows[:, :label_bytes].astype(np.int64)
    for column, limit in enumerate(num_classes):
        bad = np.flatnonzero(labels[:, column] >= limit)
        if bad.size:
            raise CorruptFileError(
                f"{path}: record {bad[0]} has label {labels[bad[0], column]} in label byte {column}; labels "
                f"must lie in [0, {limit - 1}] (is this the right CIFAR version?)"
            )
    images = rows[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


class CIFAR10(VisionDataset):
    """Tiny 32x32 colour images in 10 classes: 50,000 training and 10,000 test images.

    Args:
        root: the directory that holds ``cifar-10-batches-bin/`` (or the ``.bin`` files themselves).
        train: the five training batches, or the test batch.
        transform: applied to each image, a ``32 x 32 x 3`` uint8 NumPy array (HWC, as PIL).
        target_transform: applied to each label (an int).
        download: must stay False; ember never downloads (the error says where the files go).

    ``data`` is a ``N x 32 x 32 x 3`` uint8 NumPy array and ``targets`` a list of ints, as in
    torchvision.

    >>> CIFAR10("/nonexistent", download=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ember.datasets._common.DownloadUnavailableError: CIFAR10: download=True is not supported: ...
    """

    base_folder = "cifar-10-batches-bin"
    train_files = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
    test_files = ("test_batch.bin",)
    label_bytes = 1
    num_classes: tuple[int, ...] = (10,)
    meta_file = "batches.meta.txt"
    classes: ClassVar = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]

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
        folder = os.path.join(self.root, self.base_folder)
        if download:
            raise no_download(name, folder, self.train_files + self.test_files, allow_gz=False)
        candidates = [folder, self.root]
        images, labels = [], []
        for filename in self.train_files if train else self.test_files:
            batch_images, batch_labels = read_cifar_batch(
                find_file(name, candidates, filename, allow_gz=False), self.label_bytes, self.num_classes
            )
            images.append(batch_images)
            labels.append(batch_labels)
        self.data = np.concatenate(images)
        all_labels = np.concatenate(labels)
        self._set_targets(all_labels)
        self._read_class_names(candidates)

    def _set_targets(self, labels: np.ndarray) -> None:
        self.targets = labels[:, 0].tolist()

    def _read_class_names(self, candidates: list[str]) -> None:
        for directory in candidates:
            path = os.path.join(directory, self.meta_file)
            if os.path.isfile(path):
                with open(path, encoding="utf-8", errors="replace") as f:
                    names = [line.strip() for line in f if line.strip()]
                if len(names) == self.num_classes[-1]:
                    self.classes = names
                return

    def __getitem__(self, index: int) -> tuple:
        return self._apply(self.data[index], self.targets[index])

    def __len__(self) -> int:
        return len(self.data)

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}


class CIFAR100(CIFAR10):
    """CIFAR-100: 100 fine classes grouped into 20 coarse ones; targets are the fine labels.

    Files: ``root/cifar-100-binary/train.bin`` and ``test.bin``; ``coarse_targets`` holds the
    coarse labels.
    """

    base_folder = "cifar-100-binary"
    train_files = ("train.bin",)
    test_files = ("test.bin",)
    label_bytes = 2
    num_classes = (20, 100)
    meta_file = "fine_label_names.txt"
    classes: ClassVar = [f"class_{i}" for i in range(100)]

    def _set_targets(self, labels: np.ndarray) -> None:
        self.coarse_targets = labels[:, 0].tolist()
        self.targets = labels[:, 1].tolist()
