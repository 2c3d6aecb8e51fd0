"""Training on several processes: wrap the model in DDP and the loaders' samplers, when asked.

``ember.distributed`` and ``ember.nn.parallel.DistributedDataParallel`` are built by another
part of the project; every use here is guarded, so without them (or with one process) the
Learner trains as a single process. This path has not been run yet: see ``docs/train.md``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["rank_and_world_size", "set_sampler_epoch", "wrap_loader", "wrap_model"]


def rank_and_world_size() -> tuple[int, int]:
    """``(rank, world_size)`` of an initialized process group of several processes, else (0, 1)."""
    try:
        import ember.distributed as dist

        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            return int(dist.get_rank()), int(dist.get_world_size())
    except (ImportError, AttributeError):
        pass
    return 0, 1


def wrap_model(model, world_size: int):
    """The module the training loop calls: ``model`` itself, or a DDP wrapper around it."""
    if world_size <= 1:
        return model
    try:
        from ember.nn.parallel import DistributedDataParallel
    except (ImportError, AttributeError):
        return model
    return DistributedDataParallel(model)


def wrap_loader(loader, world_size: int, shuffle_default: bool) -> Any:
    """``loader`` again, its sampler replaced by a ``DistributedSampler`` (each rank its share)."""
    if loader is None or world_size <= 1 or getattr(loader, "_is_iterable", False):
        return loader
    try:
        from ember.utils.data import DataLoader, DistributedSampler, RandomSampler
    except (ImportError, AttributeError):
        return loader
    # ember's DataLoader keeps the batch size on its BatchSampler (loader.batch_size is None then)
    batch_size = getattr(loader.batch_sampler, "batch_size", None) or loader.batch_size
    if isinstance(loader.sampler, DistributedSampler) or batch_size is None:
        return loader
    shuffle = isinstance(loader.sampler, RandomSampler) if loader.sampler is not None else shuffle_default
    sampler = DistributedSampler(loader.dataset, shuffle=shuffle)
    return DataLoader(
        loader.dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        drop_last=loader.drop_last,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context,
        generator=loader.generator,
        prefetch_factor=loader.prefetch_factor,
        persistent_workers=loader.persistent_workers,
    )


def set_sampler_epoch(loader, epoch: int) -> None:
    """Tell a ``DistributedSampler`` (or any sampler with ``set_epoch``) the epoch."""
    sampler = getattr(loader, "sampler", None)
    if sampler is not None and hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
