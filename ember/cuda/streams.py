"""CUDA streams and events (``torch.cuda.Stream``, ``Event``, ``stream(s)``)."""

from __future__ import annotations

import contextvars

from ember import backend

__all__ = ["Event", "Stream", "current_stream", "default_stream", "stream"]

_current: contextvars.ContextVar = contextvars.ContextVar("ember_cuda_stream", default=None)


def _cuda(what: str):
    cuda = backend.get("cuda")
    if not cuda.is_available():
        raise RuntimeError(f"ember.cuda.{what}: no CUDA device is available (needs CuPy and an NVIDIA GPU)")
    return cuda


class Stream:
    """A queue of device work; work issued inside ``with ember.cuda.stream(s)`` goes to ``s``."""

    def __init__(self, device=None, priority: int = 0, _native=None) -> None:
        cuda = _cuda("Stream")
        index = None if device is None else int(str(device).rpartition(":")[2] or 0)
        self.native = _native if _native is not None else cuda.Stream(index)
        self.device_index = cuda.current_device() if index is None else index
        self.priority = priority

    def synchronize(self) -> None:
        self.native.synchronize()

    def query(self) -> bool:
        return bool(self.native.done) if hasattr(self.native, "done") else self.native.query()

    def record_event(self, event: Event | None = None) -> Event:
        event = event if event is not None else Event()
        event.record(self)
        return event

    def wait_event(self, event: Event) -> None:
        self.native.wait_event(event.native)

    def wait_stream(self, other: Stream) -> None:
        self.wait_event(other.record_event())

    def __enter__(self) -> Stream:  # noqa: PYI034
        self._context = stream(self)
        self._context.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._context.__exit__(*exc)

    def __eq__(self, other) -> bool:
        return isinstance(other, Stream) and self.native is other.native

    def __hash__(self) -> int:
        return hash(id(self.native))

    def __repr__(self) -> str:
        return f"<ember.cuda.Stream device=cuda:{self.device_index}>"


class Event:
    """A marker in a stream: ``record``, ``synchronize``, ``query`` and ``elapsed_time``."""

    def __init__(
        self, enable_timing: bool = False, blocking: bool = False, interprocess: bool = False
    ) -> None:
        self.enable_timing = enable_timing
        self.native = _cuda("Event").Event(enable_timing)
        self.recorded = False

    def record(self, on: Stream | None = None) -> None:
        on = on if on is not None else current_stream()
        self.native.record(on.native)
        self.recorded = True

    def synchronize(self) -> None:
        self.native.synchronize()

    def query(self) -> bool:
        return (
            bool(getattr(self.native, "done", True))
            if not hasattr(self.native, "query")
            else self.native.query()
        )

    def wait(self, on: Stream | None = None) -> None:
        (on if on is not None else current_stream()).wait_event(self)

    def elapsed_time(self, end: Event) -> float:
        """Milliseconds from this event to ``end`` (both recorded, with ``enable_timing=True``)."""
        if not (self.enable_timing and end.enable_timing):
            raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
        if not (self.recorded and end.recorded):
            raise RuntimeError("Both events must be recorded before calculating elapsed time.")
        return _cuda("Event.elapsed_time").elapsed_ms(self.native, end.native)


_defaults: dict[int, Stream] = {}


def default_stream(device=None) -> Stream:
    cuda = _cuda("default_stream")
    index = cuda.current_device() if device is None else int(str(device).rpartition(":")[2] or 0)
    if index not in _defaults:
        _defaults[index] = Stream(index, _native=cuda.Stream(index, null=True))
    return _defaults[index]


def current_stream(device=None) -> Stream:
    chosen = _current.get()
    return chosen if chosen is not None else default_stream(device)


def make_current(s: Stream) -> None:
    """``s`` current for this thread from now on (``torch.cuda.set_stream``)."""
    _current.set(s)
    if hasattr(s.native, "use"):  # CuPy streams: the device side of the same choice
        s.native.use()


class stream:
    """Context manager: device work inside the block is issued on ``s`` (None: no change)."""

    def __init__(self, s: Stream | None) -> None:
        self.stream = s
        self._token = None
        self._native_ctx = None

    def __enter__(self):
        if self.stream is None:
            return None
        self._token = _current.set(self.stream)
        native = self.stream.native
        if hasattr(native, "__enter__"):  # CuPy streams make themselves current this way
            self._native_ctx = native
            native.__enter__()
        return self.stream

    def __exit__(self, *exc) -> None:
        if self._native_ctx is not None:
            self._native_ctx.__exit__(*exc)
        if self._token is not None:
            _current.reset(self._token)
