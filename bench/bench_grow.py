"""Growing a network while it trains (issue 15): is it worth it, and what does a growth cost?

1. On scikit-learn's digits, a CNN that starts at widths (4, 8, 16) and grows on validation
   plateaus up to (16, 32, 64) (``ember.examples.digits_grow``) against the same final
   architecture trained from scratch for as many epochs: test accuracy, training time and
   parameter count after each epoch.
2. The time of one ``widen_`` (trace, plan, new arrays, optimizer state, check) against one
   training step (forward, loss, backward, AdamW step, batch 32) of the same model.

    python bench/bench_grow.py [--epochs 10] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import ember
import ember.nn.functional as F
from ember.examples.digits_grow import FULL_WIDTHS, GrowingDigitsNet, train_digits
from ember.nn.grow import widen_


def compare_training(epochs: int) -> dict:
    grown = train_digits(epochs=epochs, widths=(4, 8, 16), grow=True, verbose=False)
    scratch = train_digits(epochs=epochs, widths=FULL_WIDTHS, grow=False, verbose=False)
    return {"grown": grown, "scratch": scratch}


def _fresh(widths, batch: int):
    ember.manual_seed(0)
    model = GrowingDigitsNet(widths)
    opt = ember.optim.AdamW(model.parameters(), lr=3e-3)
    x, y = ember.randn(batch, 1, 8, 8), ember.randint(0, 10, (batch,))

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    return model, opt, step


def time_widen(widths=(8, 16, 32), batch: int = 32, example: int = 16, repeats: int = 5) -> dict:
    steps, widens = [], []
    for _ in range(repeats):
        model, opt, step = _fresh(widths, batch)
        start = time.perf_counter()
        step()
        steps.append(time.perf_counter() - start)
        x = ember.randn(example, 1, 8, 8)
        start = time.perf_counter()
        widen_(model, "conv2", widths[1] * 2, example_input=x, optimizer=opt)
        widens.append(time.perf_counter() - start)
    return {
        "step": statistics.median(steps),
        "widen": statistics.median(widens),
        "widths": widths,
        "batch": batch,
        "example": example,
    }


def markdown(result: dict, timing: dict) -> str:
    header = (
        "| epoch | grown: widths | grown: parameters | grown: val acc | "
        "scratch: parameters | scratch: val acc |"
    )
    lines = [header, "|---|---|---|---|---|---|"]
    for g, s in zip(result["grown"]["epochs"], result["scratch"]["epochs"]):
        lines.append(
            f"| {g['epoch']} | {g['widths']} | {g['parameters']:,} | {g['val_acc']:.1%} "
            f"| {s['parameters']:,} | {s['val_acc']:.1%} |"
        )
    for name in ("grown", "scratch"):
        r = result[name]
        lines.append(f"\n{name}: test accuracy {r['test_acc']:.2%}, training {r['seconds']:.1f} s")
    lines.append(
        f"\nwiden_ of conv2 ({timing['widths'][1]} -> {2 * timing['widths'][1]} channels, model "
        f"at widths {timing['widths']}, example of {timing['example']} images): "
        f"{timing['widen'] * 1e3:.1f} ms; one training step (batch {timing['batch']}): "
        f"{timing['step'] * 1e3:.1f} ms; ratio {timing['widen'] / timing['step']:.2f}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    timing = time_widen(repeats=args.repeats)
    result = compare_training(args.epochs)
    print(markdown(result, timing))
    return {"training": result, "timing": timing}


if __name__ == "__main__":
    main()
