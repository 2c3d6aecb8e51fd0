"""Process groups: the ranks that take part in a collective, and the communicators they use.

A ``ProcessGroup`` always holds an MPI communicator (CPU tensors, Python objects, the NCCL id
rendezvous); for CUDA tensors it builds an NCCL communicator on first use, as PyTorch creates
its NCCL communicators lazily.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["Backend", "GroupMember", "ProcessGroup", "ReduceOp", "group"]


class ReduceOp(Enum):
    """How ``all_reduce``/``reduce``/``reduce_scatter`` combine the ranks' tensors."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"

    def __repr__(self) -> str:
        return f"<ReduceOp.{self.name}>"


class Backend(str):
    """Backend names, as ``torch.distributed.Backend``: ``Backend.MPI == "mpi"``."""

    MPI = "mpi"
    NCCL = "nccl"
    GLOO = "gloo"

    def __new__(cls, name: str):
        value = str(name).lower()
        if value not in ("mpi", "nccl", "gloo"):
            raise ValueError(f"Invalid backend: {name!r}; ember supports 'mpi', 'nccl', 'gloo'")
        return super().__new__(cls, value)


class ProcessGroup:
    """A set of ranks (``ranks``, in global rank numbers) and the communicators among them."""

    def __init__(self, cpu_comm, ranks: list[int], backend: str) -> None:
        self.cpu_comm = cpu_comm
        self.ranks = list(ranks)
        self.backend = backend
        self._cuda_comm = None

    def rank(self) -> int:
        return self.cpu_comm.rank

    def size(self) -> int:
        return self.cpu_comm.size

    def group_rank(self, global_rank: int) -> int:
        """This group's number for a global rank; ValueError names the group if it is absent."""
        try:
            return self.ranks.index(global_rank)
        except ValueError:
            raise ValueError(
                f"rank {global_rank} is not part of this group (global ranks {self.ranks})"
            ) from None

    def communicator_for(self, array):
        """The communicator that moves ``array``: MPI for NumPy memory, NCCL for CUDA memory."""
        if type(array).__module__.split(".")[0] == "numpy":
            return self.cpu_comm
        if self._cuda_comm is None:
            from ember.distributed.nccl import NCCLCommunicator

            self._cuda_comm = NCCLCommunicator.create(self.cpu_comm, array)
        return self._cuda_comm

    def free(self) -> None:
        if self._cuda_comm is not None:
            self._cuda_comm.free()
        self.cpu_comm.free()

    def __repr__(self) -> str:
        return f"<ember.distributed.ProcessGroup backend={self.backend} ranks={self.ranks}>"


class GroupMember:
    """``GroupMember.WORLD`` (the default group once initialised) and ``NON_GROUP_MEMBER``."""

    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = object()


class group:
    """``group.WORLD``: the default process group."""

    WORLD: ProcessGroup | None = None
