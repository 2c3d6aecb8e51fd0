"""DistributedDataParallel's reducer: gradient buckets all-reduced while backward still runs.

Parameters are packed, in *reverse* registration order (roughly the order backward produces
their gradients), into buckets of about ``bucket_cap_mb``. A post-accumulate-grad hook on each
parameter copies its gradient into its bucket's flat buffer; when a bucket is full its
all-reduce (AVG) starts at once, non-blocking, and later hooks poll the started ones so the
engine keeps moving them. Buckets start strictly in index order on every rank, because every
rank must issue the same collectives in the same order. When the last bucket has started the
reducer waits for all of them and writes the averaged gradients back into each ``.grad``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from ember.autograd.function import AccumulateGrad

__all__ = ["Reducer"]

_FIRST_BUCKET_BYTES = 1024 * 1024  # a small first bucket starts communication early, as PyTorch


class _Bucket:
    """Parameters whose gradients travel together in one flat buffer."""

    def __init__(self, index: int, params: list, xp) -> None:
        self.index = index
        self.params = params
        self.offsets = []
        total = 0
        for p in params:
            self.offsets.append(total)
            total += p.numel()
        self.flat = xp.zeros(total, dtype=params[0]._data.dtype)
        self.ready: set[int] = set()
        self.work = None

    def view(self, slot: int):
        p = self.params[slot]
        start = self.offsets[slot]
        return self.flat[start : start + p.numel()].reshape(p._data.shape)

    def reset(self) -> None:
        self.ready.clear()
        self.work = None


def _bucket_params(params: list, cap_bytes: int) -> list[list]:
    """Group parameters (already in reverse order) by dtype and device, up to ``cap_bytes``."""
    buckets: list[list] = []
    open_by_kind: dict[tuple, list] = {}
    sizes: dict[int, int] = {}
    for p in params:
        kind = (str(p._data.dtype), str(p.device))
        current = open_by_kind.get(kind)
        if current is None or sizes[id(current)] >= _limit(current, buckets, cap_bytes):
            current = open_by_kind[kind] = []
            buckets.append(current)
            sizes[id(current)] = 0
        current.append(p)
        sizes[id(current)] += p._data.nbytes
    return buckets


def _limit(bucket: list, buckets: list, cap_bytes: int) -> int:
    return min(_FIRST_BUCKET_BYTES, cap_bytes) if bucket is buckets[0] else cap_bytes


def reachable_leaves(outputs) -> set[int]:
    """ids of the leaf tensors that the autograd graph of ``outputs`` reaches."""
    from ember.tensor import Tensor

    seen, found, stack = set(), set(), []
    for out in _tensors_in(outputs, Tensor):
        if out.grad_fn is not None:
            stack.append(out.grad_fn)
        elif out.requires_grad:
            found.add(id(out))
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if type(node) is AccumulateGrad:
            variable = node.variable
            if variable is not None:
                found.add(id(variable))
            continue
        stack.extend(nxt for nxt, _ in node._edges if nxt is not None)
    return found


def _tensors_in(value, Tensor) -> Iterable:
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors_in(item, Tensor)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors_in(item, Tensor)


class Reducer:
    """Owns the buckets and the gradient hooks of one DistributedDataParallel module."""

    def __init__(
        self, named_params: list[tuple[str, object]], group, cap_bytes: int, find_unused_parameters: bool
    ) -> None:
        from ember.backend import xp_of

        self.group = group
        self.find_unused = find_unused_parameters
        self.names = {id(p): name for name, p in named_params}
        ordered = [p for _, p in reversed(named_params)]
        self.buckets = [
            _Bucket(i, ps, xp_of(ps[0]._data)) for i, ps in enumerate(_bucket_params(ordered, cap_bytes))
        ]
        self.slot_of = {id(p): (b, i) for b in self.buckets for i, p in enumerate(b.params)}
        self.handles = [p.register_post_accumulate_grad_hook(self._on_grad) for p in ordered]
        self.active = False
        self.next_bucket = 0
        self.hooks_seen = 0
        self.launch_log: list[dict] = []  # one record per started bucket (tests, profiling)
        self.globally_used = None
        self.used_work = None
        self.wait_seconds = 0.0  # total time backward spent waiting for all-reduces (profiling)

    # -- one iteration ---------------------------------------------------------------------
    def prepare(self, outputs) -> None:
        """Arm the hooks for the backward pass of ``outputs`` (called at the end of forward)."""
        self.check_finished()
        for b in self.buckets:
            b.reset()
        self.next_bucket = 0
        self.hooks_seen = 0
        self.launch_log = []
        self.active = True
        if self.find_unused:
            self._mark_unused(reachable_leaves(outputs))

    def disarm(self) -> None:
        self.check_finished()
        self.active = False

    def check_finished(self) -> None:
        if self.active and self.hooks_seen > 0:
            missing = [
                self.names[id(p)] for b in self.buckets for i, p in enumerate(b.params) if i not in b.ready
            ]
            self.active = False
            raise RuntimeError(
                "DistributedDataParallel: expected to have finished reduction in the prior "
                "iteration before starting a new one. These parameters received no gradient: "
                f"{missing}. If your model has parameters that forward does not use, construct "
                "it with find_unused_parameters=True; make sure every output that depends on "
                "parameters takes part in the loss."
            )

    def _mark_unused(self, used_ids: set[int]) -> None:
        from ember.backend import xp_of

        flags = []
        for b in self.buckets:
            for slot, p in enumerate(b.params):
                used = id(p) in used_ids
                flags.append(1 if used else 0)
                if not used:
                    self._fill_slot(b, slot, p)
        first = self.buckets[0].flat if self.buckets else None
        if first is None:
            return
        self.globally_used = xp_of(first).asarray(flags, dtype="int32")
        self.used_work = self.group.communicator_for(self.globally_used).allreduce(
            self.globally_used, "max", async_op=True
        )
        self._launch_ready()

    # -- hooks ------------------------------------------------------------------------------
    def _on_grad(self, p) -> None:
        if not self.active:
            return
        bucket, slot = self.slot_of[id(p)]
        if slot in bucket.ready:
            raise RuntimeError(
                f"DistributedDataParallel: parameter {self.names[id(p)]} received its gradient "
                "twice in one backward pass (a parameter used by several backward passes, or "
                "find_unused_parameters=True with a parameter used after all); call backward "
                "once per forward"
            )
        self.hooks_seen += 1
        self._fill_slot(bucket, slot, p)
        for started in self.buckets[: self.next_bucket]:
            started.work.is_completed()  # lets MPI move the started buckets along
        self._launch_ready()

    def _fill_slot(self, bucket: _Bucket, slot: int, p) -> None:
        view = bucket.view(slot)
        if p.grad is None:
            view[...] = 0
        else:
            view[...] = p.grad._data
        bucket.ready.add(slot)

    def _launch_ready(self) -> None:
        while self.next_bucket < len(self.buckets) and len(self.buckets[self.next_bucket].ready) == len(
            self.buckets[self.next_bucket].params
        ):
            bucket = self.buckets[self.next_bucket]
            comm = self.group.communicator_for(bucket.flat)
            bucket.work = comm.allreduce(bucket.flat, "avg", async_op=True)
            self.launch_log.append(
                {"bucket": bucket.index, "hooks_seen": self.hooks_seen, "time": time.perf_counter()}
            )
            self.next_bucket += 1
        if self.next_bucket == len(self.buckets) and self.active:
            self._finalize()

    def _finalize(self) -> None:
        """Wait for every bucket and write the averaged gradients into ``.grad``."""
        self.active = False
        if self.used_work is not None:
            self.used_work.wait()
        flags = None if self.globally_used is None else self.globally_used.tolist()
        position = 0
        start = time.perf_counter()
        for bucket in self.buckets:
            bucket.work.wait()
        self.wait_seconds += time.perf_counter() - start
        for bucket in self.buckets:
            for slot, p in enumerate(bucket.params):
                used = flags is None or flags[position]
                position += 1
                if not used and p.grad is None:
                    continue
                self._write_grad(p, bucket.view(slot))
        self.globally_used = self.used_work = None

    @staticmethod
    def _write_grad(p, averaged) -> None:
        from ember.tensor import make

        if p.grad is None:
            p.grad = make(averaged.copy())
        else:
            p.grad._data[...] = averaged

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
