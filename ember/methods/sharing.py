"""Shared memory between processes: ``share_memory_()`` and ``is_shared()``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ember.backend import shared

if TYPE_CHECKING:
    from ember.tensor import Tensor

FUNCTIONS: list = []
__all__: list = []


class SharingMethods:
    __slots__ = ()

    def share_memory_(self: Tensor) -> Tensor:
        """Move the data into shared memory, so that other processes see the same values.

        Processes forked afterwards share it, and ``ember.multiprocessing`` sends it to spawned
        processes and through queues as a handle, not a copy. A no-op when the data is shared
        already and on CUDA (as in PyTorch). Unlike PyTorch, which moves the whole storage,
        other views of the same data keep the old memory: share a tensor before taking views.

        >>> import ember
        >>> t = ember.ones(2).share_memory_()
        >>> t.is_shared(), t.tolist()
        (True, [1.0, 1.0])
        """
        if self.is_cpu and not shared.is_shared(self._data):
            self._data = shared.share(self._data)
        return self

    def is_shared(self: Tensor) -> bool:
        """Whether the data is in shared memory (CUDA tensors count as shared, as in PyTorch)."""
        return bool(self.is_cuda) or shared.is_shared(self._data)
