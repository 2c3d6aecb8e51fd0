"""The CPU backend's intra-op thread pool: large element-wise kernels split across a few threads.

NumPy releases the GIL inside its ufunc loops, so two Python threads running ufuncs over two
halves of an array run on two cores. This module owns the one pool of the process:

* **size**: ``EMBER_NUM_THREADS``, else the BLAS thread count (``OPENBLAS_NUM_THREADS``,
  ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``), else ``os.cpu_count()``; ``set_num_threads(n)``
  resizes it (``ember.set_num_threads`` calls it). A pool of one runs everything inline, on
  the caller's thread: exactly the code without a pool.
* **synchronous**: ``run`` gives each worker its part, does the first part itself and waits for
  the others, so pool work never overlaps a BLAS call made from the caller's thread; nothing
  given to the pool may call BLAS (``@``, ``einsum``, ``dot``), so BLAS's own threads and these
  never run at once.
* **cheap**: workers are persistent threads, each blocked on its own lock; a dispatch is two
  lock hand-offs per worker (15-40 us on the 2-core VM this was measured on, most of it the
  operating system waking a thread), which is why small arrays never use the pool
  (``MIN_ELEMENTS``) and why only kernels with several passes or transcendental functions use
  it (GELU, softmax's ``exp``): a single memory-bound pass (an add) is as fast on one core as
  on two.
* **safe**: one dispatch at a time; a second caller (another Python thread, or a pool worker
  whose work calls back into a parallel kernel) runs its work inline instead of waiting. An
  exception raised in a part is raised in the caller after every part finished. After
  ``fork`` the child starts with no workers and makes new ones on first use.
* **deterministic**: the split depends only on the array size and the thread count, at
  boundaries that are multiples of ``ALIGN`` elements; element-wise results are bit-identical to
  the unsplit kernel's at any thread count (every element goes through the same SIMD loop).
"""

from __future__ import annotations

import _thread
import contextvars
import os
import threading
from collections.abc import Callable, Sequence
from functools import partial

__all__ = [
    "ALIGN",
    "MIN_ELEMENTS",
    "default_num_threads",
    "get_num_threads",
    "parallel_for",
    "parallel_elementwise",
    "run",
    "set_num_threads",
    "split",
]

#: below this many elements a kernel runs inline: measured on the 2-core VM, a dispatch costs
#: 15-40 us, the time of an ``exp`` over ~50k float32 elements or an add over ~250k
MIN_ELEMENTS = 1 << 17

#: split points fall on multiples of this many elements, so every part starts at the same
#: alignment (mod 64 bytes) as the whole array and runs the same SIMD loops
ALIGN = 64

_BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def default_num_threads() -> int:
    """``EMBER_NUM_THREADS``, else the BLAS thread count from the environment, else the CPUs."""
    for name in ("EMBER_NUM_THREADS", *_BLAS_VARIABLES):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                count = int(value.split(",")[0])
            except ValueError:
                continue
            if count > 0:
                return count
    return os.cpu_count() or 1


class _Worker:
    """A persistent thread that runs one task each time its ``go`` lock is released."""

    def __init__(self):
        self.go = _thread.allocate_lock()
        self.done = _thread.allocate_lock()
        self.go.acquire()
        self.done.acquire()
        self.task: Callable[[], None] | None = None
        self.error: BaseException | None = None
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, name="ember-intra-op", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            self.go.acquire()
            if self.stopping:
                return
            try:
                self.task()
            except BaseException as exc:  # handed to the caller, raised there
                self.error = exc
            self.task = None
            self.done.release()

    def start(self, task: Callable[[], None]) -> None:
        self.task, self.error = task, None
        self.go.release()

    def wait(self) -> BaseException | None:
        self.done.acquire()
        return self.error

    def stop(self) -> None:
        self.stopping = True
        self.go.release()
        self.thread.join()


class _Pool:
    """``size - 1`` workers plus the calling thread; one dispatch at a time."""

    def __init__(self, size: int):
        self.size = size
        self.workers: list[_Worker] = []
        self.busy = _thread.allocate_lock()

    def resize(self, size: int) -> None:
        with self.busy:  # never while a dispatch runs
            self.size = size
            while len(self.workers) > size - 1:
                self.workers.pop().stop()

    def forget_workers(self) -> None:
        """In a forked child: the parent's threads do not exist here."""
        self.workers = []
        self.busy = _thread.allocate_lock()

    def run(self, tasks: Sequence[Callable[[], None]]) -> None:
        if len(tasks) == 1 or not self.busy.acquire(blocking=False):
            for task in tasks:  # nested or concurrent use: inline, in order
                task()
            return
        try:
            self._dispatch(tasks)
        finally:
            self.busy.release()

    def _dispatch(self, tasks: Sequence[Callable[[], None]]) -> None:
        while len(self.workers) < len(tasks) - 1:
            self.workers.append(_Worker())
        started = self.workers[: len(tasks) - 1]
        for worker, task in zip(started, tasks[1:]):
            # the caller's context (NumPy's errstate, grad mode) goes with each part
            worker.start(partial(contextvars.copy_context().run, task))
        first_error = None
        try:
            tasks[0]()
        except BaseException as exc:
            first_error = exc
        for worker in started:  # wait for every part before anything is raised
            error = worker.wait()
            first_error = first_error or error
        if first_error is not None:
            raise first_error


_pool = _Pool(default_num_threads())
os.register_at_fork(after_in_child=_pool.forget_workers)


def get_num_threads() -> int:
    """The number of threads kernels are split across (the caller's included)."""
    return _pool.size


def set_num_threads(count: int) -> None:
    """Use ``count`` threads (the caller's included) for the kernels that split."""
    _pool.resize(int(count))


def run(tasks: Sequence[Callable[[], None]]) -> None:
    """Run the tasks, one per thread, the first on the caller's; return when all are done.

    An exception from any task is raised here, after all have finished. Tasks must not call
    BLAS; they may run in any order, and inline (in order) when the pool is busy.
    """
    _pool.run(tasks)


def split(n: int, min_elements: int | None = None, align: int = ALIGN) -> list[tuple[int, int]]:
    """``[0, n)`` as contiguous ``(start, stop)`` parts, one per thread, at multiples of ``align``;
    one part when ``n < min_elements`` (default ``MIN_ELEMENTS``) or the pool has one thread."""
    if min_elements is None:
        min_elements = MIN_ELEMENTS
    parts = min(_pool.size, -(-n // align)) if n >= min_elements else 1
    if parts <= 1:
        return [(0, n)]
    step = -(-n // parts // align) * align
    bounds = [min(i * step, n) for i in range(parts)] + [n]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def parallel_for(
    n: int, body: Callable[[int, int], None], *, align: int = ALIGN, min_elements: int | None = None
) -> None:
    """``body(start, stop)`` over ``[0, n)``: once, ``body(0, n)``, on one thread or below
    ``min_elements``; else once per thread over contiguous parts split at multiples of ``align``
    (a kernel's rows or cache-sized chunks), all parts running at once. ``body`` must write only
    its own part of any shared output and allocate its own temporaries."""
    parts = split(n, min_elements, align)
    if len(parts) == 1:
        body(0, n)
        return
    run([_bind(body, a, b) for a, b in parts])


def _bind(body, start: int, stop: int) -> Callable[[], None]:
    return lambda: body(start, stop)


def parallel_elementwise(kernel, *operands, out=None, dtype=None, min_elements: int | None = None):
    """``kernel(*operands, out=out)``, split across the pool when that is the same computation.

    ``kernel`` is a ufunc, or a function of arrays that computes element by element and writes
    its result into ``out`` (a new array when ``out`` is None), such as
    ``lambda g, y, out=None: np.multiply(g, y > 0, out=out)``; ``dtype`` is the result's dtype
    for a new ``out`` (default: what a ufunc gives, else the first array operand's).
    It splits when the result is large and C-contiguous, and each operand is a number, a C-contiguous
    array of the result's shape (then split into flat ranges), or an array that broadcasts to it
    and is constant along its first axis or C-contiguous and as long (then split by rows: a
    (1, C, H, W) slab against (N, C, H, W), or layer norm's (N, L, 1) statistics against
    (N, L, D)); ``out`` may be an operand but may not overlap one otherwise. Anything else (strided views, other broadcasts, small arrays, one
    thread) is the plain call, ``kernel(*operands, out=out)``. Returns the result.
    """
    if min_elements is None:
        min_elements = MIN_ELEMENTS
    if _pool.size == 1 or _largest(operands, out) < min_elements:
        return kernel(*operands, out=out)
    shape = _split_shape(operands, out)
    if shape is None:
        return kernel(*operands, out=out)
    if out is None:
        out = _result_array(kernel, operands, shape, dtype)
        if out is None:
            return kernel(*operands, out=out)
    size = _prod(shape)
    flat = all(getattr(x, "ndim", 0) == 0 or x.shape == shape for x in operands)
    per_row = 1 if flat else size // shape[0]
    parts = split(size, min_elements, align=ALIGN if flat else max(per_row, ALIGN))
    if len(parts) == 1:
        return kernel(*operands, out=out)
    run([_elementwise_part(kernel, operands, out, shape, per_row, a, b) for a, b in parts])
    return out


def _largest(operands, out) -> int:
    if out is not None:
        return out.size
    return max((getattr(x, "size", 1) for x in operands), default=0)


def _elementwise_part(kernel, operands, out, shape, per_row: int, start: int, stop: int):
    """Elements ``[start, stop)`` of the result: the flat range of arrays of the result's shape
    (whole rows when ``per_row > 1``), the whole of broadcast operands and numbers."""

    def cut(x):
        if per_row == 1:
            return x.reshape(-1)[start:stop] if getattr(x, "shape", None) == shape else x
        return x[start // per_row : stop // per_row] if _split_by_rows(x, shape) else x

    def part() -> None:
        kernel(*map(cut, operands), out=cut(out))

    return part


def _split_shape(operands, out):
    """The result shape when the operands allow the split (see ``parallel_elementwise``), else
    None."""
    shape = None if out is None else out.shape
    arrays = [x for x in operands if hasattr(x, "shape") and x.ndim > 0]
    if not arrays or (out is not None and any(_overlaps(x, out) for x in arrays)):
        return None
    if shape is None:
        shape = max((x.shape for x in arrays), key=lambda s: (len(s), _prod(s)))
    if all(x.shape == shape for x in arrays):
        fits = (out is None or out.flags.c_contiguous) and all(x.flags.c_contiguous for x in arrays)
        return tuple(shape) if fits and (out is None or out.flags.writeable) else None
    if len(shape) < 2 or shape[0] < 2:
        return None
    if out is not None and not (out.flags.c_contiguous and out.flags.writeable):
        return None
    for x in arrays:
        if len(x.shape) > len(shape) or not _broadcasts_to(x.shape, shape):
            return None
        if _split_by_rows(x, shape) and not x.flags.c_contiguous:
            return None
    return tuple(shape)


def _broadcasts_to(xshape, shape) -> bool:
    padded = (1,) * (len(shape) - len(xshape)) + tuple(xshape)
    return all(a == b or a == 1 for a, b in zip(padded, shape))


def _split_by_rows(x, shape) -> bool:
    """Whether operand ``x`` runs along the result's first axis (is cut by rows), rather than
    being constant along it (broadcast whole to every part)."""
    return getattr(x, "ndim", 0) == len(shape) and x.shape[0] == shape[0]


def _overlaps(x, out) -> bool:
    """Whether ``x`` shares memory with ``out`` other than by being the same elements."""
    if x is out or (x.__array_interface__ == out.__array_interface__):
        return False
    import numpy as np  # the CPU backend's own module

    return np.may_share_memory(x, out)


def _result_array(kernel, operands, shape, dtype):
    """A new C-contiguous array for the result: of ``dtype``, else of the dtype a ufunc gives,
    else of the first array operand's dtype; None when that cannot be told without calling it."""
    import numpy as np  # the CPU backend's own module

    if dtype is None and isinstance(kernel, np.ufunc):
        if kernel.nout != 1:
            return None
        try:
            dtype = kernel.resolve_dtypes(tuple(_dtype_of(x) for x in operands) + (None,))[-1]
        except (TypeError, ValueError):
            return None
    if dtype is None:
        dtype = next(x.dtype for x in operands if isinstance(x, np.ndarray))
    return np.empty(shape, dtype)


def _dtype_of(x):
    import numpy as np

    if isinstance(x, np.ndarray):
        return x.dtype
    return type(x) if isinstance(x, (bool, int, float, complex)) else np.asarray(x).dtype


def _prod(shape) -> int:
    size = 1
    for s in shape:
        size *= s
    return size
