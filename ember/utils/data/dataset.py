"""Datasets with PyTorch's semantics: map-style, iterable, and the ways to combine or split them."""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from ember.random import Generator, numpy_generator
from ember.tensor import Tensor, make

__all__ = [
    "ChainDataset",
    "ConcatDataset",
    "Dataset",
    "IterableDataset",
    "StackDataset",
    "Subset",
    "TensorDataset",
    "random_split",
]

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """A map-style dataset: subclasses define ``__getitem__(index)`` and usually ``__len__``.

    A subclass may also define ``__getitems__(indices)`` returning a list of samples; the
    DataLoader then fetches a whole batch with one call.

    >>> class Squares(Dataset):
    ...     def __len__(self): return 4
    ...     def __getitem__(self, i): return i * i
    >>> (Squares() + Squares())[5]
    1
    """

    def __getitem__(self, index) -> T_co:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index)")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """A dataset that is a stream: subclasses define ``__iter__``.

    With ``num_workers > 0`` every worker iterates its own copy; use
    ``ember.utils.data.get_worker_info()`` inside ``__iter__`` to give each worker its shard.

    >>> class Count(IterableDataset):
    ...     def __iter__(self): return iter(range(3))
    >>> list(Count() + Count())
    [0, 1, 2, 0, 1, 2]
    """

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__()")

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


def _take(tensor: Tensor, index):
    # A plain array view is enough for data that nobody differentiates; keep autograd otherwise.
    if tensor.requires_grad:
        return tensor[index]
    picked = tensor._data[index]
    return make(np.asarray(picked) if isinstance(picked, np.generic) else picked)


class TensorDataset(Dataset[tuple]):
    """Samples are the ``index``-th rows of tensors that share their first dimension.

    >>> import ember
    >>> ds = TensorDataset(ember.zeros(5, 2), ember.arange(5))
    >>> len(ds), ds[3][1].item()
    (5, 3)
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        sizes = [t.shape[0] if t.ndim else None for t in tensors]
        if any(s is None for s in sizes) or len(set(sizes)) != 1:
            shapes = [tuple(t.shape) for t in tensors]
            raise ValueError(
                f"TensorDataset: all tensors must have the same size in dim 0, got shapes {shapes}"
            )
        self.tensors = tensors

    def __getitem__(self, index) -> tuple:
        return tuple(_take(t, index) for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class StackDataset(Dataset):
    """Zips datasets of equal length: samples are tuples (positional) or dicts (keyword).

    >>> StackDataset(a=[1, 2], b=[3, 4])[1]
    {'a': 2, 'b': 4}
    """

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError("StackDataset: pass datasets either positionally or as keywords, not both")
        self.datasets = args or kwargs
        parts = args or tuple(kwargs.values())
        if not parts:
            raise ValueError("StackDataset: expected at least one dataset")
        lengths = {len(d) for d in parts}
        if len(lengths) != 1:
            raise ValueError(f"StackDataset: datasets must have equal lengths, got {[len(d) for d in parts]}")
        self._length = lengths.pop()

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {key: d[index] for key, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length


class ConcatDataset(Dataset[T_co]):
    """Map-style datasets one after the other.

    >>> ds = ConcatDataset([[1, 2], [3]])
    >>> len(ds), ds[2], ds[-1], ds.cumulative_sizes
    (3, 3, 3, [2, 3])
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset; use ChainDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    @staticmethod
    def cumsum(sequence) -> list[int]:
        """The running total of the lengths of ``sequence``'s datasets."""
        return list(itertools.accumulate(len(d) for d in sequence))

    @property
    def cummulative_sizes(self) -> list[int]:
        """PyTorch's misspelt, deprecated name of ``cumulative_sizes``."""
        warnings.warn(
            "cummulative_sizes attribute is renamed to cumulative_sizes", DeprecationWarning, stacklevel=2
        )
        return self.cumulative_sizes

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> T_co:
        n = len(self)
        if index < 0:
            if -index > n:
                raise IndexError(f"ConcatDataset: index {index} is out of range for length {n}")
            index += n
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, index)
        if dataset_idx == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {index} is out of range for length {n}")
        start = self.cumulative_sizes[dataset_idx - 1] if dataset_idx else 0
        return self.datasets[dataset_idx][index - start]


class ChainDataset(IterableDataset):
    """Iterable datasets one after the other (lazily).

    >>> list(ChainDataset([range(2), range(3)]))
    [0, 1, 0, 1, 2]
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


class Subset(Dataset[T_co]):
    """The samples of ``dataset`` at ``indices``, in that order.

    >>> Subset(["a", "b", "c"], [2, 0])[0]
    'c'
    """

    def __init__(self, dataset: Dataset[T_co], indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list:
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:
            return getitems([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)


def _split_lengths(n: int, lengths: Sequence[float]) -> list[int]:
    if all(isinstance(x, int) for x in lengths) or not math.isclose(sum(lengths), 1.0, abs_tol=1e-6):
        ints = [int(x) for x in lengths]
        if ints != list(lengths) or sum(ints) != n:
            raise ValueError(
                f"random_split: lengths {list(lengths)} must be integers that sum to the dataset "
                f"length {n}, or fractions that sum to 1"
            )
        return ints
    if any(f < 0 or f > 1 for f in lengths):
        raise ValueError(f"random_split: fractions must lie in [0, 1], got {list(lengths)}")
    counts = [math.floor(n * f) for f in lengths]
    for i in range(n - sum(counts)):  # hand the remainder out round-robin, as PyTorch does
        counts[i % len(counts)] += 1
    return counts


def random_split(
    dataset: Dataset, lengths: Sequence[float], generator: Generator | None = None
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random Subsets of the given lengths or fractions.

    >>> import ember
    >>> a, b = random_split(range(10), [0.7, 0.3], generator=ember.Generator().manual_seed(0))
    >>> len(a), len(b), sorted(list(a) + list(b)) == list(range(10))
    (7, 3, True)
    """
    n = len(dataset)
    counts = _split_lengths(n, lengths)
    order = numpy_generator(generator).permutation(n).tolist()
    bounds = list(itertools.accumulate(counts))
    return [Subset(dataset, order[end - count : end]) for count, end in zip(counts, bounds)]


def has_len(obj: Any) -> bool:
    """Whether ``len(obj)`` works."""
    try:
        len(obj)
    except TypeError:
        return False
    return True
