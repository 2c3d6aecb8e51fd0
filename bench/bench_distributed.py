"""Data-parallel scaling, ember DDP (MPI) vs PyTorch DDP (gloo), 1 and 2 ranks, one thread each.

    python -m bench --distributed                 # mlp and convnet, both libraries
    python bench/bench_distributed.py --steps 10 --workloads convnet --no-torch

Each rank trains the workload's model (``bench/workloads.py``: same layers, weights and batch
size per rank) on its own batches; 1 rank is a plain training loop (no wrapper), 2 ranks wrap
the model in DistributedDataParallel. Both libraries are started by ``ember-run`` (it sets
RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT, which PyTorch's ``env://`` rendezvous reads). Samples
per second count every rank's samples over the slowest rank's time for the timed steps
(barriers before and after); scaling efficiency is samples/s at 2 ranks over twice that at 1.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
BATCH = {"mlp": 128, "convnet": 64}


# ---------------------------------------------------------------- inside each rank


def _library(name: str):
    if name == "ember":
        import ember

        return ember
    import torch

    torch.set_num_threads(1)
    return torch


def _rank_main(library: str, workload: str, steps: int, warmup: int) -> None:
    sys.path.insert(0, ROOT)
    from bench import workloads

    m = _library(library)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    dist = m.distributed
    if world > 1:
        dist.init_process_group("gloo" if library == "torch" else "mpi")
    model = workloads.build(workload, m).model
    if world > 1:
        model = m.nn.parallel.DistributedDataParallel(model)
    step = _trainer(m, model, workload, rank)
    for _ in range(warmup):
        step()
    if world > 1:
        dist.barrier()
        if library == "ember":
            model.reducer.wait_seconds = 0.0
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if world > 1:
        dist.barrier()
    elapsed = time.perf_counter() - start
    waited = getattr(getattr(model, "reducer", None), "wait_seconds", None)
    if rank == 0:
        samples = world * BATCH[workload] * steps
        result = {
            "library": library,
            "workload": workload,
            "ranks": world,
            "seconds": elapsed,
            "samples_per_s": samples / elapsed,
        }
        if waited is not None:  # ember: the share of the step spent waiting for all-reduces
            result["comm_wait_share"] = waited / elapsed
        print("RESULT " + json.dumps(result), flush=True)
    if world > 1:
        dist.destroy_process_group()


def _trainer(m, model, workload: str, rank: int):
    import numpy as np

    rng = np.random.default_rng(100 + rank)
    shape = (BATCH[workload], 784) if workload == "mlp" else (BATCH[workload], 3, 32, 32)
    batches = [
        (
            m.tensor(rng.standard_normal(shape).astype(np.float32)),
            m.tensor(rng.integers(0, 10, shape[0]).astype(np.int64)),
        )
        for _ in range(4)
    ]
    opt = m.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    position = [0]

    def step():
        x, y = batches[position[0] % len(batches)]
        position[0] += 1
        opt.zero_grad(set_to_none=True)
        m.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return step


# ---------------------------------------------------------------- the driver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(library: str, workload: str, ranks: int, steps: int, warmup: int, timeout: float) -> dict:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for name in THREAD_VARIABLES:
        env[name] = "1"
    command = [
        sys.executable,
        "-m",
        "ember.distributed.run",
        "--nproc-per-node",
        str(ranks),
        "--master-port",
        str(_free_port()),
        os.path.abspath(__file__),
        "--rank-child",
        library,
        workload,
        "--steps",
        str(steps),
        "--warmup",
        str(warmup),
    ]
    try:
        done = subprocess.run(
            command, check=False, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:200]}


def _torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def table(results: dict, workloads: list, libraries: list) -> str:
    """One row per workload and library: samples/s at 1 and 2 ranks, speed-up, efficiency."""
    header = (
        "| workload | library | 1 rank (samples/s) | 2 ranks (samples/s) | speed-up | "
        "scaling efficiency | 2 ranks: backward waiting for all-reduce |"
    )
    lines = [header, "|---|---|---:|---:|---:|---:|---:|"]
    for workload in workloads:
        for library in libraries:
            one, two = results[(library, workload, 1)], results[(library, workload, 2)]
            if "error" in one or "error" in two:
                lines.append(
                    f"| {workload} | {library} | {one.get('error', '')} | {two.get('error', '')} | | | |"
                )
                continue
            speedup = two["samples_per_s"] / one["samples_per_s"]
            wait = f"{two['comm_wait_share']:.0%}" if "comm_wait_share" in two else "n/a"
            lines.append(
                f"| {workload} | {library} | {one['samples_per_s']:.0f} | "
                f"{two['samples_per_s']:.0f} | {speedup:.2f}x | {speedup / 2:.0%} | "
                f"{wait} |"
            )
    return "\n".join(lines)


def _write(text: str, args) -> None:
    import datetime

    from bench import report

    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    body = (
        f"Measured {datetime.date.today()} with `python -m bench --distributed --steps "
        f"{args.steps}` ({os.cpu_count()} cores, load average {load} when it finished). "
        f"{args.note}\n\n{text}\n\nThe last column is the share of the timed steps that "
        "ember's backward spent waiting for its all-reduces (which includes waiting for the "
        "other rank to arrive); where it is small, communication is not what limits scaling."
    )
    report.update_sections(os.path.join(ROOT, "BENCHMARKS.md"), {"distributed": body})


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", nargs="+", default=["mlp", "convnet"], choices=list(BATCH))
    p.add_argument("--steps", type=int, default=20, help="timed steps per run")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--write", action="store_true", help="update the section in BENCHMARKS.md")
    p.add_argument("--note", default="", help="a line to print above the table (e.g. the load)")
    p.add_argument("--rank-child", nargs=2, metavar=("LIBRARY", "WORKLOAD"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rank_child:
        _rank_main(*args.rank_child, args.steps, args.warmup)
        return 0
    libraries = ["ember"] + ([] if args.no_torch or not _torch_available() else ["torch"])
    results = {}
    for workload in args.workloads:
        for ranks in (1, 2):
            for library in libraries:  # libraries alternate, so load changes hit both alike
                results[(library, workload, ranks)] = _run(
                    library, workload, ranks, args.steps, args.warmup, args.timeout
                )
                print(
                    f"{workload} {library} {ranks} rank(s): {results[(library, workload, ranks)]}", flush=True
                )
    text = table(results, args.workloads, libraries)
    print("\n" + text, flush=True)
    if args.write:
        _write(text, args)
    failed = any("error" in r for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
