"""The main job: a small CNN learns scikit-learn's 8x8 handwritten digits, through ``ember.train``.

    ember-demo digits --out runs/digits            # lr_find, then fit_one_cycle
    ember-demo digits --out runs/digits --resume   # continue an interrupted run (Ctrl-C, SIGTERM)

Finds a learning rate (``Learner.lr_find``), trains with the one-cycle policy on all the
training images, lightly augmented (random shifts of up to one pixel), shows progress bars and a
line per epoch, and reports the accuracy on scikit-learn's fixed test split. Into ``--out`` it writes the
weights (safetensors), ``metrics.json``, the loss, learning-rate and learning-rate-finder plots,
the confusion matrix (PNG), a TensorBoard log and exact-resume checkpoints.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import ember
import ember.nn.functional as F
from ember import nn
from ember.utils.data import DataLoader


class DigitsNet(nn.Module):
    """Three 3x3 convolutions with BatchNorm and ReLU, a max-pool, global average pooling, a linear layer."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.conv2, self.bn2 = nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32)
        self.conv3, self.bn3 = nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.relu(self.bn3(self.conv3(x)))
        return self.fc(x.mean((2, 3)))


def build_model(args: argparse.Namespace) -> nn.Module:
    """The network the demo trains (a function of its own, so that other options can change it)."""
    return DigitsNet()


def smoothed_cross_entropy(pred, target, reduction: str = "mean"):
    """Cross-entropy with label smoothing 0.1: steadier at the one-cycle's peak learning rate."""
    return F.cross_entropy(pred, target, reduction=reduction, label_smoothing=0.1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--lr",
        type=float,
        default=None,
        help="peak learning rate of the one-cycle schedule (default: lr_find's)",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/digits", help="folder for weights, metrics, plots, logs")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted run in --out from its newest checkpoint",
    )
    parser.add_argument(
        "--grow", action="store_true", help="start with few channels and grow them during training"
    )


def make_loaders(args: argparse.Namespace):
    """The training loader (all 1,438 training images, randomly shifted) and the test loader.

    The test split is also the Learner's validation loader: it is only reported (a column per
    epoch); nothing — no early stopping, no choice of model or epoch — reads it.
    """
    from ember.datasets import load_digits, transforms

    shift = transforms.RandomCrop(8, padding=1)  # moves a digit by up to one pixel
    train_set, test_set = load_digits(split="train", transform=shift), load_digits(split="test")
    generator = ember.Generator().manual_seed(args.seed)
    train = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=generator)
    return train, DataLoader(test_set, batch_size=256)


def _callbacks(args: argparse.Namespace) -> list:
    from ember.train import ProgressBar, TensorBoard

    cbs = [ProgressBar(bars=False if args.no_progress else None)]
    try:
        import tensorboard  # noqa: F401 - only to know whether the log can be written
    except ImportError:
        print('(no TensorBoard log: pip install "ember[tensorboard]")')
    else:
        cbs.append(TensorBoard(os.path.join(args.out, "tensorboard")))
    return cbs


def _peak_lr(learn, args: argparse.Namespace, settings: str) -> float:
    """``--lr``, the rate a resumed run used, or ``lr_find``'s ``minimum`` suggestion.

    (On this problem ``minimum`` trained best over several seeds; ``valley`` is two to three
    times too careful for 20 epochs.)
    """
    if args.resume and os.path.exists(settings):
        with open(settings) as f:
            return json.load(f)["lr"]
    if args.lr is not None:
        return args.lr
    start = time.perf_counter()
    found = learn.lr_find()
    print(
        f"lr_find ({time.perf_counter() - start:.1f} s): valley {found.valley:.2e}, "
        f"steep {found.steep:.2e}, minimum {found.minimum:.2e} -> peak learning rate "
        f"{found.minimum:.2e}"
    )
    _try_plot(lambda: found.plot(os.path.join(args.out, "lr_find.png")))
    return found.minimum


def _try_plot(draw) -> str | None:
    try:
        return draw()
    except ImportError:
        return None


def run(args: argparse.Namespace) -> int:
    if getattr(args, "grow", False):
        from ember.examples.digits_grow import run_grow

        return run_grow(args)
    from ember.train import Learner, accuracy

    ember.manual_seed(args.seed)
    device = ember.device(args.device)
    if device.type == "cuda" and not ember.cuda.is_available():
        print("CUDA is not available here; use --device cpu")
        return 2
    os.makedirs(args.out, exist_ok=True)
    train, test = make_loaders(args)
    model = build_model(args)
    learn = Learner(
        model,
        train,
        test,
        loss_func=smoothed_cross_entropy,
        metrics=[accuracy],
        device=device,
        progress=False,
        cbs=_callbacks(args),
        checkpoint_dir=os.path.join(args.out, "checkpoints"),
        path=args.out,
    )
    print(
        f"digits: {len(train.dataset)} train / {len(test.dataset)} test images (the valid_ columns "
        f"are the test split, only reported), {sum(p.numel() for p in model.parameters())} "
        f"parameters, device {learn.device}"
    )
    settings = os.path.join(args.out, "run.json")
    lr = _peak_lr(learn, args, settings)
    with open(settings, "w") as f:
        json.dump({"lr": lr, "epochs": args.epochs, "seed": args.seed}, f)

    start = time.perf_counter()
    learn.fit_one_cycle(args.epochs, max_lr=lr, resume=args.resume)
    elapsed = time.perf_counter() - start
    test_acc = learn.validate(test)["accuracy"]
    print(
        f"test accuracy {test_acc:.2%} ({len(test.dataset)} images) after {elapsed:.1f} s of "
        "training" + (" (this session)" if args.resume else "")
    )
    _report(learn, test, args, test_acc, elapsed, lr)
    return 0


def _report(learn, test, args, test_acc: float, elapsed: float, lr: float) -> None:
    interp = learn.interpret(test)
    matrix = interp.confusion_matrix()
    print("confusion matrix (rows: true digit, columns: predicted):")
    for digit, row in enumerate(matrix):
        print(f"  {digit}: " + " ".join(f"{int(n):3d}" for n in row))
    weights = os.path.join(args.out, "digits_cnn.safetensors")
    ember.save(learn.model.state_dict(), weights)
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(
            {
                "test_accuracy": test_acc,
                "seconds": elapsed,
                "epochs": args.epochs,
                "lr": lr,
                "confusion_matrix": matrix.tolist(),
            },
            f,
        )
    plots = [
        _try_plot(learn.recorder.plot_loss),
        _try_plot(learn.recorder.plot_lr),
        _try_plot(lambda: interp.plot_confusion_matrix(os.path.join(args.out, "confusion.png"))),
    ]
    written = [weights] + [p for p in plots if p]
    if learn.cb(_tensorboard_class()) is not None:
        written.append(os.path.join(args.out, "tensorboard"))
    print("saved " + ", ".join(written))


def _tensorboard_class():
    from ember.train import TensorBoard

    return TensorBoard
