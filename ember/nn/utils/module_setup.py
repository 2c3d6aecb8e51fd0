"""``skip_init`` and the weight memory-format converters of ``torch.nn.utils``."""

from __future__ import annotations

import inspect

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format", "skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """Build ``module_cls(*args, **kwargs)`` whose parameters need not be initialised.

    ember initialises them anyway (cheap on the CPU); what matters is that the class takes a
    ``device`` argument, which PyTorch requires too.

    >>> import ember
    >>> skip_init(ember.nn.Linear, 3, 2).weight.shape
    ember.Size([2, 3])
    """
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    return module_cls(*args, **kwargs)


def convert_conv2d_weight_memory_format(module, memory_format):
    """Returns ``module``: ember keeps every weight contiguous, whatever the memory format."""
    return module


def convert_conv3d_weight_memory_format(module, memory_format):
    """Returns ``module``: ember keeps every weight contiguous, whatever the memory format."""
    return module
