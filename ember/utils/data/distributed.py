"""``DistributedSampler``: each rank of a job reads its own share of a dataset.

Note that ``ember.distributed`` is layer 6; this sampler only asks it for the rank and world
size (lazily, and only when they are not given).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sized

from ember.utils.data.sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler[int]):
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` should read.

    As PyTorch's: with ``shuffle`` the order is a permutation seeded by ``seed + epoch`` (call
    ``set_epoch`` before each epoch, or every epoch repeats one order); the same on every rank,
    which then takes every ``num_replicas``-th index from position ``rank``. Without
    ``drop_last`` the list is padded by repeating indices from its start so that every rank
    gets the same number; with it the tail that does not divide evenly is dropped.

    >>> list(DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False))
    [1, 3, 0]
    """

    def __init__(
        self,
        dataset: Sized,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            from ember import distributed as dist  # layer 6, built on data loading

            if not dist.is_available() or not dist.is_initialized():
                raise RuntimeError(
                    "DistributedSampler: give num_replicas and rank, or call "
                    "ember.distributed.init_process_group() first"
                )
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas, self.rank = num_replicas, rank
        self.epoch = 0
        self.drop_last = drop_last
        size = len(dataset)
        if drop_last and size % num_replicas != 0:
            self.num_samples = math.ceil((size - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(size / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle, self.seed = shuffle, seed

    def _order(self) -> list[int]:
        size = len(self.dataset)
        if not self.shuffle:
            return list(range(size))
        from ember.random import Generator
        from ember.random_ops import randperm

        generator = Generator()
        generator.manual_seed(self.seed + self.epoch)
        return randperm(size, generator=generator).tolist()

    def __iter__(self) -> Iterator[int]:
        indices = self._order()
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[: self.total_size]
        return iter(indices[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of ``epoch`` from now on (with ``shuffle``)."""
        self.epoch = epoch
