"""The main job: a small CNN learns scikit-learn's 8x8 handwritten digits.

    ember-demo digits --epochs 8 --device cpu --out runs/digits

Prints a progress bar with the running loss, a line per epoch (train loss, validation
accuracy), the test accuracy; writes the weights (safetensors) and a loss-curve PNG.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.utils.data import DataLoader, Subset


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/digits", help="folder for weights, metrics and the plot")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--grow", action="store_true",
                        help="start with few channels and grow them during training")


def _progress(iterable, enabled: bool, **kwargs):
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, **kwargs)


def evaluate(model: nn.Module, loader: DataLoader, device) -> float:
    model.eval()
    correct = total = 0
    with ember.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            correct += int((model(images).argmax(1) == labels).sum())
            total += labels.shape[0]
    model.train()
    return correct / total


def save_plot(history: list[dict], path: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    steps = [h["step"] for h in history]
    losses = [h["loss"] for h in history]
    window = 20
    smooth = [sum(losses[max(0, i - window + 1): i + 1]) / (i + 1 - max(0, i - window + 1)) for i in range(len(losses))]
    ax.plot(steps, losses, color="tab:blue", alpha=0.3, label="train loss per batch")
    ax.plot(steps, smooth, color="tab:blue", label=f"mean of the last {window} batches")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy")
    ax.set_title("ember: digits CNN")
    ax.legend()
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return True


def run(args: argparse.Namespace) -> int:
    if getattr(args, "grow", False):
        from ember.examples.digits_grow import run_grow

        return run_grow(args)
    from ember.datasets import load_digits

    ember.manual_seed(args.seed)
    device = ember.device(args.device)
    if device.type == "cuda" and not ember.cuda.is_available():
        print("CUDA is not available here; use --device cpu")
        return 2
    train_full, test_set = load_digits(split="train"), load_digits(split="test")
    generator = ember.Generator().manual_seed(args.seed)
    order = ember.randperm(len(train_full), generator=generator).tolist()
    n_val = len(train_full) // 10  # a tenth of the training images, held out for validation
    train_set, val_set = Subset(train_full, order[n_val:]), Subset(train_full, order[:n_val])
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=generator)
    val_loader = DataLoader(val_set, batch_size=256)
    test_loader = DataLoader(test_set, batch_size=256)

    model = DigitsNet().to(device)
    optimizer = ember.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    scheduler = ember.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * len(train_loader))
    print(f"digits: {len(train_set)} train / {len(val_set)} validation / {len(test_set)} test images, "
          f"{sum(p.numel() for p in model.parameters())} parameters, device {device}")

    history, step, start = [], 0, time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        running, seen = 0.0, 0
        bar = _progress(train_loader, not args.no_progress, desc=f"epoch {epoch}/{args.epochs}",
                        leave=False, unit="batch")
        for images, labels in bar:
            images, labels = images.to(device), labels.to(device)
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            batch_loss = loss.item()
            running += batch_loss * labels.shape[0]
            seen += labels.shape[0]
            history.append({"step": step, "loss": batch_loss})
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{running / seen:.4f}")
        val_acc = evaluate(model, val_loader, device)
        print(f"epoch {epoch:2d}  train loss {running / seen:.4f}  validation accuracy {val_acc:.2%}")
    test_acc = evaluate(model, test_loader, device)
    elapsed = time.perf_counter() - start
    print(f"test accuracy {test_acc:.2%} ({len(test_set)} images) after {elapsed:.1f} s of training")

    os.makedirs(args.out, exist_ok=True)
    weights = os.path.join(args.out, "digits_cnn.safetensors")
    ember.save(model.state_dict(), weights)
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({"test_accuracy": test_acc, "seconds": elapsed, "epochs": args.epochs}, f)
    plotted = save_plot(history, os.path.join(args.out, "loss.png"))
    print(f"saved {weights}" + (f" and {os.path.join(args.out, 'loss.png')}" if plotted else ""))
    return 0
