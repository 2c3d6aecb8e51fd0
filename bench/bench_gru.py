"""A GRU language-model training step: ember's fused ``GRULayer`` against the composite GRU.

Embedding -> 1-layer GRU -> Linear, cross-entropy, SGD (the ``lstm`` workload with a GRU).
In-process A/B: rounds alternate the fused layer and the composite (``_direction(fused=False)``)
on the same model and data; each figure is the median step time over the rounds. PyTorch's step
is timed too where it is installed (one process; its default thread count).

    python bench/bench_gru.py [--rounds 5] [--steps 5] [--hidden 256] [--threads 1]
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time

import numpy as np


def build(m, vocab: int, embed: int, hidden: int, seq: int, batch: int, seed: int = 0):
    """The model, a batch and one training step for module ``m`` (ember or torch)."""
    nn, F = m.nn, m.nn.functional
    m.manual_seed(seed)
    model = nn.Sequential()
    model.embed, model.rnn, model.decode = (
        nn.Embedding(vocab, embed),
        nn.GRU(embed, hidden),
        nn.Linear(hidden, vocab),
    )
    tokens = np.random.default_rng(seed).integers(0, vocab, (seq + 1, batch)).astype(np.int64)
    x, y = m.tensor(tokens[:-1].copy()), m.tensor(tokens[1:].copy())
    opt = m.optim.SGD(model.parameters(), lr=0.1)

    def step():
        opt.zero_grad(set_to_none=True)
        out, _ = model.rnn(model.embed(x))
        loss = F.cross_entropy(model.decode(out).reshape(-1, vocab), y.reshape(-1))
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step


def timed(step, steps: int) -> float:
    step()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: its default)")
    args = parser.parse_args()
    import ember
    from ember.nn._functional import rnn as F_rnn

    shape = dict(vocab=1000, embed=args.hidden, hidden=args.hidden, seq=35, batch=32)
    step = build(ember, **shape)
    fused_direction = F_rnn._direction

    def composite_direction(*a, **k):
        return fused_direction(*a, **dict(k, fused=False))

    times = {"fused": [], "composite": []}
    for _ in range(args.rounds):
        for name, direction in (("fused", fused_direction), ("composite", composite_direction)):
            F_rnn._direction = direction
            try:
                times[name].append(timed(step, args.steps))
            finally:
                F_rnn._direction = fused_direction
    fused_ms = 1e3 * statistics.median(times["fused"])
    composite_ms = 1e3 * statistics.median(times["composite"])
    print(f"GRU LM step (hidden {args.hidden}, seq 35, batch 32, vocab 1000), median of {args.rounds} rounds")
    print(f"  ember fused GRULayer: {fused_ms:8.2f} ms")
    print(
        f"  ember composite     : {composite_ms:8.2f} ms   (composite / fused = {composite_ms / fused_ms:.2f})"
    )
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    torch_step = build(torch, **shape)
    torch_ms = 1e3 * statistics.median(timed(torch_step, args.steps) for _ in range(args.rounds))
    print(f"  torch               : {torch_ms:8.2f} ms   (ember fused / torch = {fused_ms / torch_ms:.2f})")


if __name__ == "__main__":
    main()
