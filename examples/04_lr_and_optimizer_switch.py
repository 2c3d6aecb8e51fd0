"""Changing the learning rate mid-run, and switching from SGD to Adam over the same parameters.

Shows, while a small MLP fits y = sin(3x) + x/2:
  1. plain SGD with momentum;
  2. editing ``group['lr']`` in ``optimizer.param_groups`` by hand, between two steps;
  3. an LR scheduler (``ExponentialLR``) that changes the rate every step, read back with
     ``scheduler.get_last_lr()``;
  4. a new ``Adam`` optimizer built over the very same parameter objects: training simply goes
     on from where SGD left it (the parameters carry what was learned; only the optimizer's own
     state, SGD's momentum buffers, is left behind).
The loss printed at the end of each phase keeps going down.

    python examples/04_lr_and_optimizer_switch.py [--steps 150]
"""

from __future__ import annotations

import argparse

import ember
import ember.nn.functional as F
from ember import nn


def make_data(points: int):
    x = ember.linspace(-2.0, 2.0, points).unsqueeze(1)
    return x, (3 * x).sin() + x / 2


def train(model, optimizer, x, y, steps: int, scheduler=None) -> list[float]:
    losses = []
    for _ in range(steps):
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
    return losses


def report(phase: str, optimizer, losses: list[float]) -> None:
    lrs = ", ".join(f"{group['lr']:.4g}" for group in optimizer.param_groups)
    print(
        f"{phase:38s} {type(optimizer).__name__:4s} lr now {lrs:8s} loss {losses[0]:.4f} -> {losses[-1]:.4f}"
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150, help="steps in each of the four phases")
    parser.add_argument("--points", type=int, default=128)
    parser.add_argument("--small", action="store_true", help="short phases, for CI")
    args = parser.parse_args(argv)
    if args.small:
        args.steps, args.points = 40, 64

    ember.manual_seed(0)
    x, y = make_data(args.points)
    model = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))
    params_before = [id(p) for p in model.parameters()]
    with ember.no_grad():
        start = F.mse_loss(model(x), y).item()
    print(f"fitting y = sin(3x) + x/2 on {args.points} points; loss before training {start:.4f}\n")

    ends = {}
    sgd = ember.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    losses = train(model, sgd, x, y, args.steps)
    report("1. SGD, momentum 0.9", sgd, losses)
    ends["sgd"] = losses[-1]

    for group in sgd.param_groups:  # a larger step, set by hand
        group["lr"] = 0.05
    losses = train(model, sgd, x, y, args.steps)
    report("2. group['lr'] = 0.05 by hand", sgd, losses)
    ends["sgd_manual_lr"] = losses[-1]

    scheduler = ember.optim.lr_scheduler.ExponentialLR(sgd, gamma=0.98)
    losses = train(model, sgd, x, y, args.steps, scheduler)
    report("3. ExponentialLR(gamma=0.98)", sgd, losses)
    print(
        f"   the scheduler's last rate: {scheduler.get_last_lr()[0]:.4g}; "
        f"SGD holds momentum for {len(sgd.state)} parameters"
    )
    ends["sgd_scheduled"] = losses[-1]

    adam = ember.optim.Adam(model.parameters(), lr=0.01)  # same Parameter objects
    same_params = [id(p) for group in adam.param_groups for p in group["params"]] == params_before
    losses = train(model, adam, x, y, args.steps)
    report("4. switched to Adam(lr=0.01)", adam, losses)
    ends["adam"] = losses[-1]
    state = adam.state[next(model.parameters())]
    print(
        f"   Adam trains the same {len(params_before)} parameter objects: {same_params}; "
        f"its state per parameter: {sorted(state)} after {int(state['step'])} steps"
    )

    print(f"\nloss: start {start:.4f}, then " + " -> ".join(f"{v:.4f}" for v in ends.values()))
    return {"start": start, "ends": ends, "same_params": same_params}


if __name__ == "__main__":
    main()
