"""scikit-learn's bundled handwritten digits (1,797 8x8 images) as a Dataset with a fixed split.

The images ship inside scikit-learn (the optional ``demo`` extra: ``pip install 'ember[demo]'``),
so nothing is downloaded. The split is stratified by class and fixed by ``seed``: the same
arguments always give the same train and test samples, whatever ember's global RNG state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np

from ember.tensor import make
from ember.utils.data import Dataset

__all__ = ["DigitsDataset", "load_digits"]

_SPLITS = ("train", "test", "all")


def _load_sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError:
        raise ImportError(
            "load_digits needs scikit-learn, which bundles the digits images: "
            "pip install 'ember[demo]' (or pip install scikit-learn)"
        ) from None
    bunch = sklearn_load_digits()
    return np.asarray(bunch.images), np.asarray(bunch.target)


def split_indices(targets: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/test indices: ``round(test_size * count)`` of each class go to the test set."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(targets):
        members = rng.permutation(np.flatnonzero(targets == label))
        n_test = round(test_size * len(members))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


class DigitsDataset(Dataset):
    """Samples are ``(image, label)``: a float32 tensor ``1 x 8 x 8`` in [0, 1] (or ``64`` when
    ``flatten``) and an int. ``data`` (``N x 1 x 8 x 8`` float32) and ``targets`` (int64) are NumPy
    arrays.
    """

    classes: ClassVar = list(range(10))

    def __init__(
        self,
        data: np.ndarray,
        targets: np.ndarray,
        split: str,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        flatten: bool = False,
    ) -> None:
        self.data = data.reshape(len(data), -1) if flatten else data
        self.targets = targets
        self.split = split
        self.transform = transform
        self.target_transform = target_transform

    def __getitem__(self, index: int) -> tuple:
        image, target = make(self.data[index]), int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __len__(self) -> int:
        return len(self.targets)

    def __repr__(self) -> str:
        return f"DigitsDataset(split={self.split!r}, samples={len(self)}, sample_shape={tuple(self.data.shape[1:])})"


def load_digits(
    split: str = "train",
    *,
    test_size: float = 0.2,
    seed: int = 0,
    transform: Callable | None = None,
    target_transform: Callable | None = None,
    flatten: bool = False,
) -> DigitsDataset:
    """The digits set as a Dataset: ``split`` is ``'train'``, ``'test'`` or ``'all'``.

    Args:
        split: which part of the fixed, stratified split to return.
        test_size: the fraction of each class held out for ``'test'`` (0.2: 1,438 train, 359 test).
        seed: fixes the split; the default split never changes.
        transform: applied to each image tensor (``1 x 8 x 8``, or ``64`` with ``flatten``).
        target_transform: applied to each label (an int 0..9).
        flatten: give images as 64-vectors (for an MLP) instead of ``1 x 8 x 8`` (for a CNN).

    Raises ImportError with the install command when scikit-learn is missing.

    >>> train, test = load_digits("train"), load_digits("test")
    >>> len(train), len(test), tuple(train[0][0].shape), train[0][0].dtype
    (1438, 359, (1, 8, 8), ember.float32)
    """
    if split not in _SPLITS:
        raise ValueError(f"load_digits: split should be one of {_SPLITS}, got {split!r}")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"load_digits: test_size should be a fraction in (0, 1), got {test_size}")
    images, targets = _load_sklearn_digits()
    data = (images.astype(np.float32) / np.float32(16.0))[:, None, :, :]
    targets = targets.astype(np.int64)
    if split != "all":
        train_idx, test_idx = split_indices(targets, test_size, seed)
        chosen = train_idx if split == "train" else test_idx
        data, targets = data[chosen], targets[chosen]
    return DigitsDataset(np.ascontiguousarray(data), targets, split, transform, target_transform, flatten)
