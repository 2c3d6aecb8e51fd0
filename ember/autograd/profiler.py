"""``torch.autograd.profiler``: ``record_function`` ranges and a small ``profile`` that times them.

``profile`` records the wall-clock time of every ``record_function`` range entered while it is
active (ember has no per-op profiler hooks), and ``key_averages().table()`` summarises them.
"""

from __future__ import annotations

import functools
import json
import time
from collections import defaultdict
from contextvars import ContextVar

__all__ = ["profile", "record_function"]

_active: ContextVar[tuple] = ContextVar("ember_profilers", default=())


class FunctionEventAvg:
    """The totals of one range name: ``key``, ``count``, ``cpu_time_total`` (microseconds)."""

    def __init__(self, key: str) -> None:
        self.key, self.count, self.cpu_time_total = key, 0, 0.0

    @property
    def cpu_time(self) -> float:
        """Mean microseconds per call."""
        return self.cpu_time_total / max(self.count, 1)


class EventList(list):
    """Recorded ranges (or their averages), with PyTorch's ``table``."""

    def table(self, sort_by: str | None = None, row_limit: int = 100, **unused) -> str:
        rows = list(self)
        if sort_by and rows and hasattr(rows[0], sort_by):
            rows.sort(key=lambda e: getattr(e, sort_by), reverse=True)
        lines = [f"{'Name':<40} {'Calls':>8} {'CPU total (us)':>16} {'CPU avg (us)':>14}"]
        for e in rows[:row_limit]:
            count = getattr(e, "count", 1)
            lines.append(
                f"{e.key:<40} {count:>8} {e.cpu_time_total:>16.1f} {e.cpu_time_total / max(count, 1):>14.1f}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


class FunctionEvent:
    """One range: ``name`` (also ``key``), start and end in microseconds."""

    def __init__(self, name: str, start_us: float, end_us: float) -> None:
        self.name = self.key = name
        self.time_range = (start_us, end_us)
        self.cpu_time_total = end_us - start_us


class profile:
    """Collect the ``record_function`` ranges run inside the block.

    >>> with profile() as prof:
    ...     with record_function("step"):
    ...         pass
    >>> [e.key for e in prof.key_averages()]
    ['step']
    """

    def __init__(
        self,
        enabled: bool = True,
        *,
        use_cuda: bool = False,
        use_device=None,
        record_shapes: bool = False,
        with_flops: bool = False,
        profile_memory: bool = False,
        with_stack: bool = False,
        with_modules: bool = False,
        use_kineto: bool = False,
        use_cpu: bool = True,
        experimental_config=None,
        acc_events: bool = False,
        custom_trace_id_callback=None,
    ) -> None:
        self.enabled = enabled
        self._events = EventList()
        self._token = None

    def __enter__(self):
        if self.enabled:
            self._token = _active.set((*_active.get(), self))
        return self

    def __exit__(self, *exc_info) -> None:
        if self._token is not None:
            _active.reset(self._token)
            self._token = None

    def events(self) -> EventList:
        return self._events

    @property
    def function_events(self) -> EventList:
        return self._events

    def key_averages(
        self, group_by_input_shape: bool = False, group_by_stack_n: int = 0, **unused
    ) -> EventList:
        totals: dict = defaultdict(lambda: None)
        for e in self._events:
            avg = totals[e.key] or FunctionEventAvg(e.key)
            avg.count += 1
            avg.cpu_time_total += e.cpu_time_total
            totals[e.key] = avg
        return EventList(totals.values())

    def table(self, *args, **kwargs) -> str:
        return self.key_averages().table(*args, **kwargs)

    def export_chrome_trace(self, path: str) -> None:
        """Write the ranges as a Chrome trace (``chrome://tracing``), atomically."""
        from ember.serialization.atomic import atomic_write  # a higher layer: only when asked

        trace = [
            {"name": e.name, "ph": "X", "ts": e.time_range[0], "dur": e.cpu_time_total, "pid": 0, "tid": 0}
            for e in self._events
        ]
        with atomic_write(path) as f:
            f.write(json.dumps({"traceEvents": trace}).encode())

    def _record(self, event: FunctionEvent) -> None:
        self._events.append(event)


class record_function:
    """Label a range of code for the profiler; a context manager or a decorator.

    >>> with record_function("forward"):
    ...     pass
    """

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name, self.args = name, args
        self._start = None

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc_info) -> None:
        end = time.perf_counter()
        for prof in _active.get():
            prof._record(FunctionEvent(self.name, self._start * 1e6, end * 1e6))

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)

        return wrapped
