"""``torch.profiler``: the profiler training loops drive with ``schedule`` and ``step()``.

It records what ``ember.autograd.profiler`` records, the ``record_function`` ranges entered
while it is active (ember has no per-op hooks), during the steps its schedule marks for
recording, and hands each finished cycle to ``on_trace_ready`` (for instance
``tensorboard_trace_handler``, which writes a Chrome trace).

>>> from ember.profiler import ProfilerActivity, profile, record_function, schedule
>>> ready = []
>>> with profile(activities=[ProfilerActivity.CPU], schedule=schedule(wait=1, warmup=0, active=2),
...              on_trace_ready=lambda p: ready.append(len(p.events()))) as prof:
...     for step in range(3):
...         with record_function("train_step"):
...             pass
...         prof.step()
>>> ready
[2]
"""

from __future__ import annotations

import enum
import os
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

from ember.autograd import profiler as _autograd_profiler
from ember.autograd.profiler import EventList, record_function

__all__ = [
    "ProfilerAction",
    "ProfilerActivity",
    "profile",
    "record_function",
    "schedule",
    "supported_activities",
    "tensorboard_trace_handler",
]


class ProfilerActivity(enum.Enum):
    """What a profiler may trace; ember traces the CPU side (its record_function ranges)."""

    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    """What the profiler does at a step of its schedule."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities() -> set[ProfilerActivity]:
    """The activities ember can record: the CPU's."""
    return {ProfilerActivity.CPU}


def schedule(
    *, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0, skip_first_wait: int = 0
) -> Callable[[int], ProfilerAction]:
    """Cycles of ``wait`` idle steps, ``warmup`` steps, then ``active`` recorded steps (the last of
    which hands the trace over), ``repeat`` times (0: forever), after ``skip_first`` steps.
    ``skip_first_wait=1`` leaves out the first cycle's wait."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise ValueError("Invalid profiler schedule arguments")
    cycle = wait + warmup + active

    def action(step: int) -> ProfilerAction:
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait
        if repeat and step // cycle >= repeat:
            return ProfilerAction.NONE
        position = step % cycle
        if position < wait:
            return ProfilerAction.NONE
        if position < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD_AND_SAVE if position == cycle - 1 else ProfilerAction.RECORD

    return action


def _always_record(step: int) -> ProfilerAction:
    return ProfilerAction.RECORD


_RECORDING = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)


class profile(_autograd_profiler.profile):  # noqa: N801 - PyTorch's name
    """Record ``record_function`` ranges during the steps ``schedule`` marks for recording.

    Args:
        activities: accepted (ember records the CPU side whatever is asked).
        schedule: ``step -> ProfilerAction``; without one every step is recorded.
        on_trace_ready: called with the profiler when a recording cycle ends (and at exit).
        record_shapes, profile_memory, with_stack, with_flops, with_modules: accepted; ember's
            ranges carry names and times only.
    """

    def __init__(
        self,
        *,
        activities: Iterable[ProfilerActivity] | None = None,
        schedule: Callable[[int], ProfilerAction] | None = None,
        on_trace_ready: Callable[[profile], Any] | None = None,
        record_shapes: bool = False,
        profile_memory: bool = False,
        with_stack: bool = False,
        with_flops: bool = False,
        with_modules: bool = False,
        experimental_config=None,
        execution_trace_observer=None,
        acc_events: bool = False,
        use_cuda: bool | None = None,
        custom_trace_id_callback=None,
        post_processing_timeout_s: float | None = None,
    ) -> None:
        super().__init__(record_shapes=record_shapes, profile_memory=profile_memory, with_stack=with_stack)
        self.activities = set(activities) if activities is not None else supported_activities()
        self.schedule = schedule or _always_record
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.current_action = ProfilerAction.NONE

    def _set_recording(self, recording: bool) -> None:
        if recording and self._token is None:
            super().__enter__()
        elif not recording and self._token is not None:
            super().__exit__(None, None, None)

    def start(self) -> None:
        self.step_num = 0
        self.current_action = self.schedule(0)
        self._set_recording(self.current_action in _RECORDING)

    def stop(self) -> None:
        if self.current_action in _RECORDING:
            self._set_recording(False)
            self._trace_ready()
        self.current_action = ProfilerAction.NONE

    def step(self) -> None:
        """Mark the end of a training step: the schedule decides what the next one records."""
        previous = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        if previous == ProfilerAction.RECORD_AND_SAVE:
            self._set_recording(False)
            self._trace_ready()
        if self.current_action in _RECORDING and previous not in _RECORDING:
            self._events = EventList()
        self._set_recording(self.current_action in _RECORDING)

    def _trace_ready(self) -> None:
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def __enter__(self) -> profile:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def tensorboard_trace_handler(
    dir_name: str, worker_name: str | None = None, use_gzip: bool = False, use_python_export: bool = False
) -> Callable[[profile], None]:
    """An ``on_trace_ready`` that writes each trace to ``dir_name`` as
    ``<worker>.<time in ns>.pt.trace.json`` (gzipped with ``use_gzip``)."""
    worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"

    def handler(prof: profile) -> None:
        os.makedirs(dir_name, exist_ok=True)
        name = os.path.join(dir_name, f"{worker}.{time.time_ns()}.pt.trace.json")
        prof.export_chrome_trace(name)
        if use_gzip:
            import gzip

            with open(name, "rb") as plain, gzip.open(name + ".gz", "wb") as packed:
                packed.write(plain.read())
            os.remove(name)

    return handler
