"""Checkpoint speed: save and load a ~200 MB state dict, ember vs ``torch.save`` / ``torch.load``.

The state dict holds 50 float32 tensors of 1M elements (same values for both libraries).
Rows, each the median of ``--repeats`` alternating runs (warm page cache for loads):

- save: ``ember.save`` (atomic: temporary file, fsync, rename, fsync of the folder) against
  ``torch.save`` (no fsync) and ``torch.save`` followed by ``os.fsync`` (the same durability);
- load: ``ember.load`` (memory-mapped, so lazy) and ``ember.load`` + reading every byte, against
  ``torch.load(weights_only=True)`` (reads everything) and ``torch.load(..., mmap=True)`` + reading.

    python bench/bench_save_load.py [--repeats 5] [--tensors 50] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ember
from bench.common import machine_line, try_import_torch


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def touch_ember(sd: dict) -> float:
    return float(sum(t.numpy().sum(dtype=np.float64) for t in sd.values()))


def touch_torch(sd: dict) -> float:
    return float(sum(t.numpy().sum(dtype=np.float64) for t in sd.values()))


def torch_save_fsync(torch, sd: dict, path: str) -> None:
    with open(path, "wb") as f:
        torch.save(sd, f)
        f.flush()
        os.fsync(f.fileno())


def workloads(torch, folder: str, n_tensors: int) -> tuple[dict, int]:
    arrays = {
        f"layer{i}.weight": np.random.default_rng(i).standard_normal(1 << 20, np.float32)
        for i in range(n_tensors)
    }
    e_sd = {k: ember.from_numpy(v) for k, v in arrays.items()}
    e_path, t_path = os.path.join(folder, "e.safetensors"), os.path.join(folder, "t.pt")
    jobs = {
        "save  ember.save (atomic+fsync)": lambda: ember.save(e_sd, e_path),
        "load  ember.load (mmap)": lambda: ember.load(e_path),
        "load  ember.load + read all": lambda: touch_ember(ember.load(e_path)),
    }
    if torch is not None:
        t_sd = {k: torch.from_numpy(v) for k, v in arrays.items()}
        jobs["save  torch.save"] = lambda: torch.save(t_sd, t_path)
        jobs["save  torch.save + fsync"] = lambda: torch_save_fsync(torch, t_sd, t_path)
        jobs["load  torch.load(weights_only=True)"] = lambda: torch.load(t_path, weights_only=True)
        jobs["load  torch.load(mmap=True) + read all"] = lambda: touch_torch(
            torch.load(t_path, weights_only=True, mmap=True)
        )
    return jobs, sum(a.nbytes for a in arrays.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tensors", type=int, default=50)
    parser.add_argument("--dir", default=None, help="folder for the files (default: a temp dir)")
    args = parser.parse_args()
    torch = try_import_torch()
    folder = tempfile.mkdtemp(dir=args.dir)
    try:
        jobs, nbytes = workloads(torch, folder, args.tensors)
        for fn in jobs.values():  # warm-up: creates the files, fills the page cache
            fn()
        samples: dict[str, list[float]] = {name: [] for name in jobs}
        for _ in range(args.repeats):
            for name, fn in jobs.items():
                samples[name].append(timed(fn))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    medians = {name: statistics.median(v) for name, v in samples.items()}
    mb = nbytes / 1e6
    print(f"# {machine_line()}; {args.tensors} float32 tensors, {mb:.0f} MB, median of {args.repeats}")
    print(f"{'workload':44s} {'seconds':>9s} {'MB/s':>9s}")
    for name, sec in medians.items():
        print(f"{name:44s} {sec:9.4f} {mb / sec:9.0f}")
    if torch is not None:
        pairs = [
            ("save  ember.save (atomic+fsync)", "save  torch.save"),
            ("save  ember.save (atomic+fsync)", "save  torch.save + fsync"),
            ("load  ember.load (mmap)", "load  torch.load(weights_only=True)"),
            ("load  ember.load + read all", "load  torch.load(weights_only=True)"),
            ("load  ember.load + read all", "load  torch.load(mmap=True) + read all"),
        ]
        print("\nratios (torch time / ember time; > 1 means ember is faster)")
        for ours, theirs in pairs:
            print(
                f"  {ours.split('  ')[1]:32s} vs {theirs.split('  ')[1]:38s} "
                f"{medians[theirs] / medians[ours]:6.2f}x"
            )


if __name__ == "__main__":
    main()
