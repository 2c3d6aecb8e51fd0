"""``python -m bench --device cuda --profile NAME``: where a GPU training step's time goes (fp32).

ember: every primitive's ``forward``, ``backward`` and ``backward_arrays`` is wrapped for the
profiled steps with the device synchronised before and after, so each row is the time of that
primitive's kernels including their launches (and its Python), less the primitives it calls
itself (a backward written with primitives); "outside primitives" is the rest
of the step: the optimizer's update, ``zero_grad``, the engine's walk. Synchronising after every
primitive removes the overlap of launches with execution, so the rows add up to more than an
unsynchronised step (the header gives both). Calls per step count primitive applications, a
floor on kernel launches (a primitive is one or more CuPy kernels; a fused one is one).

PyTorch (when installed, not ``--no-torch``): ``torch.profiler`` over the same steps, its CUDA
kernels by device time, with launch counts, for comparison.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict

from bench import gpu_modes, workloads

TIMED = ("forward", "backward", "backward_arrays")


def _primitives(ember) -> list:
    """Every Function subclass working on raw arrays (composites are timed through them)."""
    seen, todo = [], [ember.autograd.Function]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.append(sub)
                todo.append(sub)
    return [cls for cls in seen if getattr(cls, "arrays", False)]


class PrimitiveTimer:
    """Patches primitives to time each call, synchronised; ``restore()`` puts them back."""

    def __init__(self, ember) -> None:
        self.sync = ember.cuda.synchronize
        self.totals: dict = defaultdict(lambda: [0, 0.0])
        self.patched: list = []
        self.nested: list = []  # per open call, the time of the primitives it called
        for cls in _primitives(ember):
            for attr in TIMED:
                raw = cls.__dict__.get(attr)
                if isinstance(raw, staticmethod):
                    self.patched.append((cls, attr, raw))
                    setattr(cls, attr, staticmethod(self._timed(f"{cls.__name__}.{attr}", raw.__func__)))

    def _timed(self, key: str, fn):
        totals, sync, nested = self.totals, self.sync, self.nested

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            sync()
            nested.append(0.0)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                sync()
                elapsed = time.perf_counter() - start
                inner = nested.pop()
                if nested:  # a backward made of primitives: the caller keeps only its own time
                    nested[-1] += elapsed
                entry = totals[key]
                entry[0] += 1
                entry[1] += elapsed - inner

        return timed

    def restore(self) -> None:
        for cls, attr, raw in self.patched:
            setattr(cls, attr, raw)


def _build(m, name: str, quick: bool):
    """The workload at its GPU sizes (tiny with ``quick``), fp32, on the device."""
    gpu_modes.set_tf32(m, False)
    spec = gpu_modes.GPU_WORKLOADS[name]
    return workloads.build(
        spec.builder, m, seed=0, device="cuda", **gpu_modes.build_options(name, "fp32", quick)
    )


def _run(m, step, steps: int) -> float:
    m.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    m.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def profile_ember(name: str, steps: int, warmup: int, top: int, quick: bool = False) -> str:
    """The table of ember's primitives by synchronised time per step."""
    import ember

    work = _build(ember, name, quick)
    _run(ember, work.step, warmup)
    plain = _run(ember, work.step, steps)
    timer = PrimitiveTimer(ember)
    try:
        synced = _run(ember, work.step, steps)
    finally:
        timer.restore()
    rows = sorted(timer.totals.items(), key=lambda kv: -kv[1][1])
    inside = sum(total for _, total in timer.totals.values())
    calls = sum(count for count, _ in timer.totals.values())
    lines = [
        f"ember {name} (fp32, {steps} steps): {plain * 1e3:.2f} ms/step unsynchronised, "
        f"{synced * 1e3:.2f} ms/step with a synchronisation around each primitive; "
        f"{calls / steps:.0f} primitive calls per step",
        f"{'primitive':<40} {'calls/step':>10} {'ms/step':>9} {'% step':>7}",
    ]
    for key, (count, total) in rows[:top]:
        lines.append(
            f"{key:<40} {count / steps:>10.1f} {total / steps * 1e3:>9.3f} {total / synced / steps:>7.1%}"
        )
    outside = synced * steps - inside
    lines.append(
        f"{'(outside primitives: optimizer, engine)':<40} {'':>10} {outside / steps * 1e3:>9.3f} "
        f"{outside / synced / steps:>7.1%}"
    )
    return "\n".join(lines)


def profile_torch(name: str, steps: int, warmup: int, top: int) -> str:
    """PyTorch's CUDA kernels over the same steps, by device time (``torch.profiler``)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    work = _build(torch, name, False)
    _run(torch, work.step, warmup)
    plain = _run(torch, work.step, steps)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        _run(torch, work.step, steps)
    averages = prof.key_averages()
    for key in ("self_device_time_total", "self_cuda_time_total"):  # renamed in PyTorch 2.4
        try:
            text = averages.table(sort_by=key, row_limit=top)
            break
        except (AttributeError, KeyError, ValueError):
            text = "(torch.profiler could not sort by device time)"
    return f"PyTorch {name} (fp32, {steps} steps profiled): {plain * 1e3:.2f} ms/step unprofiled\n{text}"


def main(args) -> int:
    from bench.gpu import libraries_to_run

    libraries = libraries_to_run(args)
    steps, failed = min(args.steps, 5), 0
    for name in args.profile:
        jobs = [("ember", functools.partial(profile_ember, name, steps, args.warmup, args.top, args.quick))]
        if "torch" in libraries:
            jobs.append(("torch", functools.partial(profile_torch, name, steps, args.warmup, args.top)))
        for library, job in jobs:
            print(f"\n# profile: {name}, {library}", flush=True)
            try:
                print(job(), flush=True)
            except Exception as exc:  # noqa: BLE001 - one failed profile must not hide the others
                failed += 1
                print(f"profile of {name} with {library} failed: {type(exc).__name__}: {exc}", flush=True)
    return 1 if failed else 0
