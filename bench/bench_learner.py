"""The Learner's overhead: one epoch through ``ember.train.Learner`` against a hand-written loop.

    python -m bench.bench_learner [--batches 16] [--repeats 7]

Both train the same model (the mlp and lenet workloads of ``bench/workloads.py``) with SGD
(momentum 0.9) on the same ``DataLoader`` over fixed random data; the hand-written loop is the
five lines (forward, loss, zero_grad, backward, step). The Learner runs ``fit(1)`` with its
Recorder and its ProgressBar on, in two ways: writing to a non-terminal (the bars stay quiet and
one line per epoch is printed) and with the bars forced on (tqdm drawing into ``/dev/null``).
Epochs alternate between the variants and the median CPU time (``time.process_time``: less
disturbed than the wall clock when other processes share the cores) is reported; the overhead
is ``learner / hand - 1``. The ``tiny`` workload (a 4->10 linear layer, batch 4) has next to no
arithmetic, so its difference is the Learner's own time per step.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

import ember
import ember.nn.functional as F
from bench import workloads
from bench.common import machine_line
from ember.train import Learner, ProgressBar
from ember.utils.data import DataLoader, TensorDataset

SHAPES = {"mlp": ((784,), 128), "lenet": ((1, 28, 28), 64), "tiny": ((4,), 4)}


def _loader(name: str, batches: int) -> DataLoader:
    shape, batch = SHAPES[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batches * batch, *shape)).astype(np.float32)
    y = rng.integers(0, 10, batches * batch).astype(np.int64)
    return DataLoader(TensorDataset(ember.from_numpy(x), ember.from_numpy(y)), batch_size=batch)


def _model(name: str):
    if name == "tiny":  # next to no arithmetic: the difference is the Learner's own time per step
        return ember.nn.Linear(4, 10)
    return workloads.BUILDERS[name](ember).model


def hand_epoch(model, optimizer, loader) -> None:
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()


def variants(name: str, batches: int, sink) -> dict:
    """``{variant: run one epoch}`` for one workload."""
    loader = _loader(name, batches)
    hand_model = _model(name)
    hand_opt = ember.optim.SGD(hand_model.parameters(), lr=0.01, momentum=0.9)

    def sgd(params, lr):
        return ember.optim.SGD(params, lr=lr, momentum=0.9)

    quiet = Learner(
        _model(name),
        loader,
        opt_func=sgd,
        lr=0.01,
        device="cpu",
        progress=False,
        cbs=[ProgressBar(file=sink)],
    )
    bars = Learner(
        _model(name),
        loader,
        opt_func=sgd,
        lr=0.01,
        device="cpu",
        progress=False,
        cbs=[ProgressBar(bars=True, file=sink)],
    )
    return {
        "hand-written loop": lambda: hand_epoch(hand_model, hand_opt, loader),
        "Learner, bar to a non-terminal": lambda: quiet.fit(1),
        "Learner, tqdm bars drawn": lambda: bars.fit(1),
    }


def measure(runs: dict, repeats: int) -> dict:
    for run in runs.values():  # warm-up
        run()
    samples = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.process_time()
            run()
            samples[name].append(time.process_time() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=16, help="batches per epoch")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--workloads", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    args = parser.parse_args(argv)
    results = {}
    print(
        f"# Learner overhead ({machine_line()}), {args.batches} batches per epoch, "
        f"median of {args.repeats} alternating epochs"
    )
    print(f"{'workload':8s} {'variant':32s} {'ms/epoch':>9s} {'overhead':>9s} {'us/step':>8s}")
    with open(os.devnull, "w") as sink:
        for name in args.workloads:
            times = measure(variants(name, args.batches, sink), args.repeats)
            base = times["hand-written loop"]
            for variant, seconds in times.items():
                hand = variant == "hand-written loop"
                extra = "" if hand else f"{seconds / base - 1:+.1%}"
                per_step = "" if hand else f"{(seconds - base) / args.batches * 1e6:+.0f}"
                print(f"{name:8s} {variant:32s} {seconds * 1e3:9.1f} {extra:>9s} {per_step:>8s}")
            results[name] = times
    return results


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
