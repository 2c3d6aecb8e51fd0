"""Per-layer convolution times, NCHW paths vs channels-last GEMMs, A/B in one process.

For every convolution shape of ResNet-20, the CIFAR convnet and LeNet-5 (batch 64), times the
forward, the input gradient and the weight gradient primitives with the channels-last paths
of ``ember/ops/conv_nhwc.py`` switched off ("nchw") and forced to each kind ("shifted" where the
stride is 1, "columns"), interleaved, medians of ``--repeats``; then, with ``--step NAME ...``,
whole training steps of the named workloads with the paths off and on (default choice). ``--threads`` sets the BLAS
threads (before NumPy loads); ``--clock cpu`` reads process CPU time (one thread only).

    python bench/bench_conv_layers.py [--threads 1] [--repeats 7] [--clock cpu] [--step resnet convnet lenet]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _threads_from_argv(default: int = 1) -> int:
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            return int(sys.argv[i + 1])
    return default


THREADS = _threads_from_argv()
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, str(THREADS))  # before NumPy loads

import numpy as np  # noqa: E402

from ember.ops import conv  # noqa: E402

# (label, in channels, side, out channels, kernel, stride, padding, count per step)
LAYERS = [
    ("resnet stem", 3, 32, 16, 3, 1, 1, 1),
    ("resnet 16", 16, 32, 16, 3, 1, 1, 6),
    ("resnet 16->32 s2", 16, 32, 32, 3, 2, 1, 1),
    ("resnet 1x1 16->32 s2", 16, 32, 32, 1, 2, 0, 1),
    ("resnet 32", 32, 16, 32, 3, 1, 1, 5),
    ("resnet 32->64 s2", 32, 16, 64, 3, 2, 1, 1),
    ("resnet 1x1 32->64 s2", 32, 16, 64, 1, 2, 0, 1),
    ("resnet 64", 64, 8, 64, 3, 1, 1, 5),
    ("convnet 3->32", 3, 32, 32, 3, 1, 1, 1),
    ("convnet 32->64", 32, 16, 64, 3, 1, 1, 1),
    ("convnet 64->128", 64, 8, 128, 3, 1, 1, 1),
    ("lenet 1->6", 1, 28, 6, 5, 1, 2, 1),
    ("lenet 6->16", 6, 12, 16, 5, 1, 0, 1),
]


class _Ctx:
    xp = np

    def save_for_backward(self, *arrays):
        pass


def _forced(kind):
    original = conv._nhwc_path

    def path(xp, geo, rows, out_channels):
        if kind == "default":
            return original(xp, geo, rows, out_channels)
        if kind == "nchw" or geo.groups != 1:
            return None
        if kind == "shifted":
            return "shifted" if geo.stride == (1, 1) else None
        return "columns"

    return path


def _clock(name: str):
    return time.process_time if name == "cpu" else time.perf_counter


def _interleaved(calls: dict, repeats: int, clock) -> dict:
    """Median ms of each named call, run in turns so load drifts hit them alike."""
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = clock()
            call()
            times[name].append(clock() - start)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


def _layer_calls(c, side, o, k, s, p, kinds):
    rng = np.random.default_rng(0)
    geo = conv.ConvGeometry((s, s), (p, p), (1, 1), 1, (k, k), (side, side))
    x = rng.standard_normal((64, c, side, side), dtype=np.float32)
    w = rng.standard_normal((o, c, k, k), dtype=np.float32)
    g = rng.standard_normal((64, o) + geo.out_hw, dtype=np.float32)
    parts = {
        "fwd": lambda: conv.Conv2d.forward(_Ctx(), x, w, None, geo),
        "input grad": lambda: conv.Conv2dInputGrad.forward(_Ctx(), g, w, geo, c),
        "weight grad": lambda: conv.Conv2dWeightGrad.forward(_Ctx(), x, g, geo, w.shape),
    }

    def under(kind, call):
        def run():
            saved = conv._nhwc_path
            conv._nhwc_path = _forced(kind)
            try:
                call()
            finally:
                conv._nhwc_path = saved

        return run

    return {part: {kind: under(kind, call) for kind in kinds} for part, call in parts.items()}


def layer_table(repeats: int, clock) -> None:
    kinds = ("nchw", "shifted", "columns", "default")
    print(f"| layer (x per step) | part | {' | '.join(kinds)} | default/nchw |")
    print("|---|---|" + "---|" * (len(kinds) + 1))
    for label, c, side, o, k, s, p, count in LAYERS:
        for part, calls in _layer_calls(c, side, o, k, s, p, kinds).items():
            ms = _interleaved(calls, repeats, clock)
            cells = " | ".join(f"{ms[kind]:.2f}" for kind in kinds)
            ratio = ms["default"] / ms["nchw"]
            print(f"| {label} (x{count}) | {part} | {cells} | {ratio:.2f} |", flush=True)


def step_ab(name: str, repeats: int, clock) -> None:
    """Whole training steps of a workload, channels-last paths off vs on, interleaved."""
    import ember
    from bench.workloads import BUILDERS

    work = BUILDERS[name](ember)
    work.step()
    calls = {}
    for kind in ("nchw", "default"):

        def run(kind=kind):
            saved = conv._nhwc_path
            conv._nhwc_path = _forced(kind)
            try:
                work.step()
            finally:
                conv._nhwc_path = saved

        calls[kind] = run
    ms = _interleaved(calls, repeats, clock)
    ratio = ms["default"] / ms["nchw"]
    print(
        f"{name} step: nchw {ms['nchw']:.1f} ms, default {ms['default']:.1f} ms, {ratio:.2f} (median of {repeats})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--step", nargs="*", default=[], help="workloads to A/B whole steps of")
    parser.add_argument("--no-layers", action="store_true")
    args = parser.parse_args()
    print(f"# BLAS threads {args.threads}, clock {args.clock}, batch 64, ms")
    if not args.no_layers:
        layer_table(args.repeats, _clock(args.clock))
    for name in args.step:
        step_ab(name, args.repeats, _clock(args.clock))


if __name__ == "__main__":
    main()
