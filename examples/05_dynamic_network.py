"""A network whose shape changes from one step to the next (define-by-run).

Shows two things a static graph cannot do easily, because ember records the graph afresh on
every forward pass:
  1. **random depth and width per step**: each step draws how many hidden layers to run (a plain
     Python loop) and how many of their units to use (a slice of the weight), then trains;
  2. **a layer that grows**: a hidden layer starts with a few neurons and gains more mid-training
     with one call, ``ember.nn.grow.widen_``: new neurons copy existing ones and the next
     layer's weights are split among the copies (Net2Net), so the network computes the same
     function right after growing; the same Parameter objects change size in place and Adam's
     state follows each neuron, so the optimizer carries on as if they had always been there.

    python examples/05_dynamic_network.py [--steps 300]
"""

from __future__ import annotations

import argparse

import ember
import ember.nn.functional as F
from ember import nn
from ember.nn import grow


def make_data(points: int):
    x = ember.linspace(-2.0, 2.0, points).unsqueeze(1)
    return x, (3 * x).sin() * x.abs()


class RandomDepthNet(nn.Module):
    """Up to ``max_depth`` hidden layers of up to ``max_width`` units; forward picks how many."""

    def __init__(self, max_depth: int = 3, max_width: int = 32):
        super().__init__()
        self.inp = nn.Linear(1, max_width)
        self.hidden = nn.ModuleList(nn.Linear(max_width, max_width) for _ in range(max_depth))
        self.out = nn.Linear(max_width, 1)

    def forward(self, x, depth: int, width: int):
        h = F.linear(x, self.inp.weight[:width], self.inp.bias[:width]).tanh()
        shapes = [tuple(h.shape)]
        for layer in self.hidden[:depth]:  # the graph's depth is an ordinary loop count
            h = F.linear(h, layer.weight[:width, :width], layer.bias[:width]).tanh()
            shapes.append(tuple(h.shape))
        return F.linear(h, self.out.weight[:, :width], self.out.bias), shapes


def random_depth_demo(x, y, steps: int) -> list[float]:
    print("1. random depth and width, drawn every step")
    model = RandomDepthNet()
    optimizer = ember.optim.Adam(model.parameters(), lr=0.01)

    def full_loss() -> float:
        with ember.no_grad():
            return F.mse_loss(model(x, len(model.hidden), 32)[0], y).item()

    losses = [full_loss()]
    for step in range(1, steps + 1):
        depth = int(ember.randint(0, 4, ()))
        width = [8, 16, 32][int(ember.randint(0, 3, ()))]
        prediction, shapes = model(x, depth, width)
        loss = F.mse_loss(prediction, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step <= 4 or step % max(1, steps // 5) == 0:
            path = " -> ".join(str(s[1]) for s in shapes)
            print(f"   step {step:4d}: depth {depth}, hidden sizes {path:22s} loss {loss.item():.4f}")
    losses.append(full_loss())
    print(f"   the full network (depth 3, width 32): loss {losses[0]:.4f} -> {losses[1]:.4f}")
    return losses


def growing_demo(x, y, steps: int, grow_every: int, noise: float = 1e-6) -> dict:
    print("\n2. a hidden layer that grows while Adam keeps training it (ember.nn.grow.widen_)")
    model = nn.Sequential(nn.Linear(1, 2), nn.Tanh(), nn.Linear(2, 1))
    optimizer = ember.optim.Adam(model.parameters(), lr=0.02)
    widths, losses, jumps = [model[0].out_features], [], []
    for step in range(1, steps + 1):
        if step % grow_every == 0 and step < steps:
            with ember.no_grad():
                before = F.mse_loss(model(x), y).item()
            # new neurons copy existing ones, the next layer's weights are split among the
            # copies (the function is unchanged) and Adam's state follows the units;
            # a tiny noise breaks the symmetry between copies
            report = grow.widen_(
                model, "0", model[0].out_features + 4, example_input=x, optimizer=optimizer, noise=noise
            )
            with ember.no_grad():
                after = F.mse_loss(model(x), y).item()
            jumps.append(abs(after - before))
            widths.append(model[0].out_features)
            kept = int(optimizer.state[model[0].weight]["step"])
            print(f"   step {step:4d}: {report}".replace("\n", "\n" + " " * 16))
            print(
                f"{'':16s}loss {before:.6f} before growing, {after:.6f} after; "
                f"{len(optimizer.param_groups)} param group; Adam state kept ({kept} steps)"
            )
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    print(f"   loss {losses[0]:.4f} -> {losses[-1]:.4f} as the width went {widths}")
    return {"widths": widths, "losses": losses, "jumps": jumps}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--small", action="store_true", help="a few steps, for CI")
    args = parser.parse_args(argv)
    steps = 60 if args.small else args.steps
    ember.manual_seed(0)
    x, y = make_data(64 if args.small else 200)
    depth_losses = random_depth_demo(x, y, steps)
    results = growing_demo(x, y, steps, grow_every=max(2, steps // 4))
    results["depth_losses"] = depth_losses
    return results


if __name__ == "__main__":
    main()
