"""Timing helpers shared by the benchmarks: medians over alternating repeats."""

from __future__ import annotations

import gc
import statistics
import time


def per_call_seconds(fn, number: int) -> float:
    """Mean seconds per call of ``fn`` over ``number`` calls (gc off while timing)."""
    gc_was = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - start) / number
    finally:
        if gc_was:
            gc.enable()


def alternate(workloads: dict, number: int, repeats: int) -> dict:
    """Time each named callable ``repeats`` times, alternating between them; medians per name."""
    samples = {name: [] for name in workloads}
    for fn in workloads.values():  # warm-up
        per_call_seconds(fn, max(1, number // 10))
    for _ in range(repeats):
        for name, fn in workloads.items():
            samples[name].append(per_call_seconds(fn, number))
    return {name: statistics.median(values) for name, values in samples.items()}


def try_import_torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    return torch


def machine_line() -> str:
    import platform

    import numpy as np

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import os

    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__}"
