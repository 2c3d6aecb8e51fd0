"""The NCCL communicator (CuPy's ``cupy.cuda.nccl``): CUDA arrays, device pointers, no copies.

Rendezvous: rank 0 of the group draws NCCL's unique id and the group's MPI communicator
broadcasts it; every rank then joins the NCCL communicator on its array's device. Operations
are enqueued on the current CUDA stream, so later kernels on that stream see their results
without the host waiting; ``async_op=True`` records a CUDA event that ``Work.wait()`` waits on.

CuPy is imported here, lazily, and nowhere else outside ``ember/backend``. This module has not
run on a GPU yet (no GPU where it was written); its logic is tested with stand-ins for CuPy.
"""

from __future__ import annotations

from collections.abc import Sequence

from ember.distributed.communicator import Communicator, Work
from ember.dtypes import is_inexact_np

__all__ = ["NCCLCommunicator", "exchange_unique_id", "nccl_available"]


def _import_cupy():
    try:
        import cupy
        from cupy.cuda import nccl
    except ImportError as exc:
        raise ImportError(
            "ember.distributed: CUDA tensors need CuPy built with NCCL "
            '(pip install "ember[cuda]" or a cupy-cudaXXx wheel); CPU tensors use MPI'
        ) from exc
    return cupy, nccl


def nccl_available() -> bool:
    try:
        _import_cupy()
    except ImportError:
        return False
    return True


_DTYPES = {  # numpy dtype name -> NCCL constant name
    "int8": "NCCL_INT8",
    "uint8": "NCCL_UINT8",
    "bool": "NCCL_UINT8",
    "int32": "NCCL_INT32",
    "uint32": "NCCL_UINT32",
    "int64": "NCCL_INT64",
    "uint64": "NCCL_UINT64",
    "float16": "NCCL_FLOAT16",
    "float32": "NCCL_FLOAT32",
    "float64": "NCCL_FLOAT64",
}
_OPS = {"sum": "NCCL_SUM", "product": "NCCL_PROD", "min": "NCCL_MIN", "max": "NCCL_MAX", "avg": "NCCL_AVG"}


def exchange_unique_id(cpu_comm, nccl) -> tuple:
    """Rank 0 draws NCCL's unique id; the MPI communicator gives it to every rank."""
    unique_id = nccl.get_unique_id() if cpu_comm.rank == 0 else None
    return cpu_comm.broadcast_object(unique_id, 0)


class NCCLCommunicator(Communicator):
    """A ``Communicator`` over one NCCL communicator, one CUDA device per rank."""

    def __init__(self, nccl, comm, cupy, rank: int, size: int, device_id: int) -> None:
        self.nccl, self.comm, self.cupy = nccl, comm, cupy
        self.rank, self.size, self.device_id = rank, size, device_id

    @classmethod
    def create(cls, cpu_comm, array) -> NCCLCommunicator:
        """Join the NCCL communicator of ``cpu_comm``'s ranks on ``array``'s device (collective)."""
        cupy, nccl = _import_cupy()
        return cls.create_with(cpu_comm, array.device.id, cupy, nccl)

    @classmethod
    def create_with(cls, cpu_comm, device_id: int, cupy, nccl) -> NCCLCommunicator:
        unique_id = exchange_unique_id(cpu_comm, nccl)
        with cupy.cuda.Device(device_id):
            comm = nccl.NcclCommunicator(cpu_comm.size, unique_id, cpu_comm.rank)
        return cls(nccl, comm, cupy, cpu_comm.rank, cpu_comm.size, device_id)

    # -- helpers -------------------------------------------------------------------------
    def _dtype(self, array) -> int:
        name = _DTYPES.get(str(array.dtype))
        if name is None:
            raise TypeError(f"NCCL cannot move dtype {array.dtype}; supported: {sorted(_DTYPES)}")
        return getattr(self.nccl, name)

    def _op(self, op: str) -> tuple[int, bool]:
        """(NCCL op, divide afterwards): NCCL before 2.10 has no AVG, so SUM then divide."""
        if op == "avg" and not hasattr(self.nccl, "NCCL_AVG"):
            return self.nccl.NCCL_SUM, True
        name = _OPS.get(op)
        if name is None:
            raise ValueError(f"NCCL has no reduce op {op!r}; use SUM, AVG, PRODUCT, MIN or MAX")
        return getattr(self.nccl, name), False

    def _stream(self) -> int:
        return self.cupy.cuda.get_current_stream().ptr

    def _done(self, async_op: bool, finish=None) -> Work | None:
        """Sync calls return at once (stream order keeps later kernels correct)."""
        if finish is not None:
            finish()
        if not async_op:
            return None
        event = self.cupy.cuda.Event(disable_timing=True)
        event.record()
        return Work(lambda: event.done, event.synchronize)

    def _divide(self, array):
        def run() -> None:
            if is_inexact_np(array.dtype):
                self.cupy.divide(array, self.size, out=array)
            else:
                self.cupy.floor_divide(array, self.size, out=array)

        return run

    # -- collectives ---------------------------------------------------------------------
    def allreduce(self, array, op: str, async_op: bool = False) -> Work | None:
        nccl_op, divide = self._op(op)
        self.comm.allReduce(
            array.data.ptr, array.data.ptr, array.size, self._dtype(array), nccl_op, self._stream()
        )
        return self._done(async_op, self._divide(array) if divide else None)

    def broadcast(self, array, root: int, async_op: bool = False) -> Work | None:
        self.comm.bcast(array.data.ptr, array.size, self._dtype(array), root, self._stream())
        return self._done(async_op)

    def reduce(self, array, root: int, op: str, async_op: bool = False) -> Work | None:
        nccl_op, divide = self._op(op)
        self.comm.reduce(
            array.data.ptr, array.data.ptr, array.size, self._dtype(array), nccl_op, root, self._stream()
        )
        finish = self._divide(array) if divide and self.rank == root else None
        return self._done(async_op, finish)

    def allgather(self, send, recv, async_op: bool = False) -> Work | None:
        self.comm.allGather(send.data.ptr, recv.data.ptr, send.size, self._dtype(send), self._stream())
        return self._done(async_op)

    def reduce_scatter(self, send, recv, op: str, async_op: bool = False) -> Work | None:
        nccl_op, divide = self._op(op)
        self.comm.reduceScatter(
            send.data.ptr, recv.data.ptr, recv.size, self._dtype(recv), nccl_op, self._stream()
        )
        return self._done(async_op, self._divide(recv) if divide else None)

    def _grouped(self, sends: Sequence[tuple], recvs: Sequence[tuple]) -> None:
        """NCCL point-to-point calls inside one group: ((array, peer), ...) each way."""
        stream = self._stream()
        self.nccl.groupStart()
        try:
            for array, peer in sends:
                self.comm.send(array.data.ptr, array.size, self._dtype(array), peer, stream)
            for array, peer in recvs:
                self.comm.recv(array.data.ptr, array.size, self._dtype(array), peer, stream)
        finally:
            self.nccl.groupEnd()

    def gather(self, send, recv, root: int, async_op: bool = False) -> Work | None:
        recvs = []
        if self.rank == root:
            blocks = recv.reshape(self.size, -1)
            recvs = [(blocks[peer], peer) for peer in range(self.size)]
        self._grouped([(send, root)], recvs)
        return self._done(async_op)

    def scatter(self, send, recv, root: int, async_op: bool = False) -> Work | None:
        sends = []
        if self.rank == root:
            blocks = send.reshape(self.size, -1)
            sends = [(blocks[peer], peer) for peer in range(self.size)]
        self._grouped(sends, [(recv, root)])
        return self._done(async_op)

    def alltoall(self, sends: Sequence, recvs: Sequence, async_op: bool = False) -> Work | None:
        self._grouped([(a, p) for p, a in enumerate(sends)], [(a, p) for p, a in enumerate(recvs)])
        return self._done(async_op)

    def send(self, array, peer: int, tag: int = 0, async_op: bool = False) -> Work | None:
        self._grouped([(array, peer)], [])
        return self._done(async_op)

    def recv(self, array, peer: int | None, tag: int = 0, async_op: bool = False):
        if peer is None:
            raise ValueError("recv over NCCL needs src (NCCL cannot receive from any rank)")
        self._grouped([], [(array, peer)])
        work = self._done(async_op)
        return work if async_op else peer

    def barrier(self, async_op: bool = False) -> Work | None:
        token = self.cupy.zeros(1, dtype="float32")
        self.allreduce(token, "sum")
        work = self._done(True)
        if async_op:
            return work
        work.wait()
        return None

    def split(self, ranks: Sequence[int]):
        raise NotImplementedError("NCCL communicators of subgroups are built from the MPI split")

    def free(self) -> None:
        self.comm.destroy()
