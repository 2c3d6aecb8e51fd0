"""``ember.utils.tensorboard``: ``SummaryWriter`` with PyTorch's ``torch.utils.tensorboard`` API.

Event files are written with the ``tensorboard`` package's record format (an optional
dependency: ``pip install "ember[tensorboard]"``), so TensorBoard reads them as it reads
PyTorch's.
"""

from ember.utils.tensorboard.writer import SummaryWriter

__all__ = ["SummaryWriter"]
