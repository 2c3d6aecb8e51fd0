"""``DataLoader``: batches from a dataset, in the main process or in worker processes."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from typing import Any

from ember.random import Generator, numpy_generator
from ember.utils.data.collate import default_collate, default_convert
from ember.utils.data.dataset import Dataset, IterableDataset, has_len
from ember.utils.data.fetch import make_fetcher
from ember.utils.data.multiprocess import MultiProcessIterator, default_context
from ember.utils.data.pin import pin_available, pin_batch
from ember.utils.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over ``dataset`` in batches, as PyTorch's ``torch.utils.data.DataLoader``.

    Args:
        dataset: a map-style ``Dataset`` (anything with ``__getitem__``/``__len__``) or an
            ``IterableDataset``.
        batch_size: samples per batch; ``None`` yields single samples (converted by
            ``default_convert``) without collation.
        shuffle: reshuffle every epoch (map-style only); reproducible with ``generator``.
        sampler / batch_sampler: where the indices come from, instead of ``shuffle`` /
            ``batch_size``.
        num_workers: worker processes (0 loads in the main process). Workers get
            ``seed = base_seed + worker_id`` for ember's, NumPy's and Python's RNGs, where
            ``base_seed`` is drawn from ``generator`` (or the default generator) every epoch.
        collate_fn: merges a list of samples; ``default_collate`` by default.
        pin_memory: copy batches into page-locked host memory (faster copies to CUDA); with no
            GPU it warns and has no effect, as in PyTorch.
        drop_last: drop the last, short batch.
        timeout: seconds to wait for a batch from the workers (0: forever, but a dead worker is
            always reported within a fraction of a second).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker after seeding.
        multiprocessing_context: a start method name or context; 'fork' on Linux, else 'spawn'.
        generator: an ``ember.Generator`` for shuffling and worker seeds.
        prefetch_factor: batches in flight per worker (2 when ``num_workers > 0``).
        persistent_workers: keep the workers alive between epochs.
        pin_memory_device, in_order: accepted for compatibility; batches always come in order.

    >>> import ember
    >>> from ember.utils.data import TensorDataset
    >>> ds = TensorDataset(ember.arange(10).float(), ember.arange(10))
    >>> [y.tolist() for _, y in DataLoader(ds, batch_size=4)]
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable | None = None,
        batch_sampler: Sampler | Iterable | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context=None,
        generator: Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        _check_workers(num_workers, timeout, prefetch_factor, persistent_workers)
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = (2 if prefetch_factor is None else prefetch_factor) if num_workers else None
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.generator = generator
        self.in_order = in_order
        self._is_iterable = isinstance(dataset, IterableDataset)
        if self._is_iterable:
            _check_iterable_options(shuffle, sampler, batch_sampler)
        given_batch_sampler = batch_sampler
        sampler, batch_sampler = self._make_samplers(
            dataset, batch_size, shuffle, sampler, batch_sampler, drop_last, generator
        )
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        # None only when the caller brought a batch sampler (it decides the batch sizes)
        self.batch_size = batch_size if given_batch_sampler is None else None
        self.drop_last = drop_last
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._iterator: MultiProcessIterator | None = None

    def _make_samplers(self, dataset, batch_size, shuffle, sampler, batch_sampler, drop_last, generator):
        if sampler is not None and shuffle:
            raise ValueError(
                "DataLoader: sampler option is mutually exclusive with shuffle; pass one of them"
            )
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last; leave those at their defaults"
                )
            return sampler, batch_sampler
        if batch_size is None and drop_last:
            raise ValueError(
                "DataLoader: batch_size=None option disables auto-batching and is mutually exclusive "
                "with drop_last"
            )
        if self._is_iterable:
            return None, None
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        return sampler, batch_sampler

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (self._is_iterable and self.batch_size is not None)

    @property
    def _index_sampler(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    # -- what workers and iterators need -------------------------------------------------
    def _fetch_spec(self) -> dict:
        return {
            "dataset": self.dataset,
            "iterable": self._is_iterable,
            "auto_collation": self._auto_collation,
            "collate_fn": self.collate_fn,
            "drop_last": self.drop_last,
            "batch_size": self.batch_size,
        }

    def _draw_base_seed(self) -> int:
        return int(numpy_generator(self.generator).integers(0, 2**62))

    def _multiprocessing_context(self):
        context = self.multiprocessing_context
        if context is None:
            return default_context()
        if isinstance(context, str):
            if context not in multiprocessing.get_all_start_methods():
                raise ValueError(
                    f"DataLoader: multiprocessing_context={context!r} is not a start method here; "
                    f"choose one of {multiprocessing.get_all_start_methods()}"
                )
            return multiprocessing.get_context(context)
        return context

    def _has_len(self) -> bool:
        return not self._is_iterable or has_len(self.dataset)

    # -- iteration -----------------------------------------------------------------------
    def __iter__(self):
        if self.num_workers == 0:
            return _SingleProcessIterator(self)
        if not self.persistent_workers:
            return MultiProcessIterator(self)
        if self._iterator is None or self._iterator._closed:  # first epoch, or after a worker failure
            self._iterator = MultiProcessIterator(self)
            return self._iterator
        return self._iterator._reset(self)

    def __len__(self) -> int:
        if not self._is_iterable:
            return len(self._index_sampler)
        if not has_len(self.dataset):
            raise TypeError(
                f"DataLoader: the IterableDataset {type(self.dataset).__name__} defines no __len__, so the "
                "loader has no len()"
            )
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __del__(self) -> None:
        iterator = getattr(self, "_iterator", None)
        if iterator is not None:  # an epoch still being read (for b in DataLoader(...)) runs to its end
            iterator._release()


class _SingleProcessIterator:
    """Loads batches in the main process (``num_workers=0``)."""

    def __init__(self, loader: DataLoader) -> None:
        loader._draw_base_seed()  # same generator draws as with workers: same shuffling order
        self._sampler_iter = None if loader._is_iterable else iter(loader._index_sampler)
        self._fetcher = make_fetcher(loader._fetch_spec())
        self._length = len(loader) if loader._has_len() else None
        self._pin = pin_available(loader.pin_memory)

    def __iter__(self) -> _SingleProcessIterator:
        return self

    def __next__(self):
        task = None if self._sampler_iter is None else next(self._sampler_iter)
        batch = self._fetcher.fetch(task)
        return pin_batch(batch) if self._pin else batch

    def _skip(self, n: int) -> None:
        """Pass over the next ``n`` batches without loading them (an exact resume's fast-forward).

        Only the sampler advances: the dataset is not read, so transforms draw no random
        numbers (``ember.train`` restores every RNG afterwards anyway). Iterable datasets
        have no sampler and are read and dropped.
        """
        for _ in range(n):
            if self._sampler_iter is None:
                self._fetcher.fetch(None)
            else:
                next(self._sampler_iter)

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError("DataLoader over an IterableDataset without __len__ has no len()")
        return self._length


def _check_workers(num_workers, timeout, prefetch_factor, persistent_workers) -> None:
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(
            f"DataLoader: num_workers option should be a non-negative integer; got num_workers={num_workers!r}"
        )
    if timeout < 0:
        raise ValueError(f"DataLoader: timeout option should be non-negative; got timeout={timeout!r}")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError(
            "DataLoader: prefetch_factor option could only be specified in multiprocessing; "
            "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None"
        )
    if prefetch_factor is not None and (not isinstance(prefetch_factor, int) or prefetch_factor < 1):
        raise ValueError(f"DataLoader: prefetch_factor should be a positive integer; got {prefetch_factor!r}")
    if persistent_workers and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")


def _check_iterable_options(shuffle, sampler, batch_sampler) -> None:
    for name, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
        if value not in (None, False):
            raise ValueError(
                f"DataLoader with IterableDataset: expected unspecified {name} option, but got {name}={value!r}; "
                "an iterable dataset decides its own order"
            )
