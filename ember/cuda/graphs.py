"""CUDA graphs: capture device work once, replay it with one launch (``torch.cuda.graphs``).

``CUDAGraph``, the ``graph`` context manager, ``graph_pool_handle``,
``is_current_stream_capturing`` and ``make_graphed_callables`` follow PyTorch's names and
semantics; ``make_graphed_step`` is ember's own helper for a whole training step. The backend
does the device work (``ember.backend.cuda``: CuPy stream capture into a private memory pool;
the stand-in records a tape, ``ember.backend.fake_graph``). See ``docs/cuda-graphs.md``.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import Any

from ember import backend
from ember.cuda.streams import Stream, current_stream, default_stream, stream

__all__ = [
    "CUDAGraph",
    "graph",
    "graph_pool_handle",
    "is_current_stream_capturing",
    "make_graphed_callables",
    "make_graphed_step",
]


def _cuda(what: str):
    cuda = backend.get("cuda")
    if not cuda.is_available():
        raise RuntimeError(
            f"ember.cuda.{what}: CUDA is not available (CUDA graphs need CuPy and an NVIDIA GPU: "
            "pip install cupy-cuda12x)"
        )
    return cuda


def is_current_stream_capturing() -> bool:
    """True while a CUDA graph capture is underway on the current stream (False without CUDA)."""
    if "ember.backend.cuda" not in sys.modules and "ember.backend.fake_cuda" not in sys.modules:
        return False  # CUDA was never touched, so nothing can be capturing
    cuda = backend.get("cuda")
    return cuda.is_available() and cuda.is_capturing()


def graph_pool_handle():
    """An opaque token for a graph memory pool, to share between captures (``pool=``)."""
    return _cuda("graph_pool_handle").graph_pool()


class CUDAGraph:
    """A captured sequence of device work that ``replay()`` launches again.

    Allocations made during the capture come from the graph's private pool (``pool()``), so
    the tensors a capture creates keep their memory, and nothing outside the graph gets it.
    """

    def __init__(self, keep_graph: bool = False) -> None:
        self._backend = _cuda("CUDAGraph")
        self._graph = None
        self._pool = None
        self._stream: Stream | None = None

    def capture_begin(self, pool=None, capture_error_mode: str = "global") -> None:
        """Begin capturing the work issued on the current stream (not the default stream)."""
        on = current_stream()
        if on == default_stream():
            raise RuntimeError(
                "CUDA graphs must be captured on a non-default stream. (However, after capture, "
                "it's ok to replay them on the default stream.)"
            )
        self._pool = pool if pool is not None else self._backend.graph_pool()
        self._backend.capture_begin(on.native, self._pool)
        self._stream = on

    def capture_end(self) -> None:
        """End the capture begun by ``capture_begin``; ``replay()`` may be called afterwards."""
        if self._stream is None:
            raise RuntimeError("CUDAGraph.capture_end: no capture is underway (call capture_begin)")
        on, self._stream = self._stream, None
        self._graph = self._backend.capture_end(on.native)

    def _abort(self) -> None:
        if self._stream is not None:
            on, self._stream = self._stream, None
            self._backend.capture_abort(on.native)

    def replay(self) -> None:
        """Launch the captured work on the current stream."""
        if self._graph is None:
            raise RuntimeError(
                "CUDAGraph.replay: nothing has been captured (use ember.cuda.graph(g) or "
                "capture_begin()/capture_end() first, and not after reset())"
            )
        self._backend.replay(self._graph, current_stream().native)

    def reset(self) -> None:
        """Delete the captured graph and release this graph's hold on its memory pool."""
        self._graph = None
        self._pool = None

    def pool(self):
        """The graph's memory pool token, to share it with another capture (``pool=``)."""
        if self._pool is None:
            self._pool = self._backend.graph_pool()
        return self._pool

    def debug_dump(self, debug_path: str) -> None:
        raise NotImplementedError("CUDAGraph.debug_dump is not supported by ember")


class graph:
    """Context manager that captures the device work inside it into ``cuda_graph``.

    As in PyTorch: the device is synchronized first, the work runs on ``stream`` (default: a
    side stream shared by all captures) and allocations come from ``pool`` (default: the
    graph's own). The captured work does not run during the capture; call ``replay()``.
    """

    default_capture_stream: Stream | None = None

    def __init__(
        self,
        cuda_graph: CUDAGraph,
        pool=None,
        stream: Stream | None = None,
        capture_error_mode: str = "global",
    ) -> None:
        if stream is None:
            if graph.default_capture_stream is None:
                graph.default_capture_stream = Stream()
            stream = graph.default_capture_stream
        self.cuda_graph = cuda_graph
        self.pool = pool
        self.capture_stream = stream
        self._stream_context = None

    def __enter__(self) -> None:
        from ember import cuda

        cuda.synchronize()
        gc.collect()
        self._stream_context = stream(self.capture_stream)
        self._stream_context.__enter__()
        try:
            self.cuda_graph.capture_begin(self.pool)
        except BaseException:
            self._stream_context.__exit__(None, None, None)
            raise

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.cuda_graph.capture_end()
            else:
                self.cuda_graph._abort()
        finally:
            self._stream_context.__exit__(exc_type, exc, tb)


def _warm_up(fn: Callable[[], Any], iterations: int) -> None:
    """Run ``fn`` on a side stream, as PyTorch documents before a capture."""
    side = Stream()
    side.wait_stream(current_stream())
    with stream(side):
        for _ in range(iterations):
            fn()
    current_stream().wait_stream(side)


def make_graphed_step(step_fn: Callable[..., Any], *static_inputs, warmup: int = 3, pool=None):
    """Capture a whole training step ``step_fn(*static_inputs)`` and return a replaying callable.

    ``step_fn`` does forward, backward and the optimizer step (calling ``optimizer.zero_grad()``
    first: inside a capture gradients are zeroed in place, as with ``set_to_none=False``, so
    ``.grad`` keeps its memory). The step first runs ``warmup`` times on a side stream: those
    are real training steps on the static inputs' current contents. Then it is captured. The
    returned ``step(*inputs)`` copies each input into its static buffer and replays the graph;
    it returns the static outputs (the tensors ``step_fn`` returned at capture, refreshed by
    every replay). ``step.graph``, ``step.static_inputs`` and ``step.static_outputs`` are there.
    """
    _cuda("make_graphed_step")
    _warm_up(lambda: step_fn(*static_inputs), warmup)
    captured = CUDAGraph()
    with graph(captured, pool=pool):
        static_outputs = step_fn(*static_inputs)

    def step(*inputs):
        if len(inputs) != len(static_inputs):
            raise TypeError(
                f"make_graphed_step: the step was captured with {len(static_inputs)} inputs, "
                f"got {len(inputs)}"
            )
        for buffer, value in zip(static_inputs, inputs):
            if value is not buffer:
                buffer.copy_(value)
        captured.replay()
        return static_outputs

    step.graph = captured
    step.static_inputs = static_inputs
    step.static_outputs = static_outputs
    return step


def make_graphed_callables(
    callables, sample_args, num_warmup_iters: int = 3, allow_unused_input: bool = False, pool=None
):
    """Graphed versions of modules or functions: forward and backward each replay a CUDA graph.

    As PyTorch's: ``sample_args`` are the static inputs (a tuple per callable); a tuple of
    callables must run in the given order. A graphed module keeps
    its parameters and its ``forward`` replays the graph (in training mode). Each callable gets
    its own memory pool unless ``pool`` is given.
    """
    _cuda("make_graphed_callables")
    from ember.cuda import _graphed

    single = not isinstance(callables, tuple)
    if single:
        callables, sample_args = (callables,), (sample_args,)
    # one pool per callable unless asked: the live order (all forwards, then the backwards in
    # reverse) differs from the capture order, so sharing would not be safe by default
    graphed = tuple(
        _graphed.graph_callable(fn, tuple(args), num_warmup_iters, allow_unused_input, pool)
        for fn, args in zip(callables, sample_args)
    )
    return graphed[0] if single else graphed
