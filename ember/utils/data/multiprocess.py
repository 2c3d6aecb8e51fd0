"""The DataLoader's iterator over worker processes: task dispatch, prefetching, order, failures.

Tasks go round-robin to the workers, ``prefetch_factor`` per worker in flight; batches come back
on one queue in any order and are handed out in task order. While waiting, the iterator polls
the workers' liveness, so a worker that dies gives an error within a fraction of a second.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import pickle
import queue
import signal
import time
import weakref

from ember.utils.data.pin import pin_available, pin_batch
from ember.utils.data.worker import unpack, worker_loop

__all__ = ["MultiProcessIterator"]

_POLL_S = 0.1
_JOIN_S = 2.0
_live: weakref.WeakSet = weakref.WeakSet()
_SKIP = object()  # a task whose worker had no more data (iterable datasets)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "is not responding"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited unexpectedly with exit code {code}"


class MultiProcessIterator:
    """Iterates a DataLoader with ``num_workers > 0``; with persistent workers it is reused."""

    def __init__(self, loader) -> None:
        self._closed = True
        ctx = loader._multiprocessing_context()
        self._num_workers = loader.num_workers
        self._prefetch = loader.prefetch_factor * loader.num_workers
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        self._pin = pin_available(loader.pin_memory)
        self._iterable = loader._is_iterable
        self._epoch = 0
        self._base_seed = loader._draw_base_seed()
        spec = loader._fetch_spec()
        self._result_queue = ctx.Queue()
        self._index_queues, self._workers = [], []
        self._closed = False
        _live.add(self)
        for worker_id in range(self._num_workers):
            index_queue = ctx.Queue()
            index_queue.cancel_join_thread()  # a dead worker must not block our exit
            process = ctx.Process(
                target=worker_loop,
                daemon=True,
                args=(
                    spec,
                    index_queue,
                    self._result_queue,
                    worker_id,
                    self._num_workers,
                    self._base_seed + worker_id,
                    loader.worker_init_fn,
                    os.getpid(),
                ),
            )
            process.start()
            self._index_queues.append(index_queue)
            self._workers.append(process)
        self._start_epoch(loader, draw_seed=False)

    # -- epochs and task dispatch --------------------------------------------------------
    def _start_epoch(self, loader, draw_seed: bool = True) -> None:
        if draw_seed:  # keeps the loader's generator in step with the num_workers=0 path
            loader._draw_base_seed()
        self._epoch += 1
        if self._epoch > 1:
            for index_queue in self._index_queues:
                index_queue.put(("reset", self._epoch))
        self._sampler_iter = None if self._iterable else iter(loader._index_sampler)
        self._length = len(loader) if loader._has_len() else None
        self._sent = self._received = 0
        self._task_worker: dict[int, int] = {}
        self._arrived: dict[int, object] = {}
        self._active = [True] * self._num_workers
        self._next_worker = 0
        self._sampler_done = False
        for _ in range(self._prefetch):
            self._send_task()

    def _reset(self, loader) -> MultiProcessIterator:
        self._start_epoch(loader)
        return self

    def _send_task(self) -> None:
        if self._sampler_done:
            return
        for _ in range(self._num_workers):
            worker_id = self._next_worker
            self._next_worker = (worker_id + 1) % self._num_workers
            if self._active[worker_id]:
                break
        else:
            return
        payload = None
        if self._sampler_iter is not None:
            try:
                payload = next(self._sampler_iter)
            except StopIteration:
                self._sampler_done = True
                return
        self._index_queues[worker_id].put(("task", self._epoch, self._sent, payload))
        self._task_worker[self._sent] = worker_id
        self._sent += 1

    def _release(self) -> None:
        """The persistent loader is gone: finish the epoch being read, then shut down, as a
        non-persistent iterator does (now, if no batch is outstanding)."""
        self._persistent = False
        if self._received >= self._sent:
            self._shutdown()

    # -- receiving -----------------------------------------------------------------------
    def __iter__(self) -> MultiProcessIterator:
        return self

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError("DataLoader over an IterableDataset without __len__ has no len()")
        return self._length

    def __next__(self):
        while True:
            if self._closed or self._received >= self._sent:
                if not self._persistent:
                    self._shutdown()
                raise StopIteration
            item = self._arrived.pop(self._received, None)
            if item is None:
                self._receive_one()
                continue
            self._task_worker.pop(self._received, None)
            self._received += 1
            self._send_task()
            if item is _SKIP:
                continue
            batch = unpack(pickle.loads(item))
            return pin_batch(batch) if self._pin else batch

    def _receive_one(self) -> None:
        worker_id, epoch, task_id, kind, value = self._get()
        if epoch != self._epoch:  # a leftover of an epoch that was abandoned
            return
        if kind == "data":
            self._arrived[task_id] = value
        elif kind == "end":
            self._active[worker_id] = False
            self._arrived[task_id] = _SKIP
        else:
            self._shutdown(graceful=False)
            value.reraise()

    def _get(self):
        started = time.monotonic()
        while True:
            try:
                return self._result_queue.get(timeout=_POLL_S)
            except queue.Empty:
                pass
            self._check_workers()
            waited = time.monotonic() - started
            if self._timeout > 0 and waited > self._timeout:
                self._shutdown(graceful=False)
                raise RuntimeError(
                    f"DataLoader timed out after {self._timeout} seconds waiting for batch {self._received} "
                    f"from worker {self._task_worker.get(self._received)}; raise timeout= or make loading faster"
                )

    def _check_workers(self) -> None:
        for worker_id, process in enumerate(self._workers):
            if not process.is_alive():
                exitcode = process.exitcode
                self._shutdown(graceful=False)
                raise RuntimeError(
                    f"DataLoader worker {worker_id} (pid {process.pid}) {_describe_exit(exitcode)}. "
                    "It may have run out of memory or crashed in native code; try num_workers=0 to see "
                    "the error in the main process"
                )

    # -- shutdown ------------------------------------------------------------------------
    def _shutdown(self, graceful: bool = True) -> None:
        """Stop the workers: ask them to exit (``graceful``), then terminate any that linger."""
        if self._closed:
            return
        self._closed = True
        _live.discard(self)
        for index_queue in self._index_queues:
            try:
                index_queue.put(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + (_JOIN_S if graceful else 0.0)
        for process in self._workers:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in self._workers:
            if process.is_alive():
                process.terminate()
                process.join(timeout=0.5)
        for q in (*self._index_queues, self._result_queue):
            q.cancel_join_thread()
            q.close()

    def __del__(self) -> None:
        try:
            self._shutdown()
        except Exception:  # noqa: BLE001, S110 - interpreter teardown: modules may already be gone
            pass


@atexit.register
def _shutdown_all() -> None:
    for iterator in list(_live):
        iterator._shutdown()


def default_context():
    """'fork' on Linux (cheap start, nothing to pickle), 'spawn' elsewhere."""
    import sys

    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")
