"""``ember.nn.parallel``: ``DistributedDataParallel`` (alias ``DDP``) and ``DataParallel``."""

from ember.nn.parallel.data_parallel import DataParallel
from ember.nn.parallel.distributed import DDP, DistributedDataParallel

__all__ = ["DDP", "DataParallel", "DistributedDataParallel"]
