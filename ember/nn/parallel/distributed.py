"""``DistributedDataParallel``: one model replica per rank, gradients averaged during backward.

>>> import ember
>>> ember.nn.parallel.DDP is ember.nn.parallel.DistributedDataParallel
True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ember.autograd.grad_mode import grad_enabled
from ember.nn.modules.module import Module
from ember.nn.parallel._reducer import Reducer

__all__ = ["DDP", "DistributedDataParallel"]


class DistributedDataParallel(Module):
    """Wrap ``module`` so that ``backward`` averages its gradients over every rank.

    At construction rank 0's parameters and buffers are broadcast to all ranks. Gradients are
    packed into buckets of about ``bucket_cap_mb`` megabytes in reverse parameter order; each
    bucket's all-reduce starts (non-blocking) from gradient hooks as soon as its last gradient
    is in, so communication overlaps the rest of backward. ``state_dict()`` keys carry the
    ``module.`` prefix as in PyTorch; save ``ddp.module.state_dict()`` for plain keys.

    Args:
        module: the model (its parameters on one device).
        process_group: the group to average over (default: every rank).
        bucket_cap_mb: bucket size in megabytes (the first bucket is 1 MB, as in PyTorch).
        find_unused_parameters: mark parameters that forward did not use as ready at once
            (needed when some parameters get no gradient in an iteration).
        broadcast_buffers: copy rank 0's buffers (e.g. BatchNorm statistics) to every rank at
            the start of each forward.
    """

    def __init__(
        self,
        module: Module,
        device_ids=None,
        output_device=None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        process_group=None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
        **_unused,
    ) -> None:
        super().__init__()
        from ember.distributed.state import default_group

        self.module = module
        self.process_group = process_group if process_group is not None else default_group()
        self.device_ids, self.output_device, self.dim = device_ids, output_device, dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self._check_one_device()
        self._sync_module_states()
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        object.__setattr__(self, "reducer", Reducer(named, self.process_group, cap, find_unused_parameters))

    def _check_one_device(self) -> None:
        devices = {str(p.device) for p in self.module.parameters()}
        if len(devices) > 1:
            raise ValueError(
                "DistributedDataParallel: the module's parameters are on several devices "
                f"({sorted(devices)}); put the replica of each rank on one device"
            )

    def _sync_module_states(self) -> None:
        """Rank 0's parameters and buffers, everywhere (one broadcast per dtype)."""
        tensors = [p.detach() for p in self.module.parameters()]
        tensors += [b for b in self.module.buffers()]
        _broadcast_coalesced(tensors, self.process_group)

    def forward(self, *inputs, **kwargs):
        if self.broadcast_buffers and self.require_forward_param_sync:
            buffers = list(self.module.buffers())
            if buffers and self.process_group.size() > 1:
                _broadcast_coalesced(buffers, self.process_group)
        output = self.module(*inputs, **kwargs)
        if grad_enabled.get() and self.require_backward_grad_sync:
            self.reducer.prepare(output)
        else:
            self.reducer.disarm()
        return output

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, backward accumulates gradients locally; the first backward after syncs them."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def extra_repr(self) -> str:
        return f"process_group ranks={self.process_group.ranks}, buckets={len(self.reducer.buckets)}"


DDP = DistributedDataParallel


def _broadcast_coalesced(tensors: list, group) -> None:
    """Broadcast ``tensors`` from the group's first rank, one flat buffer per dtype and device."""
    from ember import distributed as dist
    from ember.backend import xp_of

    by_kind: dict[tuple, list] = {}
    for t in tensors:
        by_kind.setdefault((str(t._data.dtype), str(t.device)), []).append(t)
    src = group.ranks[0]
    for members in by_kind.values():
        arrays = [t._data for t in members]
        xp = xp_of(arrays[0])
        flat = xp.concatenate([a.reshape(-1) for a in arrays])
        flat_tensor = _wrap(flat)
        dist.broadcast(flat_tensor, src=src, group=group)
        offset = 0
        for a in arrays:
            a[...] = flat[offset : offset + a.size].reshape(a.shape)
            offset += a.size


def _wrap(array):
    from ember.tensor import make

    return make(array)
