"""``ember.nn.parallel``: ``DistributedDataParallel`` (alias ``DDP``) and ``DataParallel``."""

from ember.nn.parallel.data_parallel import DataParallel

__all__ = ["DDP", "DataParallel", "DistributedDataParallel"]


def __getattr__(name: str):
    """DDP loads on first use: it is layer 6 (on ember.distributed), ember.nn is layer 4."""
    if name in ("DDP", "DistributedDataParallel"):
        from ember.nn.parallel import distributed  # layer 6: importing it here would climb

        return getattr(distributed, name)
    raise AttributeError(f"module 'ember.nn.parallel' has no attribute {name!r}")
