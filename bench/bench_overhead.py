"""Per-op overhead: tiny tensors, so the time is the framework's own, not the arithmetic's.

    python -m bench.bench_overhead

Prints microseconds per call for ember and PyTorch and the ratio ember/PyTorch.
"""

from __future__ import annotations

import sys

import numpy as np

import ember
from bench.common import alternate, machine_line, try_import_torch


def workloads(m):
    rng = np.random.default_rng(0)
    a, b, c = (m.tensor(rng.standard_normal((4, 4)).astype(np.float32)) for _ in range(3))
    x, w = (m.tensor(rng.standard_normal((8, 8)).astype(np.float32)) for _ in range(2))
    ga, gb, gc = (
        m.tensor(rng.standard_normal((4, 4)).astype(np.float32), requires_grad=True) for _ in range(3)
    )

    def add():
        return a + b

    def matmul():
        return x @ w

    def chain_forward_backward():
        loss = ((ga * gb) + gc).sum()
        loss.backward()
        ga.grad = gb.grad = gc.grad = None

    return {"add (4x4)": add, "matmul (8x8)": matmul, "3-op forward+backward": chain_forward_backward}


def main(number: int = 2000, repeats: int = 7) -> list:
    torch = try_import_torch()
    ours = workloads(ember)
    theirs = workloads(torch) if torch else {}
    rows = []
    print(f"# per-op overhead ({machine_line()}), median of {repeats} alternating repeats of {number} calls")
    print(f"{'workload':28s} {'ember us':>10s} {'torch us':>10s} {'ratio':>7s}")
    for name in ours:
        pair = {"ember": ours[name]}
        if name in theirs:
            pair["torch"] = theirs[name]
        times = alternate(pair, number, repeats)
        e = times["ember"] * 1e6
        t = times.get("torch")
        t = t * 1e6 if t is not None else None
        ratio = f"{e / t:7.2f}" if t else "    n/a"
        print(f"{name:28s} {e:10.2f} {t if t is not None else float('nan'):10.2f} {ratio}")
        rows.append((name, e, t))
    return rows


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
