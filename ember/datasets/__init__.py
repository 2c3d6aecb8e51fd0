"""``ember.datasets``: dataset readers and image transforms. Nothing is ever downloaded.

- ``load_digits(split)``: scikit-learn's bundled 8x8 digits with a fixed train/test split
  (needs the ``demo`` extra);
- ``MNIST`` / ``FashionMNIST``: IDX files (raw or ``.gz``) that you already have;
- ``CIFAR10`` / ``CIFAR100``: the binary-version batches that you already have;
- ``transforms``: ``Compose``, ``ToTensor``, ``Normalize``, ``RandomCrop``,
  ``RandomHorizontalFlip``, ``Lambda``.

>>> from ember.datasets import transforms
>>> transforms.Lambda(len)([1, 2])
2
"""

from ember.datasets import transforms
from ember.datasets._common import CorruptFileError, DownloadUnavailableError, VisionDataset
from ember.datasets.cifar import CIFAR10, CIFAR100, read_cifar_batch
from ember.datasets.digits import DigitsDataset, load_digits
from ember.datasets.mnist import MNIST, FashionMNIST, read_idx

__all__ = [
    "CIFAR10",
    "CIFAR100",
    "MNIST",
    "CorruptFileError",
    "DigitsDataset",
    "DownloadUnavailableError",
    "FashionMNIST",
    "VisionDataset",
    "load_digits",
    "read_cifar_batch",
    "read_idx",
    "transforms",
]
