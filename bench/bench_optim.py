"""Optimizer step time, ember vs PyTorch's default step, on the CPU.

Two models: 100 small parameter tensors, and the GPT-style model of the benchmark issue
(4 layers of d_model 128, ~0.8M parameters). Gradients are set once; each timing is the
median of repeated ``optimizer.step()`` calls. Columns: ember's default (flat) step, ember's
per-parameter reference path (``foreach=False``), PyTorch's default step with its default
thread count and with one thread, and the ratio of PyTorch's default to ember's default.

    python bench/bench_optim.py [--repeats 50]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import ember


def small_shapes() -> list[tuple[int, ...]]:
    return [(16, 16) if i % 2 == 0 else (16,) for i in range(100)]


def gpt_shapes(layers: int = 4, d: int = 128, vocab: int = 65, context: int = 64) -> list[tuple[int, ...]]:
    shapes = [(vocab, d), (context, d)]
    for _ in range(layers):
        shapes += [
            (d,),
            (d,),
            (d, 3 * d),
            (3 * d,),
            (d, d),
            (d,),
            (d,),
            (d,),
            (d, 4 * d),
            (4 * d,),
            (4 * d, d),
            (d,),
        ]
    shapes += [(d,), (d,), (d, vocab)]
    return shapes


def _median_time(step, repeats: int) -> float:
    for _ in range(3):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_ember(shapes, name: str, kwargs: dict, repeats: int) -> float:
    rng = np.random.default_rng(0)
    params = [ember.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in shapes]
    for p, s in zip(params, shapes):
        p.grad = ember.tensor(rng.standard_normal(s).astype(np.float32) * 1e-3)
    opt = getattr(ember.optim, name)(params, **kwargs)
    return _median_time(opt.step, repeats)


def time_torch(shapes, name: str, kwargs: dict, repeats: int, threads: int | None = None) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    default_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _time_torch(torch, shapes, name, kwargs, repeats)
    finally:
        torch.set_num_threads(default_threads)


def _time_torch(torch, shapes, name: str, kwargs: dict, repeats: int) -> float:
    rng = np.random.default_rng(0)
    params = [torch.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in shapes]
    for p, s in zip(params, shapes):
        p.grad = torch.tensor(rng.standard_normal(s).astype(np.float32) * 1e-3)
    opt = getattr(torch.optim, name)(params, **kwargs)
    return _median_time(opt.step, repeats)


def _ms(seconds: float | None) -> str:
    return f"{seconds * 1e3:10.3f}" if seconds else f"{'-':>10s}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    models = {"100 small tensors": small_shapes(), "GPT 4x128 (~0.8M)": gpt_shapes()}
    optimizers = {"Adam": ("Adam", {"lr": 1e-3}), "SGD-momentum": ("SGD", {"lr": 1e-2, "momentum": 0.9})}
    print(
        f"{'model':20s} {'optimizer':13s} {'params':>8s} {'tensors':>7s} {'ember ms':>10s} "
        f"{'per-param':>10s} {'torch ms':>10s} {'torch 1thr':>10s} {'torch/ember':>11s}"
    )
    for model, shapes in models.items():
        numel = sum(int(np.prod(s)) for s in shapes)
        for label, (name, kwargs) in optimizers.items():
            ours = time_ember(shapes, name, kwargs, args.repeats)
            reference = time_ember(shapes, name, {**kwargs, "foreach": False}, args.repeats)
            theirs = time_torch(shapes, name, kwargs, args.repeats)
            theirs_1 = time_torch(shapes, name, kwargs, args.repeats, threads=1)
            ratio = f"{theirs / ours:11.2f}" if theirs else f"{'-':>11s}"
            print(
                f"{model:20s} {label:13s} {numel:8d} {len(shapes):7d} {_ms(ours)} {_ms(reference)} "
                f"{_ms(theirs)} {_ms(theirs_1)} {ratio}"
            )


if __name__ == "__main__":
    main()
