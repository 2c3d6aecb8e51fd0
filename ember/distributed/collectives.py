"""The collectives of ``torch.distributed``, on ember tensors, in place on their memory.

Each function takes tensors, finds the group's communicator for their device (MPI for CPU
arrays, NCCL for CUDA ones) and hands it the tensors' own arrays: nothing is copied unless a
tensor is not contiguous (then it goes through one contiguous staging array) or PyTorch's
signature takes a list where the engine wants one buffer (``all_gather``, ``reduce_scatter``,
``gather``, ``scatter``). ``src``/``dst`` are global ranks, as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable

from ember.distributed.communicator import Work
from ember.distributed.process_group import ProcessGroup, ReduceOp
from ember.distributed.state import _resolve

__all__ = [
    "P2POp",
    "all_gather",
    "all_gather_into_tensor",
    "all_reduce",
    "all_to_all",
    "all_to_all_single",
    "barrier",
    "batch_isend_irecv",
    "broadcast",
    "gather",
    "irecv",
    "isend",
    "recv",
    "reduce",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "scatter",
    "send",
]


# ---------------------------------------------------------------- tensors <-> engine buffers


def _array(tensor, what: str, op: str):
    from ember.tensor import Tensor

    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: {what} must be an ember Tensor, got {type(tensor).__name__}")
    return tensor._data


def _contiguous(tensor, what: str, op: str):
    """(buffer, write_back): the tensor's own array when contiguous, else a staging copy."""
    array = _array(tensor, what, op)
    if array.flags.c_contiguous:
        return array, _no_write_back
    staged = array.copy()  # C order

    def write_back() -> None:
        array[...] = staged

    return staged, write_back


def _no_write_back() -> None:
    pass


def _op_name(op) -> str:
    if isinstance(op, ReduceOp):
        return op.value
    if isinstance(op, str) and op.lower() in {o.value for o in ReduceOp}:
        return op.lower()
    raise ValueError(f"unknown reduce op {op!r}: use ember.distributed.ReduceOp.SUM/AVG/...")


def _finish(work: Work | None, after: Callable[[], None], async_op: bool, result=None):
    """Run ``after`` once the engine is done: now when blocking, on ``wait()`` when async."""
    if not async_op:
        after()
        return None
    previous = work._finish

    def both() -> None:
        if previous is not None:
            previous()
        after()

    work._finish = both
    work._result = result
    return work


def _bump(*tensors, op: str) -> None:
    for t in tensors:
        t._bump_version(op)


def _same_device(op: str, *tensors) -> None:
    devices = {str(t.device) for t in tensors}
    if len(devices) > 1:
        raise RuntimeError(
            f"{op}: tensors are on different devices ({sorted(devices)}); move them to one device"
        )


def _check_numel(op: str, what: str, got: int, want: int) -> None:
    if got != want:
        raise ValueError(f"{op}: {what} has {got} elements but {want} are needed")


# ---------------------------------------------------------------- collectives


def all_reduce(tensor, op=ReduceOp.SUM, group: ProcessGroup | None = None, async_op: bool = False):
    """Reduce ``tensor`` over every rank of ``group``, in place, so all ranks hold the result."""
    pg = _resolve(group)
    if pg is None:
        return None
    buf, write_back = _contiguous(tensor, "tensor", "all_reduce")
    work = pg.communicator_for(buf).allreduce(buf, _op_name(op), async_op)
    _bump(tensor, op="all_reduce")
    return _finish(work, write_back, async_op, [tensor])


def broadcast(
    tensor,
    src: int = 0,
    group: ProcessGroup | None = None,
    async_op: bool = False,
    group_src: int | None = None,
):
    """Copy ``tensor`` from rank ``src`` to every rank of ``group``, in place."""
    pg = _resolve(group)
    if pg is None:
        return None
    root = group_src if group_src is not None else pg.group_rank(src)
    buf, write_back = _contiguous(tensor, "tensor", "broadcast")
    work = pg.communicator_for(buf).broadcast(buf, root, async_op)
    _bump(tensor, op="broadcast")
    return _finish(work, write_back, async_op, [tensor])


def reduce(
    tensor,
    dst: int = 0,
    op=ReduceOp.SUM,
    group: ProcessGroup | None = None,
    async_op: bool = False,
    group_dst: int | None = None,
):
    """Reduce ``tensor`` over the group onto rank ``dst`` (other ranks' tensors are unchanged)."""
    pg = _resolve(group)
    if pg is None:
        return None
    root = group_dst if group_dst is not None else pg.group_rank(dst)
    buf, write_back = _contiguous(tensor, "tensor", "reduce")
    if pg.rank() != root:
        write_back = _no_write_back  # only dst's tensor receives the result
    work = pg.communicator_for(buf).reduce(buf, root, _op_name(op), async_op)
    _bump(tensor, op="reduce")
    return _finish(work, write_back, async_op, [tensor])


def all_gather(tensor_list: list, tensor, group: ProcessGroup | None = None, async_op: bool = False):
    """Fill ``tensor_list[i]`` with rank i's ``tensor``, on every rank."""
    pg = _resolve(group)
    if pg is None:
        return None
    if len(tensor_list) != pg.size():
        raise ValueError(
            f"all_gather: tensor_list has {len(tensor_list)} tensors; the group has {pg.size()} ranks"
        )
    send, _ = _contiguous(tensor, "tensor", "all_gather")
    recv = _empty_like_blocks(send, pg.size())
    work = pg.communicator_for(send).allgather(send, recv, async_op)

    def scatter_out() -> None:
        for i, out in enumerate(tensor_list):
            _array(out, f"tensor_list[{i}]", "all_gather")[...] = recv[i].reshape(out.shape)
        _bump(*tensor_list, op="all_gather")

    return _finish(work, scatter_out, async_op, tensor_list)


def _empty_like_blocks(array, count: int):
    from ember.backend import xp_of

    return xp_of(array).empty((count,) + array.shape, array.dtype)


def all_gather_into_tensor(
    output_tensor, input_tensor, group: ProcessGroup | None = None, async_op: bool = False
):
    """Gather every rank's ``input_tensor`` into ``output_tensor`` (stacked or concatenated)."""
    pg = _resolve(group)
    if pg is None:
        return None
    send, _ = _contiguous(input_tensor, "input_tensor", "all_gather_into_tensor")
    recv, write_back = _contiguous(output_tensor, "output_tensor", "all_gather_into_tensor")
    _check_numel("all_gather_into_tensor", "output_tensor", recv.size, send.size * pg.size())
    work = pg.communicator_for(send).allgather(send, recv, async_op)
    _bump(output_tensor, op="all_gather_into_tensor")
    return _finish(work, write_back, async_op, [output_tensor])


def reduce_scatter(
    output, input_list: list, op=ReduceOp.SUM, group: ProcessGroup | None = None, async_op: bool = False
):
    """Reduce ``input_list[i]`` over the group onto rank i's ``output``."""
    pg = _resolve(group)
    if pg is None:
        return None
    if len(input_list) != pg.size():
        raise ValueError(
            f"reduce_scatter: input_list has {len(input_list)} tensors; the group has {pg.size()} ranks"
        )
    from ember.backend import xp_of

    arrays = [_array(t, f"input_list[{i}]", "reduce_scatter") for i, t in enumerate(input_list)]
    send = xp_of(arrays[0]).concatenate([a.reshape(-1) for a in arrays])
    recv, write_back = _contiguous(output, "output", "reduce_scatter")
    _check_numel("reduce_scatter", "output", recv.size * pg.size(), send.size)
    work = pg.communicator_for(send).reduce_scatter(send, recv, _op_name(op), async_op)
    _bump(output, op="reduce_scatter")
    return _finish(work, write_back, async_op, [output])


def reduce_scatter_tensor(
    output, input, op=ReduceOp.SUM, group: ProcessGroup | None = None, async_op: bool = False
):
    """Reduce ``input`` (``size`` blocks along dim 0) over the group; block i lands on rank i."""
    pg = _resolve(group)
    if pg is None:
        return None
    send, _ = _contiguous(input, "input", "reduce_scatter_tensor")
    recv, write_back = _contiguous(output, "output", "reduce_scatter_tensor")
    _check_numel("reduce_scatter_tensor", "input", send.size, recv.size * pg.size())
    work = pg.communicator_for(send).reduce_scatter(send, recv, _op_name(op), async_op)
    _bump(output, op="reduce_scatter_tensor")
    return _finish(work, write_back, async_op, [output])


def gather(
    tensor,
    gather_list: list | None = None,
    dst: int = 0,
    group: ProcessGroup | None = None,
    async_op: bool = False,
    group_dst: int | None = None,
):
    """Collect every rank's ``tensor`` into ``gather_list`` on rank ``dst``."""
    pg = _resolve(group)
    if pg is None:
        return None
    root = group_dst if group_dst is not None else pg.group_rank(dst)
    send, _ = _contiguous(tensor, "tensor", "gather")
    is_root = pg.rank() == root
    if is_root and (gather_list is None or len(gather_list) != pg.size()):
        raise ValueError(f"gather: rank {dst} needs a gather_list of {pg.size()} tensors")
    recv = _empty_like_blocks(send, pg.size()) if is_root else None
    work = pg.communicator_for(send).gather(send, recv, root, async_op)

    def scatter_out() -> None:
        if is_root:
            for i, out in enumerate(gather_list):
                _array(out, f"gather_list[{i}]", "gather")[...] = recv[i].reshape(out.shape)
            _bump(*gather_list, op="gather")

    return _finish(work, scatter_out, async_op, gather_list)


def scatter(
    tensor,
    scatter_list: list | None = None,
    src: int = 0,
    group: ProcessGroup | None = None,
    async_op: bool = False,
    group_src: int | None = None,
):
    """Give rank i ``scatter_list[i]`` from rank ``src``, into its ``tensor``."""
    pg = _resolve(group)
    if pg is None:
        return None
    root = group_src if group_src is not None else pg.group_rank(src)
    recv, write_back = _contiguous(tensor, "tensor", "scatter")
    send = None
    if pg.rank() == root:
        if scatter_list is None or len(scatter_list) != pg.size():
            raise ValueError(f"scatter: rank {src} needs a scatter_list of {pg.size()} tensors")
        from ember.backend import xp_of

        arrays = [_array(t, f"scatter_list[{i}]", "scatter") for i, t in enumerate(scatter_list)]
        send = xp_of(arrays[0]).concatenate([a.reshape(-1) for a in arrays])
    work = pg.communicator_for(recv).scatter(send, recv, root, async_op)
    _bump(tensor, op="scatter")
    return _finish(work, write_back, async_op, [tensor])


def all_to_all(
    output_tensor_list: list,
    input_tensor_list: list,
    group: ProcessGroup | None = None,
    async_op: bool = False,
):
    """Send ``input_tensor_list[i]`` to rank i; receive rank i's into ``output_tensor_list[i]``."""
    pg = _resolve(group)
    if pg is None:
        return None
    for name, lst in (("output_tensor_list", output_tensor_list), ("input_tensor_list", input_tensor_list)):
        if len(lst) != pg.size():
            raise ValueError(f"all_to_all: {name} has {len(lst)} tensors; the group has {pg.size()} ranks")
    sends = [
        _contiguous(t, f"input_tensor_list[{i}]", "all_to_all")[0] for i, t in enumerate(input_tensor_list)
    ]
    staged = [
        _contiguous(t, f"output_tensor_list[{i}]", "all_to_all") for i, t in enumerate(output_tensor_list)
    ]
    recvs = [s for s, _ in staged]
    work = pg.communicator_for(sends[0]).alltoall(sends, recvs, async_op)

    def write_back() -> None:
        for _, back in staged:
            back()

    _bump(*output_tensor_list, op="all_to_all")
    return _finish(work, write_back, async_op, output_tensor_list)


def all_to_all_single(
    output,
    input,
    output_split_sizes=None,
    input_split_sizes=None,
    group: ProcessGroup | None = None,
    async_op: bool = False,
):
    """``all_to_all`` on the blocks of one tensor along dim 0 (split sizes default to equal)."""
    pg = _resolve(group)
    if pg is None:
        return None
    outs = _split_rows(output, output_split_sizes, pg.size())
    ins = _split_rows(input, input_split_sizes, pg.size())
    return all_to_all(outs, ins, group=pg, async_op=async_op)


def _split_rows(tensor, sizes, count: int) -> list:
    if sizes is None:
        if tensor.shape[0] % count:
            raise ValueError(
                f"all_to_all_single: dim 0 ({tensor.shape[0]}) does not divide "
                f"into {count} equal blocks; give split sizes"
            )
        sizes = [tensor.shape[0] // count] * count
    return list(tensor.split(list(sizes), 0))


def send(
    tensor, dst: int, group: ProcessGroup | None = None, tag: int = 0, group_dst: int | None = None
) -> None:
    """Send ``tensor`` to rank ``dst`` (blocks until the engine has taken the data)."""
    pg = _resolve(group)
    if pg is not None:
        peer = group_dst if group_dst is not None else pg.group_rank(dst)
        buf, _ = _contiguous(tensor, "tensor", "send")
        pg.communicator_for(buf).send(buf, peer, tag)


def recv(
    tensor,
    src: int | None = None,
    group: ProcessGroup | None = None,
    tag: int = 0,
    group_src: int | None = None,
) -> int:
    """Receive into ``tensor`` from rank ``src`` (any rank when None); returns the sender's rank."""
    pg = _resolve(group)
    if pg is None:
        return -1
    peer = group_src if group_src is not None else (None if src is None else pg.group_rank(src))
    buf, write_back = _contiguous(tensor, "tensor", "recv")
    sender = pg.communicator_for(buf).recv(buf, peer, tag)
    write_back()
    _bump(tensor, op="recv")
    return pg.ranks[sender]


def isend(
    tensor, dst: int, group: ProcessGroup | None = None, tag: int = 0, group_dst: int | None = None
) -> Work | None:
    """Start sending ``tensor`` to rank ``dst``; returns a ``Work``."""
    pg = _resolve(group)
    if pg is None:
        return None
    peer = group_dst if group_dst is not None else pg.group_rank(dst)
    buf, _ = _contiguous(tensor, "tensor", "isend")
    return pg.communicator_for(buf).send(buf, peer, tag, async_op=True)


def irecv(
    tensor,
    src: int | None = None,
    group: ProcessGroup | None = None,
    tag: int = 0,
    group_src: int | None = None,
) -> Work | None:
    """Start receiving into ``tensor``; returns a ``Work``."""
    pg = _resolve(group)
    if pg is None:
        return None
    peer = group_src if group_src is not None else (None if src is None else pg.group_rank(src))
    buf, write_back = _contiguous(tensor, "tensor", "irecv")
    work = pg.communicator_for(buf).recv(buf, peer, tag, async_op=True)
    _bump(tensor, op="irecv")
    return _finish(work, write_back, True, [tensor])


def barrier(group: ProcessGroup | None = None, async_op: bool = False, device_ids=None):
    """Wait until every rank of ``group`` has reached this call."""
    pg = _resolve(group)
    if pg is None:
        return None
    work = pg.cpu_comm.barrier(async_op)
    return work if async_op else None


def monitored_barrier(group: ProcessGroup | None = None, timeout=None, wait_all_ranks: bool = False) -> None:
    barrier(group)


class P2POp:
    """One point-to-point operation for ``batch_isend_irecv``: ``P2POp(dist.isend, t, peer)``."""

    def __init__(
        self,
        op,
        tensor,
        peer: int | None = None,
        group: ProcessGroup | None = None,
        tag: int = 0,
        group_peer: int | None = None,
    ) -> None:
        if op not in (isend, irecv):
            raise ValueError("P2POp: op must be ember.distributed.isend or irecv")
        self.op, self.tensor, self.peer, self.group, self.tag = op, tensor, peer, group, tag
        self.group_peer = group_peer


def batch_isend_irecv(p2p_op_list: list) -> list:
    """Start every ``P2POp`` of the list; returns their ``Work`` handles."""
    works = []
    for p in p2p_op_list:
        if p.op is isend:
            works.append(isend(p.tensor, p.peer, p.group, p.tag, group_dst=p.group_peer))
        else:
            works.append(irecv(p.tensor, p.peer, p.group, p.tag, group_src=p.group_peer))
    return works
