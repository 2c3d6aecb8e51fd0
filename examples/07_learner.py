"""The loop you need not write: ``ember.train.Learner`` on the spirals of ``03_training_loop.py``.

    learn = Learner(model, train_loader, valid_loader, metrics=[accuracy])
    suggestion = learn.lr_find()                      # a learning rate, model left untouched
    learn.fit_one_cycle(epochs, suggestion.minimum)   # warm up, then anneal
    interp = learn.interpret()                        # confusion matrix, worst samples

Shows the learning-rate finder's three suggestions, the one-cycle schedule (learning rate and
momentum per step from ``learn.recorder``), a line per epoch, the confusion matrix and the
samples with the highest loss; ``--plots DIR`` also writes the loss, learning-rate and
confusion-matrix PNGs.

    python examples/07_learner.py [--epochs 12] [--points 200] [--plots runs/tour]
"""

from __future__ import annotations

import argparse
import math

import ember
from ember import nn
from ember.train import Learner, accuracy
from ember.utils.data import DataLoader, TensorDataset, random_split


def make_spirals(points_per_class: int, classes: int = 3, noise: float = 0.15):
    """Points on ``classes`` spiral arms in the plane; the label is the arm."""
    radius = ember.linspace(0.05, 1.0, points_per_class)
    inputs, labels = [], []
    for arm in range(classes):
        angle = radius * 4.0 + arm * 2 * math.pi / classes + noise * ember.randn(points_per_class)
        inputs.append(ember.stack([radius * angle.sin(), radius * angle.cos()], dim=1))
        labels.append(ember.full((points_per_class,), arm, dtype=ember.int64))
    return ember.cat(inputs), ember.cat(labels)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--points", type=int, default=200, help="points per spiral arm")
    parser.add_argument("--plots", default=None, help="a folder for the PNGs")
    parser.add_argument("--small", action="store_true", help="a few epochs on a few points, for CI")
    args = parser.parse_args(argv)
    if args.small:
        args.epochs, args.points = 6, 80

    ember.manual_seed(0)
    dataset = TensorDataset(*make_spirals(args.points))
    train_set, valid_set = random_split(dataset, [0.8, 0.2], generator=ember.Generator().manual_seed(0))
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
    valid_loader = DataLoader(valid_set, batch_size=256)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
    learn = Learner(
        model, train_loader, valid_loader, metrics=[accuracy], device="cpu", path=args.plots or "."
    )

    found = learn.lr_find(num_it=60)
    print(
        f"lr_find suggests: valley {found.valley:.1e}, steep {found.steep:.1e}, "
        f"minimum {found.minimum:.1e}; the model is as it was before the search"
    )

    learn.fit_one_cycle(args.epochs, max_lr=found.minimum)
    lrs, moms = learn.recorder.lrs, learn.recorder.moms
    peak = max(range(len(lrs)), key=lrs.__getitem__)
    print(
        f"one cycle over {len(lrs)} steps: lr {lrs[0]:.1e} -> {lrs[peak]:.1e} (step {peak + 1}) "
        f"-> {lrs[-1]:.1e}; beta1 {moms[0]:.2f} -> {moms[peak]:.2f} -> {moms[-1]:.2f}"
    )

    interp = learn.interpret()
    print("confusion matrix (rows: true arm, columns: predicted):")
    print(interp.confusion_matrix())
    losses, worst = interp.top_losses(3)
    print("highest losses: " + ", ".join(f"sample {int(i)} ({float(v):.2f})" for v, i in zip(losses, worst)))
    if args.plots:
        for path in (
            learn.recorder.plot_loss(),
            learn.recorder.plot_lr(),
            interp.plot_confusion_matrix(f"{args.plots}/confusion.png"),
        ):
            print("wrote", path)
    epochs = learn.recorder.epochs
    return {
        "suggestions": found,
        "lrs": lrs,
        "epochs": epochs,
        "accuracy": interp.accuracy(),
        "confusion": interp.confusion_matrix(),
    }


if __name__ == "__main__":
    main()
