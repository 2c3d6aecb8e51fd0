"""The training loop: a small MLP learns to tell three interleaved spirals apart.

Shows the five lines every PyTorch training loop has, in ember:

    logits = model(inputs)                       # forward
    loss = F.cross_entropy(logits, labels)       # a scalar loss
    optimizer.zero_grad()                        # clear last step's gradients
    loss.backward()                              # fill p.grad for every parameter
    optimizer.step()                             # update the parameters

with the data served in shuffled mini-batches by ``DataLoader`` over a ``TensorDataset``,
a held-out split from ``random_split``, ``model.train()``/``model.eval()`` and evaluation
under ``ember.no_grad()``.

    python examples/03_training_loop.py [--epochs 40] [--points 200]
"""

from __future__ import annotations

import argparse
import math

import ember
import ember.nn.functional as F
from ember import nn
from ember.utils.data import DataLoader, TensorDataset, random_split


def make_spirals(points_per_class: int, classes: int = 3, noise: float = 0.15):
    """Points on ``classes`` spiral arms in the plane; the label is the arm."""
    radius = ember.linspace(0.05, 1.0, points_per_class)
    inputs, labels = [], []
    for arm in range(classes):
        angle = radius * 4.0 + arm * 2 * math.pi / classes
        angle = angle + noise * ember.randn(points_per_class)
        inputs.append(ember.stack([radius * angle.sin(), radius * angle.cos()], dim=1))
        labels.append(ember.full((points_per_class,), arm, dtype=ember.int64))
    return ember.cat(inputs), ember.cat(labels)


def accuracy(model: nn.Module, loader: DataLoader) -> float:
    model.eval()
    correct = total = 0
    with ember.no_grad():
        for inputs, labels in loader:
            correct += int((model(inputs).argmax(dim=1) == labels).sum())
            total += labels.shape[0]
    model.train()
    return correct / total


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", "--steps", type=int, default=40, dest="epochs")
    parser.add_argument("--points", type=int, default=200, help="points per spiral arm")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--small", action="store_true", help="a few epochs on a few points, for CI")
    args = parser.parse_args(argv)
    if args.small:
        args.epochs, args.points = 8, 60

    ember.manual_seed(0)
    inputs, labels = make_spirals(args.points)
    dataset = TensorDataset(inputs, labels)
    split = ember.Generator().manual_seed(0)
    train_set, test_set = random_split(dataset, [0.8, 0.2], generator=split)
    train_loader = DataLoader(
        train_set, batch_size=args.batch_size, shuffle=True, generator=ember.Generator().manual_seed(1)
    )
    test_loader = DataLoader(test_set, batch_size=256)

    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
    optimizer = ember.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    print(model)
    print(
        f"{len(train_set)} training points, {len(test_set)} test points, "
        f"{len(train_loader)} batches per epoch, "
        f"{sum(p.numel() for p in model.parameters())} parameters"
    )

    losses = []
    report_every = max(1, args.epochs // 8)
    for epoch in range(1, args.epochs + 1):
        total, seen = 0.0, 0
        for batch_inputs, batch_labels in train_loader:
            loss = F.cross_entropy(model(batch_inputs), batch_labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * batch_labels.shape[0]
            seen += batch_labels.shape[0]
        losses.append(total / seen)
        if epoch == 1 or epoch % report_every == 0 or epoch == args.epochs:
            print(
                f"epoch {epoch:3d}  train loss {losses[-1]:.4f}  "
                f"test accuracy {accuracy(model, test_loader):.1%}"
            )

    final_accuracy = accuracy(model, test_loader)
    print(
        f"loss went from {losses[0]:.4f} to {losses[-1]:.4f}; "
        f"test accuracy {final_accuracy:.1%} (chance is 33.3%)"
    )
    return {"losses": losses, "accuracy": final_accuracy}


if __name__ == "__main__":
    main()
