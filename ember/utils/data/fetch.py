"""Fetchers: turn one task (a list of indices, an index, or "next batch") into a collated batch.

The same fetchers run in the main process (``num_workers=0``) and in worker processes. Each
remembers in ``where`` which sample it is loading, so a worker can say where it failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["IterableFetcher", "MapFetcher", "make_fetcher"]


class MapFetcher:
    """Loads samples of a map-style dataset by index and collates them."""

    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.getitems = getattr(dataset, "__getitems__", None)
        self.where = "no sample yet"

    def fetch(self, indices) -> Any:
        if not self.auto_collation:
            self.where = f"sample index {indices}"
            sample = self.dataset[indices]
            self.where = f"sample index {indices} (in collate_fn)"
            return self.collate_fn(sample)
        if self.getitems is not None:
            self.where = f"sample indices {indices} (in __getitems__)"
            samples = self.getitems(indices)
        else:
            samples = []
            for index in indices:
                self.where = f"sample index {index}"
                samples.append(self.dataset[index])
        self.where = f"the batch of sample indices {indices} (in collate_fn)"
        return self.collate_fn(samples)


class IterableFetcher:
    """Draws samples from an iterable dataset's iterator; raises StopIteration when it ends."""

    def __init__(
        self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool, batch_size: int | None
    ) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.batch_size = batch_size
        self.iterator = None
        self.ended = False
        self.count = 0
        self.where = "no sample yet"

    def _next(self):
        self.where = f"sample {self.count} of the iterable dataset's stream"
        if self.iterator is None:
            self.iterator = iter(self.dataset)
        try:
            item = next(self.iterator)
        except StopIteration:
            self.ended = True
            raise
        self.count += 1
        return item

    def fetch(self, _task=None) -> Any:
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            item = self._next()
            self.where = f"sample {self.count - 1} of the iterable dataset's stream (in collate_fn)"
            return self.collate_fn(item)
        batch = []
        try:
            while len(batch) < self.batch_size:
                batch.append(self._next())
        except StopIteration:
            if not batch or self.drop_last:
                raise
        first = self.count - len(batch)
        self.where = f"samples {first}..{self.count - 1} of the iterable dataset's stream (in collate_fn)"
        return self.collate_fn(batch)


def make_fetcher(spec: dict):
    """A fetcher from the plain settings a DataLoader hands to its workers."""
    if spec["iterable"]:
        return IterableFetcher(
            spec["dataset"], spec["auto_collation"], spec["collate_fn"], spec["drop_last"], spec["batch_size"]
        )
    return MapFetcher(spec["dataset"], spec["auto_collation"], spec["collate_fn"], spec["drop_last"])
