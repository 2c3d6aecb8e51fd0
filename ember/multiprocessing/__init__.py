"""``ember.multiprocessing``: PyTorch's ``torch.multiprocessing`` on the standard library.

Everything of ``multiprocessing`` is here (``get_context``, ``Process``, ``Queue``,
``set_start_method``, ...), plus ``spawn`` / ``start_processes`` and the sharing strategy.
Importing this module teaches multiprocessing's pickler to send tensors that live in shared
memory (``Tensor.share_memory_()``, ``Module.share_memory()``) as a handle to that memory
instead of a copy, so processes started with *spawn* and tensors passed through queues see the
same memory as the sender; processes started with *fork* inherit it anyway. That is what
Hogwild training needs: every process updates the same parameters.

>>> import ember
>>> t = ember.zeros(3).share_memory_()
>>> t.is_shared()
True
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import *  # the standard API, re-exported as torch.multiprocessing does

from ember.multiprocessing import reductions
from ember.multiprocessing.spawn import (
    ProcessContext,
    ProcessExitedException,
    ProcessRaisedException,
    spawn,
    start_processes,
)

__all__ = [  # noqa: PLE0604 - the standard names are multiprocessing's own list
    "ProcessContext",
    "ProcessExitedException",
    "ProcessRaisedException",
    "get_all_sharing_strategies",
    "get_sharing_strategy",
    "init_reductions",
    "set_sharing_strategy",
    "spawn",
    "start_processes",
    *multiprocessing.__all__,
]

_STRATEGIES = frozenset(("file_descriptor", "file_system"))


def get_all_sharing_strategies() -> set[str]:
    """``{"file_descriptor", "file_system"}``, as in PyTorch."""
    return set(_STRATEGIES)


def get_sharing_strategy() -> str:
    """How shared tensors travel to other processes (see ``set_sharing_strategy``)."""
    return reductions.strategy


def set_sharing_strategy(new_strategy: str) -> None:
    """Choose how shared tensors travel to other processes.

    ``"file_descriptor"`` (the default) sends the descriptor of the shared file through
    multiprocessing's descriptor passing; ``"file_system"`` sends a path
    (``/proc/<pid>/fd/<n>``, Linux) that the receiver opens, which needs the sender alive until
    it has. Both map the same memory.
    """
    if new_strategy not in _STRATEGIES:
        raise ValueError(
            f"set_sharing_strategy: unknown strategy {new_strategy!r}; expected one of {sorted(_STRATEGIES)}"
        )
    reductions.strategy = new_strategy


def init_reductions() -> None:
    """Register the tensor reductions with multiprocessing's pickler (done on import)."""
    reductions.register()


init_reductions()
