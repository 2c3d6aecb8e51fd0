"""Collectives of Python objects: pickled, and sent only among the ranks of one job.

pickle runs code when it loads, so these functions are for objects your own ranks send each
other (configuration, metrics, small results) — never for data from outside the job.
"""

from __future__ import annotations

from ember.distributed.process_group import ProcessGroup
from ember.distributed.state import _resolve

__all__ = ["all_gather_object", "broadcast_object_list", "gather_object", "scatter_object_list"]


def broadcast_object_list(
    object_list: list,
    src: int = 0,
    group: ProcessGroup | None = None,
    device=None,
    group_src: int | None = None,
) -> None:
    """Replace ``object_list``'s items on every rank by rank ``src``'s (in place)."""
    pg = _resolve(group)
    if pg is None:
        return
    root = group_src if group_src is not None else pg.group_rank(src)
    received = pg.cpu_comm.broadcast_object(list(object_list) if pg.rank() == root else None, root)
    object_list[:] = received


def all_gather_object(object_list: list, obj, group: ProcessGroup | None = None) -> None:
    """Fill ``object_list[i]`` with rank i's ``obj`` on every rank."""
    pg = _resolve(group)
    if pg is None:
        return
    if len(object_list) != pg.size():
        raise ValueError(
            f"all_gather_object: object_list has {len(object_list)} slots; the group has {pg.size()} ranks"
        )
    object_list[:] = pg.cpu_comm.allgather_object(obj)


def gather_object(
    obj, object_gather_list: list | None = None, dst: int = 0, group: ProcessGroup | None = None
) -> None:
    """Collect every rank's ``obj`` into ``object_gather_list`` on rank ``dst``."""
    pg = _resolve(group)
    if pg is None:
        return
    root = pg.group_rank(dst)
    gathered = pg.cpu_comm.gather_object(obj, root)
    if pg.rank() == root:
        if object_gather_list is None or len(object_gather_list) != pg.size():
            raise ValueError(f"gather_object: rank {dst} needs a list of {pg.size()} slots")
        object_gather_list[:] = gathered


def scatter_object_list(
    scatter_object_output_list: list,
    scatter_object_input_list=None,
    src: int = 0,
    group: ProcessGroup | None = None,
) -> None:
    """Rank i receives ``scatter_object_input_list[i]`` (from ``src``) as its output list's [0]."""
    pg = _resolve(group)
    if pg is None:
        return
    root = pg.group_rank(src)
    items = list(scatter_object_input_list) if pg.rank() == root else None
    scatter_object_output_list[0] = pg.cpu_comm.scatter_object(items, root)
