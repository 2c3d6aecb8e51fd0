"""Joining and leaving the job: ``init_process_group`` and the questions about it.

Under ``mpiexec`` (and so under ``ember-run``) the rank and world size come from MPI; the
variables torchrun sets (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
``MASTER_PORT``) are set by ``ember-run`` too, and where present they are checked against MPI's
answer, so a script written for torchrun runs unchanged.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import timedelta

from ember.distributed import process_group as _groups
from ember.distributed.process_group import Backend, GroupMember, ProcessGroup

__all__ = [
    "default_group",
    "destroy_process_group",
    "get_backend",
    "get_global_rank",
    "get_group_rank",
    "get_process_group_ranks",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_available",
    "is_gloo_available",
    "is_initialized",
    "is_mpi_available",
    "is_nccl_available",
    "is_torchelastic_launched",
    "new_group",
]

_GLOO_NOTE = "ember.distributed: backend 'gloo' runs on MPI (ember's CPU engine)"


def is_available() -> bool:
    """True when the MPI engine (mpi4py) can be imported; ``import ember.distributed`` always works."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_mpi_available() -> bool:
    return is_available()


def is_gloo_available() -> bool:
    """'gloo' is served by MPI on the CPU."""
    return is_available()


def is_nccl_available() -> bool:
    """True when CuPy with NCCL can be imported (CUDA tensors)."""
    from ember.distributed.nccl import nccl_available

    return nccl_available()


def is_torchelastic_launched() -> bool:
    return "TORCHELASTIC_RUN_ID" in os.environ or "EMBER_RUN_DIR" in os.environ


def is_initialized() -> bool:
    return GroupMember.WORLD is not None


class ProcessGroupNotInitialized(ValueError, RuntimeError):
    """No default group yet: PyTorch raises a ValueError here; it is a RuntimeError too, which
    ember raised before."""


def default_group() -> ProcessGroup:
    """The default group, or an error saying to call ``init_process_group`` first."""
    if GroupMember.WORLD is None:
        raise ProcessGroupNotInitialized(
            "Default process group has not been initialized, please make sure to call init_process_group."
        )
    return GroupMember.WORLD


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    return None if value in (None, "") else int(value)


def _check_agrees(what: str, given: int | None, mpi_value: int) -> None:
    if given is not None and given >= 0 and given != mpi_value:
        raise ValueError(
            f"init_process_group: {what}={given} but MPI says {mpi_value}; launch with "
            "`ember-run --nproc-per-node N script.py` (or mpiexec) and leave rank/world_size unset"
        )


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout: timedelta | None = None,
    world_size: int = -1,
    rank: int = -1,
    store=None,
    group_name: str = "",
    pg_options=None,
    device_id=None,
) -> None:
    """Join the job: the default process group over every rank.

    ``backend`` is ``"mpi"`` (CPU), ``"nccl"`` (CUDA tensors through NCCL, CPU ones and Python
    objects through MPI) or ``"gloo"`` (mapped to MPI, with a one-line note).
    """
    if GroupMember.WORLD is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = Backend(backend or "mpi")
    _check_init_method(init_method)
    from ember.distributed.mpi import MPICommunicator, import_mpi

    MPI = import_mpi()
    world = MPI.COMM_WORLD
    size, me = world.Get_size(), world.Get_rank()
    wanted_size = world_size if world_size > 0 else _env_int("WORLD_SIZE")
    if size == 1 and wanted_size is not None and wanted_size > 1:
        raise RuntimeError(
            f"init_process_group: WORLD_SIZE is {wanted_size} but this process is not part of an "
            "MPI job; ember's engine is MPI, so start the ranks with "
            f"`ember-run --nproc-per-node {wanted_size} script.py` (or mpiexec)"
        )
    _check_agrees("world_size", wanted_size, size)
    _check_agrees("rank", rank if rank >= 0 else _env_int("RANK"), me)
    if name == "gloo" and me == 0:
        print(_GLOO_NOTE, file=sys.stderr)
    comm = MPICommunicator(world.Dup())
    pg = ProcessGroup(comm, list(range(size)), str(name))
    GroupMember.WORLD = _groups.group.WORLD = pg


def _check_init_method(init_method: str | None) -> None:
    if init_method is None or init_method.startswith(("env://", "tcp://", "mpi://")):
        return
    raise ValueError(
        f"init_process_group: init_method {init_method!r} is not supported; use 'env://' "
        "(the default) under ember-run or mpiexec"
    )


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Leave the job (or free one group); ``init_process_group`` may be called again after."""
    if group is None or group is GroupMember.WORLD:
        pg = GroupMember.WORLD
        GroupMember.WORLD = _groups.group.WORLD = None
        for sub in _SUBGROUPS:
            sub.free()
        _SUBGROUPS.clear()
        if pg is not None:
            pg.free()
        return
    if group in _SUBGROUPS:
        _SUBGROUPS.remove(group)
        group.free()


_SUBGROUPS: list[ProcessGroup] = []


def _resolve(pg: ProcessGroup | None) -> ProcessGroup | None:
    """The group a call means: the default one for None, None when this rank is not a member."""
    if pg is None:
        return default_group()
    if pg is GroupMember.NON_GROUP_MEMBER:
        return None
    return pg


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in ``group`` (default: the whole job); -1 if not a member."""
    pg = _resolve(group)
    return -1 if pg is None else pg.rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    """How many ranks ``group`` (default: the whole job) has; -1 if not a member."""
    pg = _resolve(group)
    return -1 if pg is None else pg.size()


def get_backend(group: ProcessGroup | None = None) -> str:
    pg = _resolve(group)
    if pg is None:
        raise ValueError("get_backend: this rank is not part of the given group")
    return pg.backend


def new_group(
    ranks: Sequence[int] | None = None,
    timeout=None,
    backend: str | None = None,
    pg_options=None,
    use_local_synchronization: bool = False,
    group_desc=None,
):
    """A group of some ranks; every rank of the job must call it, as in PyTorch.

    Non-members get ``GroupMember.NON_GROUP_MEMBER``, which collectives ignore.
    """
    world = default_group()
    members = sorted(set(range(world.size()) if ranks is None else ranks))
    for r in members:
        if not 0 <= r < world.size():
            raise ValueError(f"new_group: rank {r} is outside the job (world size {world.size()})")
    comm = world.cpu_comm.split(members)
    if comm is None:
        return GroupMember.NON_GROUP_MEMBER
    pg = ProcessGroup(comm, members, str(Backend(backend)) if backend else world.backend)
    _SUBGROUPS.append(pg)
    return pg


def get_process_group_ranks(group: ProcessGroup) -> list[int]:
    """The global ranks of ``group``, in group-rank order."""
    pg = _resolve(group)
    return [] if pg is None else list(pg.ranks)


def get_global_rank(group: ProcessGroup, group_rank: int) -> int:
    """The global rank of ``group``'s rank ``group_rank``."""
    return _resolve(group).ranks[group_rank]


def get_group_rank(group: ProcessGroup, global_rank: int) -> int:
    """``group``'s number for global rank ``global_rank``."""
    return _resolve(group).group_rank(global_rank)
