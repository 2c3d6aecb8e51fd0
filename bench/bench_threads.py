"""A/B of the intra-op pool: each workload's training step with ember's pool at one thread and
at two, interleaved in one process (BLAS keeps its own thread count), medians.

    python -m bench.bench_threads [--workloads mlp gpt convnet resnet] [--rounds 7] [--steps 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import ember
from bench import workloads
from ember.backend import threads


def _time_steps(step, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps * 1e3


def compare(name: str, rounds: int, steps: int, counts=(1, 2)) -> dict[int, float]:
    """Median ms/step of ``name`` at each pool size, rounds interleaved."""
    run = getattr(workloads, name)(ember)
    run.step()  # warm-up: first-step allocations, the flat optimizer layout
    times: dict[int, list[float]] = {c: [] for c in counts}
    for _ in range(rounds):
        for count in counts:
            threads.set_num_threads(count)
            times[count].append(_time_steps(run.step, steps))
    return {c: statistics.median(t) for c, t in times.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["mlp", "gpt", "convnet", "resnet"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args(argv)
    before = threads.get_num_threads()
    print("workload   pool 1 ms/step   pool 2 ms/step   2/1")
    for name in args.workloads:
        res = compare(name, args.rounds, args.steps)
        print(f"{name:10s} {res[1]:14.1f}   {res[2]:14.1f}   {res[2] / res[1]:.3f}", flush=True)
    threads.set_num_threads(before)


if __name__ == "__main__":
    main()
