"""The MPI communicator (mpi4py): CPU arrays, buffers passed straight from NumPy memory.

Non-blocking operations use MPI's own (``Iallreduce``, ``Ibcast``, ...). MPICH advances them
when any MPI call runs; ``Work.is_completed()`` (``MPI_Test``) is such a call, which is how
DistributedDataParallel keeps earlier buckets moving while later gradients are computed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ember.distributed.communicator import Communicator, CompletedWork, Work
from ember.dtypes import is_inexact_np

__all__ = ["MPICommunicator", "import_mpi"]

_INSTALL_HINT = 'pip install "ember[distributed]"'


def import_mpi():
    """``mpi4py.MPI``, or an ImportError that names the extra to install."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError(
            f"ember.distributed needs mpi4py (and an MPI such as the mpich wheel): {_INSTALL_HINT}"
        ) from exc
    return MPI


def _mpi_op(MPI, op: str):
    ops = {
        "sum": MPI.SUM,
        "avg": MPI.SUM,
        "min": MPI.MIN,
        "max": MPI.MAX,
        "product": MPI.PROD,
        "band": MPI.BAND,
        "bor": MPI.BOR,
        "bxor": MPI.BXOR,
    }
    return ops[op]


def _divide_in_place(array, by: int) -> None:
    if is_inexact_np(array.dtype):
        np.divide(array, by, out=array)
    else:
        np.floor_divide(array, by, out=array)


class MPICommunicator(Communicator):
    """A ``Communicator`` over an ``mpi4py`` intracommunicator."""

    def __init__(self, comm) -> None:
        self.MPI = import_mpi()
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()

    # -- helpers -------------------------------------------------------------------------
    def _run(self, start, blocking, async_op: bool, finish=None, result=None):
        """Run a blocking call, or start its non-blocking twin and wrap the request."""
        if not async_op:
            blocking()
            if finish is not None:
                finish()
            return None
        request = start()
        return _request_work(request, finish, result)

    # -- collectives ---------------------------------------------------------------------
    def allreduce(self, array, op: str, async_op: bool = False) -> Work | None:
        if array.dtype == np.float16:
            return self._via_float32(array, lambda a: self.allreduce(a, op), async_op)
        mpi_op, IN_PLACE = _mpi_op(self.MPI, op), self.MPI.IN_PLACE
        finish = (lambda: _divide_in_place(array, self.size)) if op == "avg" else None
        return self._run(
            lambda: self.comm.Iallreduce(IN_PLACE, array, mpi_op),
            lambda: self.comm.Allreduce(IN_PLACE, array, mpi_op),
            async_op,
            finish,
        )

    def _via_float32(self, array, run, async_op: bool):
        """Not every MPI build has a half-precision type: reduce float16 by way of float32."""
        wide = array.astype(np.float32)
        run(wide)
        array[...] = wide
        return CompletedWork() if async_op else None

    def broadcast(self, array, root: int, async_op: bool = False) -> Work | None:
        return self._run(
            lambda: self.comm.Ibcast(array, root), lambda: self.comm.Bcast(array, root), async_op
        )

    def reduce(self, array, root: int, op: str, async_op: bool = False) -> Work | None:
        if array.dtype == np.float16:
            return self._via_float32(array, lambda a: self.reduce(a, root, op), async_op)
        mpi_op = _mpi_op(self.MPI, op)
        send = self.MPI.IN_PLACE if self.rank == root else array
        recv = array if self.rank == root else None
        finish = None
        if op == "avg" and self.rank == root:

            def finish():
                return _divide_in_place(array, self.size)

        return self._run(
            lambda: self.comm.Ireduce(send, recv, mpi_op, root),
            lambda: self.comm.Reduce(send, recv, mpi_op, root),
            async_op,
            finish,
        )

    def allgather(self, send, recv, async_op: bool = False) -> Work | None:
        return self._run(
            lambda: self.comm.Iallgather(send, recv), lambda: self.comm.Allgather(send, recv), async_op
        )

    def reduce_scatter(self, send, recv, op: str, async_op: bool = False) -> Work | None:
        if send.dtype == np.float16:
            wide = recv.astype(np.float32)
            self.reduce_scatter(send.astype(np.float32), wide, op)
            recv[...] = wide
            return CompletedWork() if async_op else None
        mpi_op = _mpi_op(self.MPI, op)
        finish = (lambda: _divide_in_place(recv, self.size)) if op == "avg" else None
        return self._run(
            lambda: self.comm.Ireduce_scatter_block(send, recv, mpi_op),
            lambda: self.comm.Reduce_scatter_block(send, recv, mpi_op),
            async_op,
            finish,
        )

    def gather(self, send, recv, root: int, async_op: bool = False) -> Work | None:
        recv = recv if self.rank == root else None
        return self._run(
            lambda: self.comm.Igather(send, recv, root), lambda: self.comm.Gather(send, recv, root), async_op
        )

    def scatter(self, send, recv, root: int, async_op: bool = False) -> Work | None:
        send = send if self.rank == root else None
        return self._run(
            lambda: self.comm.Iscatter(send, recv, root),
            lambda: self.comm.Scatter(send, recv, root),
            async_op,
        )

    def alltoall(self, sends: Sequence, recvs: Sequence, async_op: bool = False) -> Work | None:
        # point-to-point pairs keep each block in its own array: no packing copies
        requests = [self.comm.Irecv(r, peer, tag=_ALLTOALL_TAG) for peer, r in enumerate(recvs)]
        requests += [self.comm.Isend(s, peer, tag=_ALLTOALL_TAG) for peer, s in enumerate(sends)]
        work = _requests_work(self.MPI, requests)
        if async_op:
            return work
        work.wait()
        return None

    def send(self, array, peer: int, tag: int = 0, async_op: bool = False) -> Work | None:
        return self._run(
            lambda: self.comm.Isend(array, peer, tag), lambda: self.comm.Send(array, peer, tag), async_op
        )

    def recv(self, array, peer: int | None, tag: int = 0, async_op: bool = False):
        source = self.MPI.ANY_SOURCE if peer is None else peer
        status = self.MPI.Status()
        if async_op:
            request = self.comm.Irecv(array, source, tag)
            return _request_work(request, None, None, status)
        self.comm.Recv(array, source, tag, status)
        return status.Get_source()

    def barrier(self, async_op: bool = False) -> Work | None:
        return self._run(self.comm.Ibarrier, self.comm.Barrier, async_op)

    # -- Python objects (pickle; only between ranks of one job) -----------------------------
    def broadcast_object(self, obj, root: int):
        return self.comm.bcast(obj, root)

    def allgather_object(self, obj) -> list:
        return self.comm.allgather(obj)

    def gather_object(self, obj, root: int):
        return self.comm.gather(obj, root)

    def scatter_object(self, objs, root: int):
        return self.comm.scatter(objs, root)

    # -- groups ----------------------------------------------------------------------------
    def split(self, ranks: Sequence[int]) -> MPICommunicator | None:
        ranks = list(ranks)
        member = self.rank in ranks
        color = 0 if member else self.MPI.UNDEFINED
        key = ranks.index(self.rank) if member else 0
        sub = self.comm.Split(color, key)
        return MPICommunicator(sub) if member else None

    def free(self) -> None:
        if self.comm not in (self.MPI.COMM_WORLD, self.MPI.COMM_SELF):
            self.comm.Free()


_ALLTOALL_TAG = 0x7E3B


def _request_work(request, finish, result, status=None) -> Work:
    if status is not None:
        return Work(lambda: request.Test(status), lambda: request.Wait(status), finish, result)
    return Work(request.Test, request.Wait, finish, result)


def _requests_work(MPI, requests) -> Work:
    return Work(lambda: MPI.Request.Testall(requests), lambda: MPI.Request.Waitall(requests))
