"""What runs inside a DataLoader worker process, and ``get_worker_info``.

Protocol. The main process sends each worker, on its own index queue, ``("task", epoch, task_id,
payload)``, ``("reset", epoch)`` (persistent workers start a new epoch) or ``None`` (exit).
Workers answer on one shared result queue with ``(worker_id, epoch, task_id, kind, value)``,
``kind`` being ``"data"`` (a pickled batch, its tensors packed as NumPy arrays), ``"error"`` (a
``WorkerFailure``) or ``"end"`` (an iterable dataset's stream is exhausted in this worker).
"""

from __future__ import annotations

import os
import pickle
import queue
import random
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from ember.random import manual_seed
from ember.tensor import Tensor, make
from ember.utils.data.fetch import make_fetcher

__all__ = ["WorkerFailure", "WorkerInfo", "get_worker_info"]

_worker_info: WorkerInfo | None = None
_PARENT_POLL_S = 1.0


@dataclass(frozen=True)
class WorkerInfo:
    """Who this worker is: ``id`` (0-based), ``num_workers``, its ``seed`` and its ``dataset`` copy."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


def get_worker_info() -> WorkerInfo | None:
    """This worker's ``WorkerInfo`` inside a DataLoader worker process; ``None`` in the main process.

    Use it in an ``IterableDataset.__iter__`` to give each worker its own shard:

    >>> get_worker_info() is None
    True
    """
    return _worker_info


class _KeyErrorText(str):
    """KeyError shows ``repr`` of its argument; this keeps a multi-line message readable."""

    def __repr__(self) -> str:
        return str(self)


class WorkerFailure:
    """An exception caught in a worker, carried to the main process as its type and text."""

    def __init__(self, exc: BaseException, worker_id: int, where: str) -> None:
        self.exc_type = type(exc)
        self.type_name = type(exc).__qualname__
        try:
            pickle.dumps(self.exc_type)
        except Exception:  # noqa: BLE001 - any failure to pickle the class means: use RuntimeError
            self.exc_type = RuntimeError
        self.worker_id = worker_id
        self.where = where
        self.traceback = "".join(traceback.format_exception(exc))

    def message(self) -> str:
        return (
            f"Caught {self.type_name} in DataLoader worker {self.worker_id} while loading {self.where}.\n"
            f"Original traceback in the worker:\n{self.traceback}"
        )

    def reraise(self):
        text = self.message()
        try:
            exc = self.exc_type(_KeyErrorText(text) if issubclass(self.exc_type, KeyError) else text)
        except Exception:  # noqa: BLE001 - the type wants other constructor arguments
            exc = RuntimeError(text)
        raise exc


class _Shipped:
    """A tensor's array in transit: pickles as a plain NumPy array, becomes a tensor on arrival."""

    __slots__ = ("array",)

    def __init__(self, array) -> None:
        self.array = array

    def __reduce__(self):
        return (_Shipped, (self.array,))


def pack(obj: Any) -> Any:
    """Replace each Tensor inside dicts, lists and tuples by its array, ready to be pickled."""
    if isinstance(obj, Tensor):
        return _Shipped(obj.detach().numpy(force=True))
    if isinstance(obj, dict):
        return {key: pack(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [pack(value) for value in obj]
    if isinstance(obj, tuple):
        packed = [pack(value) for value in obj]
        return type(obj)(*packed) if hasattr(obj, "_fields") else tuple(packed)
    return obj


def unpack(obj: Any) -> Any:
    """The inverse of ``pack``: arrays back into tensors (no copy)."""
    if isinstance(obj, _Shipped):
        return make(obj.array)
    if isinstance(obj, dict):
        return {key: unpack(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [unpack(value) for value in obj]
    if isinstance(obj, tuple):
        unpacked = [unpack(value) for value in obj]
        return type(obj)(*unpacked) if hasattr(obj, "_fields") else tuple(unpacked)
    return obj


def seed_everything(seed: int) -> None:
    """Seed ember's default generator, NumPy's global RNG and Python's ``random``."""
    manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def worker_loop(
    spec: dict,
    index_queue,
    result_queue,
    worker_id: int,
    num_workers: int,
    seed: int,
    worker_init_fn,
    parent_pid: int,
) -> None:
    """The body of one worker process; returns when told to, or when the main process is gone."""
    global _worker_info
    result_queue.cancel_join_thread()  # never block at exit on results nobody will read
    seed_everything(seed)
    _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=spec["dataset"])
    init_failure = None
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
        fetcher = make_fetcher(spec)
    except Exception as exc:  # noqa: BLE001 - reported to the main process
        init_failure = WorkerFailure(exc, worker_id, "nothing yet (in worker_init_fn)")
    try:
        _serve(
            spec,
            index_queue,
            result_queue,
            worker_id,
            fetcher if init_failure is None else None,
            init_failure,
            parent_pid,
        )
    except KeyboardInterrupt:  # the main process handles Ctrl-C
        pass


def _serve(spec, index_queue, result_queue, worker_id, fetcher, init_failure, parent_pid) -> None:
    while True:
        try:
            message = index_queue.get(timeout=_PARENT_POLL_S)
        except queue.Empty:
            if os.getppid() != parent_pid:  # orphaned: the main process died
                return
            continue
        if message is None:
            return
        if message[0] == "reset":
            if init_failure is None:
                fetcher = make_fetcher(spec)
            continue
        _, epoch, task_id, payload = message
        if init_failure is not None:
            result_queue.put((worker_id, epoch, task_id, "error", init_failure))
            continue
        try:
            batch = fetcher.fetch(payload)
        except StopIteration:
            result_queue.put((worker_id, epoch, task_id, "end", None))
        except Exception as exc:  # noqa: BLE001 - reported to the main process
            result_queue.put(
                (worker_id, epoch, task_id, "error", WorkerFailure(exc, worker_id, fetcher.where))
            )
        else:
            result_queue.put((worker_id, epoch, task_id, *_serialize(batch, worker_id, fetcher.where)))


def _serialize(batch, worker_id: int, where: str) -> tuple:
    # Pickled here, not in the queue's feeder thread, so that a batch that cannot be pickled
    # becomes an error report instead of a lost message (and a main process that waits forever).
    try:
        return "data", pickle.dumps(pack(batch), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - reported to the main process
        return "error", WorkerFailure(exc, worker_id, f"{where}; the collated batch could not be pickled")
