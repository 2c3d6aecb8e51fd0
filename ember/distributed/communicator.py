"""The communicator interface (ChainerMN style): what a transport engine must offer ember.

A ``Communicator`` moves raw arrays (NumPy on the CPU through MPI, CuPy on CUDA through NCCL)
among the ranks of one group. Every method works in place on the arrays it is given; a method
with ``async_op=True`` starts the operation and returns a ``Work`` handle at once. Tensors,
groups and PyTorch's argument conventions live one level up, in ``collectives.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["Communicator", "CompletedWork", "Work"]


class Work:
    """Handle of an operation started with ``async_op=True``: ``wait()`` and ``is_completed()``.

    ``test`` answers (without blocking) whether the engine has finished; ``block`` waits for it;
    ``finish`` runs once afterwards (scaling for AVG, copies out of staging buffers).
    """

    def __init__(
        self,
        test: Callable[[], bool],
        block: Callable[[], None],
        finish: Callable[[], None] | None = None,
        result: Any = None,
    ) -> None:
        self._test, self._block, self._finish = test, block, finish
        self._done = False
        self._result = result

    def _complete(self) -> None:
        self._done = True
        finish, self._finish = self._finish, None
        if finish is not None:
            finish()

    def is_completed(self) -> bool:
        """True once the operation has finished (and its results are in place)."""
        if not self._done and self._test():
            self._complete()
        return self._done

    def wait(self, timeout: Any = None) -> bool:
        """Block until the operation has finished; its results are then in place."""
        if not self._done:
            self._block()
            self._complete()
        return True

    def is_success(self) -> bool:
        return self.is_completed()

    def result(self) -> Any:
        """The operation's output tensors (after ``wait``), as PyTorch's ``Work.result``."""
        self.wait()
        return self._result

    def __repr__(self) -> str:
        return f"<ember.distributed.Work completed={self._done}>"


class CompletedWork(Work):
    """A ``Work`` for an operation that has already finished."""

    def __init__(self, result: Any = None) -> None:
        super().__init__(lambda: True, lambda: None, None, result)
        self._done = True


class Communicator:
    """The operations ember needs from a transport; arrays are contiguous and written in place.

    ``op`` is one of ``"sum"``, ``"avg"``, ``"min"``, ``"max"``, ``"product"``, ``"band"``,
    ``"bor"``, ``"bxor"``; ``root``/``peer`` are ranks *within this communicator*.
    """

    rank: int
    size: int

    def allreduce(self, array, op: str, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def broadcast(self, array, root: int, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def reduce(self, array, root: int, op: str, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def allgather(self, send, recv, async_op: bool = False) -> Work | None:
        """``recv`` holds ``size`` blocks of ``send``'s size, rank order."""
        raise NotImplementedError

    def reduce_scatter(self, send, recv, op: str, async_op: bool = False) -> Work | None:
        """``send`` holds ``size`` blocks of ``recv``'s size; block i is reduced onto rank i."""
        raise NotImplementedError

    def gather(self, send, recv, root: int, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def scatter(self, send, recv, root: int, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def alltoall(self, sends: Sequence, recvs: Sequence, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def send(self, array, peer: int, tag: int = 0, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def recv(self, array, peer: int | None, tag: int = 0, async_op: bool = False):
        """Receive into ``array``; returns the sender's rank (or a ``Work`` when async)."""
        raise NotImplementedError

    def barrier(self, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def split(self, ranks: Sequence[int]) -> Communicator | None:
        """A communicator over ``ranks`` (collective over all ranks); None on non-members."""
        raise NotImplementedError

    def free(self) -> None:
        """Release the engine's resources for this communicator."""
