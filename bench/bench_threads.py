"""A/B of the intra-op pool: each workload's training step with ember's pool at one thread and
at two, interleaved in one process (BLAS keeps its own thread count), medians.

    python -m bench.bench_threads [--workloads mlp gpt convnet resnet] [--rounds 7] [--steps 3]
    python -m bench.bench_threads --kernels    # the pooled kernels alone, at workload sizes
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


def _kernels() -> dict:
    """One forward+backward (or step) of each kernel tried with the pool, at workload sizes (ReLU,
    batch norm and the Adam step no longer use it: they stay as controls)."""
    import ember.nn.functional as F

    ember.manual_seed(0)
    x = ember.randn(32, 64, 512, requires_grad=True)  # gpt's MLP activation
    scores = ember.randn(32, 4, 64, 32, requires_grad=True)
    images = ember.randn(64, 16, 32, 32, requires_grad=True)  # resnet's first stage
    weight, bias = ember.ones(16, requires_grad=True), ember.zeros(16, requires_grad=True)
    logits = ember.randn(1120, 1000, requires_grad=True)  # lstm's decoder
    target = ember.arange(1120) % 1000
    param = ember.nn.Parameter(ember.randn(784, 512))  # mlp's first weight
    param.grad = ember.randn(784, 512)
    adam = ember.optim.Adam([param])

    def backward(out):
        out.backward(ember.ones_like(out))

    return {
        "gelu (32,64,512)": lambda: backward(F.gelu(x)),
        "relu (64,16,32,32)": lambda: backward(F.relu(images)),
        "batch_norm (64,16,32,32)": lambda: backward(F.batch_norm(images, None, None, weight, bias, True)),
        "attention (32,4,64,32)": lambda: backward(
            F.scaled_dot_product_attention(scores, scores, scores, is_causal=True)
        ),
        "cross_entropy (1120,1000)": lambda: F.cross_entropy(logits, target).backward(),
        "adam step (784,512)": adam.step,
    }


def compare_kernels(rounds: int, steps: int) -> None:
    for name, fn in _kernels().items():
        fn()
        times: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(rounds):
            for count in (1, 2):
                threads.set_num_threads(count)
                times[count].append(_time_steps(fn, steps))
        one, two = statistics.median(times[1]), statistics.median(times[2])
        print(f"{name:28s} {one:8.2f} ms   {two:8.2f} ms   {two / one:.3f}", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["mlp", "gpt", "convnet", "resnet"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--kernels", action="store_true", help="time the pooled kernels instead")
    args = parser.parse_args(argv)
    before = threads.get_num_threads()
    if args.kernels:
        print("kernel (forward+backward)    pool 1       pool 2       2/1")
        compare_kernels(args.rounds, args.steps * 5)
        threads.set_num_threads(before)
        return
    print("workload   pool 1 ms/step   pool 2 ms/step   2/1")
    for name in args.workloads:
        res = compare(name, args.rounds, args.steps)
        print(f"{name:10s} {res[1]:14.1f}   {res[2]:14.1f}   {res[2] / res[1]:.3f}", flush=True)
    threads.set_num_threads(before)


if __name__ == "__main__":
    main()
