"""The GPU benchmark's workloads at GPU sizes and its four modes, run inside one child process.

A mode is a way of running the same training step of a ``bench/workloads.py`` workload, written
once against PyTorch's API and run with ``m`` = ``ember`` or ``torch``:

- ``fp32``: eager float32, TF32 off for matmuls *and* convolutions (PyTorch's cuDNN default is
  TF32 on, which would make its "fp32" convolutions TF32);
- ``tf32``: eager, ``m.backends.cuda.matmul.allow_tf32 = True`` (and cuDNN's flag);
- ``amp``: ``m.autocast("cuda", dtype=m.float16)`` around the forward pass, a GradScaler around
  backward and the optimizer step;
- ``graph``: the whole step (forward, backward, [clipping], optimizer step) captured once in a
  CUDA graph on static input buffers and replayed, as PyTorch documents whole-network capture.
"""

from __future__ import annotations

import gc
import inspect
import statistics
import time
import traceback
from dataclasses import dataclass

from bench import workloads

MODES = ("fp32", "tf32", "amp", "graph")
EAGER_AND_GRAPH = ("fp32", "graph")


@dataclass(frozen=True)
class GpuWorkload:
    """One row group of the GPU table: a builder of ``bench/workloads.py`` at given sizes."""

    builder: str
    sizes: dict  # on a GPU
    quick: dict  # --quick: tiny, so the harness runs on the stand-in in seconds
    modes: tuple = MODES


TINY_MLP = {"sizes": (32, 64, 64, 10), "batch": 8}
GPU_WORKLOADS = {
    "mlp": GpuWorkload("mlp", {"sizes": (784, 2048, 2048, 10), "batch": 1024}, TINY_MLP),
    "gpt": GpuWorkload(
        "gpt",
        {"layers": 6, "d": 512, "heads": 8, "context": 256, "batch": 32},
        {"layers": 1, "d": 32, "heads": 2, "context": 16, "batch": 2},
    ),
    "lstm": GpuWorkload(
        "lstm",
        {"vocab": 10000, "embed": 1024, "hidden": 1024, "seq": 35, "batch": 64},
        {"vocab": 50, "embed": 16, "hidden": 32, "seq": 4, "batch": 2},
    ),
    "convnet": GpuWorkload("convnet", {"batch": 256}, {"batch": 2, "widths": (4, 8, 8)}),
    "resnet": GpuWorkload("resnet", {"batch": 256}, {"batch": 2, "blocks": 1, "widths": (4, 8, 8)}),
    # small batches, where the launch cost of each op dominates and CUDA graphs should pay
    "mlp-b32": GpuWorkload("mlp", {"batch": 32}, TINY_MLP, EAGER_AND_GRAPH),
    "lenet-b32": GpuWorkload("lenet", {"batch": 32}, {"batch": 2}, EAGER_AND_GRAPH),
}
GRAPH_WARMUP = 3  # eager steps on a side stream before capture, as PyTorch's example does


def import_library(library: str):
    """``ember`` or ``torch``."""
    if library == "ember":
        import ember

        return ember
    import torch

    return torch


def set_tf32(m, on: bool) -> None:
    """TF32 for float32 matmuls and convolutions, through both of PyTorch's switches."""
    m.set_float32_matmul_precision("high" if on else "highest")
    m.backends.cuda.matmul.allow_tf32 = on
    m.backends.cudnn.allow_tf32 = on


def tf32_switches(m) -> str:
    """Check that ``allow_tf32`` and ``set_float32_matmul_precision`` agree, as in PyTorch."""
    m.set_float32_matmul_precision("highest")
    m.backends.cuda.matmul.allow_tf32 = True
    precision = m.get_float32_matmul_precision()
    m.backends.cuda.matmul.allow_tf32 = False
    m.set_float32_matmul_precision("high")
    flag = bool(m.backends.cuda.matmul.allow_tf32)
    m.set_float32_matmul_precision("highest")
    ok = precision in ("high", "medium") and flag
    return f"{'ok' if ok else 'MISMATCH'}: allow_tf32=True -> precision {precision!r}; " + (
        f"precision 'high' -> allow_tf32={flag}"
    )


def _cycle(batches):
    position = [0]

    def next_batch():
        batch = batches[position[0] % len(batches)]
        position[0] += 1
        return batch

    return next_batch


def _clip(m, work, params) -> None:
    if work.clip is not None:
        m.nn.utils.clip_grad_norm_(params, work.clip)


def eager_step(m, work):
    """The workload's own step (fp32 and tf32 differ only in the precision switches)."""
    return work.step


def amp_step(m, work):
    """Forward under float16 autocast; backward, [unscale + clip], step through a GradScaler."""
    scaler = m.amp.GradScaler("cuda")
    optimizer, params, next_batch = work.optimizer, list(work.model.parameters()), _cycle(work.batches)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with m.autocast("cuda", dtype=m.float16):
            loss = work.loss(*next_batch())
        scaler.scale(loss).backward()
        if work.clip is not None:
            scaler.unscale_(optimizer)
            _clip(m, work, params)
        scaler.step(optimizer)
        scaler.update()
        return loss

    return step


def graph_step(m, work):
    """Capture one whole training step in a CUDA graph; each step copies a batch in and replays.

    Follows PyTorch's whole-network capture: warm up on a side stream, set the gradients to
    None before capture (so backward allocates them from the graph's pool), capture forward,
    backward and the optimizer step (a ``capturable`` one where it has state on the device).
    """
    optimizer, params = work.optimizer, list(work.model.parameters())
    static = [b.clone() for b in work.batches[0]]

    def train():
        loss = work.loss(*static)
        loss.backward()
        _clip(m, work, params)
        optimizer.step()
        return loss

    side = m.cuda.Stream()
    side.wait_stream(m.cuda.current_stream())
    with m.cuda.stream(side):
        for _ in range(GRAPH_WARMUP):
            optimizer.zero_grad(set_to_none=True)
            train()
    m.cuda.current_stream().wait_stream(side)
    graph = m.cuda.CUDAGraph()
    optimizer.zero_grad(set_to_none=True)
    with m.cuda.graph(graph):
        static_loss = train()
    next_batch = _cycle(work.batches)

    def step():
        for buffer, value in zip(static, next_batch()):
            buffer.copy_(value)
        graph.replay()
        return static_loss

    return step


STEPS = {"fp32": eager_step, "tf32": eager_step, "amp": amp_step, "graph": graph_step}


def build_options(name: str, mode: str, quick: bool) -> dict:
    """The builder's keyword arguments: the sizes, and ``capturable=True`` for graph capture."""
    spec = GPU_WORKLOADS[name]
    options = dict(spec.quick if quick else spec.sizes)
    builder = workloads.BUILDERS[spec.builder]
    if mode == "graph" and "capturable" in inspect.signature(builder).parameters:
        options["capturable"] = True
    return options


def time_steps(m, step, steps: int, warmup: int) -> dict:
    """Run ``warmup`` untimed steps, then time ``steps`` steps with the device synchronised."""
    m.cuda.synchronize()
    m.cuda.reset_peak_memory_stats()
    first = float(step().item())
    for _ in range(warmup - 1):
        step()
    times = []
    for _ in range(steps):
        m.cuda.synchronize()
        start = time.perf_counter()
        loss = step()
        m.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return {
        "ms": 1e3 * statistics.median(times),
        "min_ms": 1e3 * min(times),
        "max_ms": 1e3 * max(times),
        "steps": steps,
        "warmup": warmup,
        "first_loss": first,
        "last_loss": float(loss.item()),
        "peak_mib": m.cuda.max_memory_allocated() / 2**20,
    }


class SharedBuild:
    """The last workload built, kept so that modes with the same builder options share it.

    Building at GPU sizes costs seconds (seeded weights drawn on the host); fp32, tf32 and amp
    train the same build in turn (only fp32's first loss is compared across libraries). A mode
    that fails drops it, so the next one starts from a fresh build.
    """

    def __init__(self) -> None:
        self.key, self.work = None, None

    def get(self, m, name: str, mode: str, quick: bool):
        options = build_options(name, mode, quick)
        key = (name, repr(sorted(options.items())))
        if key != self.key:
            self.drop(m)  # one workload on the device at a time: peaks stay each mode's own
            spec = GPU_WORKLOADS[name]
            self.work = workloads.build(spec.builder, m, seed=0, device="cuda", **options)
            self.key = key
        return self.work

    def drop(self, m) -> None:
        self.key, self.work = None, None
        _release(m)


def _measure(m, name: str, mode: str, steps: int, warmup: int, quick: bool, builds) -> dict:
    set_tf32(m, mode == "tf32")
    work = builds.get(m, name, mode, quick)
    result = time_steps(m, STEPS[mode](m, work), steps, max(1, warmup))
    if mode == "tf32":
        result["tf32_switches"] = tf32_switches(m)
    return result


def run_mode(
    m, name: str, mode: str, steps: int, warmup: int, quick: bool = False, builds: SharedBuild | None = None
) -> dict:
    """One workload in one mode with library ``m``: its timing dict, or ``{"error": ...}``.

    ``builds`` shares one build between the modes of a child (a fresh build when None).
    """
    start = time.perf_counter()
    builds = builds if builds is not None else SharedBuild()
    try:
        result = _measure(m, name, mode, steps, warmup, quick, builds)
    except Exception as exc:  # noqa: BLE001 - a failed mode is a row with its error, the run goes on
        first_line = (str(exc).strip().splitlines() or [""])[0]
        result = {
            "error": f"{type(exc).__name__}: {first_line}"[:400],
            "traceback": traceback.format_exc(limit=12),
        }
        builds.drop(m)
    cleanup = _release(m)  # the step closures died with _measure's frame: their memory can go
    if cleanup:
        result["cleanup_error"] = cleanup
    result["seconds"] = round(time.perf_counter() - start, 2)
    return result


def _release(m) -> str | None:
    """Back to fp32 and give memory back between modes; why that failed, or None."""
    try:
        set_tf32(m, False)
        gc.collect()
        m.cuda.synchronize()
        m.cuda.empty_cache()
    except Exception as exc:  # noqa: BLE001 - e.g. a capture left open: the next mode says so
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


def versions(m, library: str) -> dict:
    """The library's version, and CuPy's and the device's name for the record."""
    info = {"version": getattr(m, "__version__", "?")}
    try:
        info["device"] = m.cuda.get_device_name()
    except Exception as exc:  # noqa: BLE001 - the record says why, the run goes on
        info["device"] = f"? ({type(exc).__name__})"
    if library == "ember":
        try:
            import cupy

            info["cupy"] = cupy.__version__
        except ImportError:
            info["cupy"] = None
    return info
