"""Training steps on a CUDA GPU, ember against PyTorch, side by side (issue: GPU speed).

    python -m bench.bench_gpu [--steps 10] [--workloads mlp gpt convnet] [--json out.json]

Each workload is written once against PyTorch's API and built with each library on the CPU
from the same seeded NumPy weights and data, then moved to ``cuda``. Modes: ``fp32`` (eager),
``tf32`` (``backends.cuda.matmul.allow_tf32``) and ``amp`` (autocast to float16 with a
GradScaler). A step is timed with the device synchronised before and after; the table gives
the median over the timed steps and the peak GPU memory of each run. Libraries alternate per
workload and mode. A workload that fails on one library is reported with its error, not
hidden. Nothing here runs without a GPU: the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
import traceback

import numpy as np

SIZES = {
    "mlp": {"sizes": (784, 2048, 2048, 10), "batch": 1024},
    "gpt": {"layers": 6, "d": 512, "heads": 8, "context": 256, "batch": 32, "vocab": 65},
    "convnet": {"batch": 256},
}


def _seed(m, model, rng) -> None:
    with m.no_grad():
        for p in model.parameters():
            shape = tuple(p.shape)
            fan_in = math.prod(shape[1:]) if len(shape) > 1 else shape[0]
            fresh = rng.uniform(-1, 1, shape).astype(np.float32) / math.sqrt(max(fan_in, 1))
            p.copy_(m.tensor(fresh))


def _mlp(m, sizes, batch):
    nn = m.nn
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    rng = np.random.default_rng(0)
    _seed(m, model, rng)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch).astype(np.int64)
    return model, x, y, lambda out, target: m.nn.functional.cross_entropy(out, target)


def _convnet(m, batch):
    nn = m.nn
    model = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1),
        nn.BatchNorm2d(128),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(128, 10),
    )
    rng = np.random.default_rng(0)
    _seed(m, model, rng)
    x = rng.standard_normal((batch, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, batch).astype(np.int64)
    return model, x, y, lambda out, target: m.nn.functional.cross_entropy(out, target)


def _gpt(m, layers, d, heads, context, batch, vocab):
    from bench.workloads import _gpt_model

    model = _gpt_model(m, vocab, context, layers, heads, d)
    rng = np.random.default_rng(0)
    _seed(m, model, rng)
    tokens = rng.integers(0, vocab, (batch, context + 1)).astype(np.int64)
    x, y = tokens[:, :-1].copy(), tokens[:, 1:].copy()

    def loss_fn(out, target):
        return m.nn.functional.cross_entropy(out.reshape(-1, vocab), target.reshape(-1))

    return model, x, y, loss_fn


BUILDERS = {"mlp": _mlp, "gpt": _gpt, "convnet": _convnet}


def _matmul_precision(m, tf32: bool) -> None:
    m.backends.cuda.matmul.allow_tf32 = tf32
    if hasattr(m, "set_float32_matmul_precision"):
        m.set_float32_matmul_precision("high" if tf32 else "highest")


def run_one(m, name: str, mode: str, steps: int, warmup: int = 3) -> dict:
    """Build ``name`` with library ``m`` on the GPU and time ``steps`` training steps."""
    model, x, y, loss_fn = BUILDERS[name](m, **SIZES[name])
    model = model.to("cuda")
    x, y = m.tensor(x).to("cuda"), m.tensor(y).to("cuda")
    optimizer = m.optim.AdamW(model.parameters(), lr=1e-4)
    _matmul_precision(m, mode == "tf32")
    scaler = m.amp.GradScaler("cuda") if mode == "amp" else None

    def step():
        optimizer.zero_grad(set_to_none=True)
        if mode == "amp":
            with m.autocast("cuda", dtype=m.float16):
                loss = loss_fn(model(x), y)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
        return loss

    m.cuda.reset_peak_memory_stats()
    first = float(step().item())
    for _ in range(warmup - 1):
        step()
    times = []
    for _ in range(steps):
        m.cuda.synchronize()
        start = time.perf_counter()
        step()
        m.cuda.synchronize()
        times.append(time.perf_counter() - start)
    _matmul_precision(m, False)
    return {
        "ms": 1000 * statistics.median(times),
        "first_loss": first,
        "peak_mib": m.cuda.max_memory_allocated() / 2**20,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--workloads", nargs="+", default=list(BUILDERS))
    parser.add_argument("--modes", nargs="+", default=["fp32", "tf32", "amp"])
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    import ember

    if not ember.cuda.is_available():
        print("bench_gpu: no CUDA GPU here (ember.cuda.is_available() is False); nothing to run")
        return {}
    try:
        import torch
    except ImportError:
        torch = None
    libraries = {"ember": ember} if torch is None else {"ember": ember, "torch": torch}
    results = {}
    print(f"device: {ember.cuda.get_device_name()}")
    print("| workload | mode | ember ms | torch ms | ember/torch | ember MiB | torch MiB |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name in args.workloads:
        for mode in args.modes:
            row = {}
            order = list(libraries.items())
            if len(results) % 2:
                order.reverse()
            for label, m in order:
                try:
                    row[label] = run_one(m, name, mode, args.steps)
                except Exception as exc:  # report and go on: one failure must not hide the rest
                    row[label] = {
                        "error": f"{type(exc).__name__}: {exc}",
                        "traceback": traceback.format_exc(limit=8),
                    }
            results[f"{name}/{mode}"] = row
            print(_line(name, mode, row), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return results


def _line(name: str, mode: str, row: dict) -> str:
    def ms(label):
        r = row.get(label, {})
        return f"{r['ms']:.2f}" if "ms" in r else ("error" if r else "-")

    def mib(label):
        r = row.get(label, {})
        return f"{r['peak_mib']:.0f}" if "peak_mib" in r else "-"

    ratio = "-"
    if "ms" in row.get("ember", {}) and "ms" in row.get("torch", {}):
        ratio = f"{row['ember']['ms'] / row['torch']['ms']:.2f}"
    return f"| {name} | {mode} | {ms('ember')} | {ms('torch')} | {ratio} | {mib('ember')} | {mib('torch')} |"


if __name__ == "__main__":
    main()
