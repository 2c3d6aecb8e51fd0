"""DataLoader throughput: samples per second, ember vs PyTorch, num_workers 0 and 2, batch 64.

Two workloads:
- ``digits``: scikit-learn's 8x8 digits (the training split of ``ember.datasets.load_digits``),
  samples ``(float32 array 1x8x8, int)``;
- ``cifar-like``: synthetic 32x32x3 uint8 images with the standard augmentation
  RandomCrop(32, padding=4) + RandomHorizontalFlip + ToTensor + Normalize.

Fairness: both loaders read the *same* dataset objects, whose samples are NumPy arrays made by
the *same* NumPy augmentation code in this file (torchvision is not needed); each loader's own
default_collate then stacks them into its own tensors. The rows marked "ember transforms" use
``ember.datasets.transforms`` (and ember tensors as samples) instead, which only ember's loader
can collate. Workers are persistent; one warm-up epoch is not timed; shuffling is on. Ember's
and PyTorch's epochs alternate and the median epoch is reported, so both see the same load.

    python bench/bench_dataloader.py [--repeats 3] [--images 8192]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ember
from bench.common import machine_line, try_import_torch
from ember.datasets import load_digits, transforms
from ember.utils.data import DataLoader

MEAN = np.array([0.4914, 0.4822, 0.4465], np.float32)[:, None, None]
STD = np.array([0.2470, 0.2435, 0.2616], np.float32)[:, None, None]


def numpy_augment(img: np.ndarray) -> np.ndarray:
    """RandomCrop(32, padding=4) + RandomHorizontalFlip + ToTensor + Normalize, in NumPy."""
    padded = np.zeros((40, 40, 3), np.uint8)
    padded[4:36, 4:36] = img
    top, left = np.random.randint(0, 9, size=2)
    crop = padded[top : top + 32, left : left + 32]
    if np.random.rand() < 0.5:
        crop = crop[:, ::-1]
    chw = crop.transpose(2, 0, 1).astype(np.float32) / np.float32(255)
    return (chw - MEAN) / STD


class ArrayDigits:
    """Digits as NumPy samples, usable by either framework's DataLoader."""

    def __init__(self):
        ds = load_digits("train")
        self.data, self.targets = ds.data, ds.targets

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        return self.data[i], int(self.targets[i])


class SyntheticImages:
    """``n`` random 32x32x3 uint8 images with labels; ``transform`` makes each sample."""

    def __init__(self, n: int, transform):
        rng = np.random.default_rng(0)
        self.images = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
        self.labels = rng.integers(0, 10, size=n)
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(self.images[i]), int(self.labels[i])


def epoch_rate(loader, n: int) -> float:
    start = time.perf_counter()
    for _ in loader:
        pass
    return n / (time.perf_counter() - start)


def compare(loader_classes: dict, dataset, workers: int, repeats: int) -> dict:
    """Median samples/s per loader class, epochs alternating between them after a warm-up epoch."""
    kwargs = {"batch_size": 64, "shuffle": True, "num_workers": workers, "persistent_workers": workers > 0}
    loaders = {name: cls(dataset, **kwargs) for name, cls in loader_classes.items()}
    rates = {name: [] for name in loaders}
    for loader in loaders.values():  # warm-up: worker start, caches
        epoch_rate(loader, len(dataset))
    for _ in range(repeats):
        for name, loader in loaders.items():
            rates[name].append(epoch_rate(loader, len(dataset)))
    return {name: statistics.median(values) for name, values in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", type=int, default=8192)
    args = parser.parse_args()
    torch = try_import_torch()
    ember.manual_seed(0)
    ember_tf = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(MEAN.ravel().tolist(), STD.ravel().tolist()),
        ]
    )
    workloads = [
        ("digits", ArrayDigits(), True),
        ("digits (ember load_digits)", load_digits("train"), False),
        ("cifar-like", SyntheticImages(args.images, numpy_augment), True),
        ("cifar-like (ember transforms)", SyntheticImages(args.images, ember_tf), False),
    ]
    print(machine_line(), f"torch {torch.__version__}" if torch else "(no torch)")
    print(f"{'workload':32s} {'workers':>7s} {'ember samples/s':>16s} {'torch samples/s':>16s} {'ratio':>6s}")
    for name, dataset, torch_can in workloads:
        for workers in (0, 2):
            classes = {"ember": DataLoader}
            if torch_can and torch is not None:
                classes["torch"] = torch.utils.data.DataLoader
            rates = compare(classes, dataset, workers, args.repeats)
            ours, theirs = rates["ember"], rates.get("torch")
            cell = f"{theirs:16.0f}" if theirs else f"{'-':>16s}"
            ratio = f"{ours / theirs:6.2f}" if theirs else f"{'-':>6s}"
            print(f"{name:32s} {workers:7d} {ours:16.0f} {cell} {ratio}", flush=True)


if __name__ == "__main__":
    main()
