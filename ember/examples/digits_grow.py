"""``ember-demo digits --grow``: a CNN that starts with a few channels and grows while it trains.

The network has DigitsNet's shape (three 3x3 convolutions with BatchNorm, a max-pool, global
average pooling, a linear layer) but starts at a quarter of its channels. Each time the
validation loss improves by less than ``threshold`` (relative), ``GrowOnPlateau`` doubles the
channels of every convolution (Net2Net: copies of existing channels, the next layer's weights
split among them) until DigitsNet's widths are reached. The function is unchanged by each
growth (up to a noise of a tenth of the weights' spread on the copies' incoming weights,
which lets copies of a channel learn different things) and AdamW's state follows the channels, so training carries on.
"""

from __future__ import annotations

import argparse
import time

import ember
import ember.nn.functional as F
from ember import nn
from ember.nn.grow import GrowOnPlateau
from ember.utils.data import DataLoader, Subset

__all__ = ["GrowingDigitsNet", "run_grow", "train_digits"]

LAYERS = ["conv1", "conv2", "conv3"]
FULL_WIDTHS = (16, 32, 64)


class GrowingDigitsNet(nn.Module):
    """DigitsNet with chosen widths: conv/BN/ReLU x3 (max-pool after the second), mean, linear."""

    def __init__(self, widths: tuple[int, int, int] = (4, 8, 16), num_classes: int = 10):
        super().__init__()
        a, b, c = widths
        self.conv1, self.bn1 = nn.Conv2d(1, a, 3, padding=1), nn.BatchNorm2d(a)
        self.conv2, self.bn2 = nn.Conv2d(a, b, 3, padding=1), nn.BatchNorm2d(b)
        self.conv3, self.bn3 = nn.Conv2d(b, c, 3, padding=1), nn.BatchNorm2d(c)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.relu(self.bn3(self.conv3(x)))
        return self.fc(x.mean((2, 3)))

    def widths(self) -> tuple[int, ...]:
        return tuple(getattr(self, name).out_channels for name in LAYERS)


def _evaluate(model, loader, device) -> tuple[float, float]:
    model.eval()
    loss = correct = total = 0.0
    with ember.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            logits = model(images)
            loss += float(F.cross_entropy(logits, labels, reduction="sum"))
            correct += int((logits.argmax(1) == labels).sum())
            total += labels.shape[0]
    model.train()
    return loss / total, correct / total


def _loaders(seed: int, batch_size: int):
    from ember.datasets import load_digits

    train_full, test_set = load_digits(split="train"), load_digits(split="test")
    generator = ember.Generator().manual_seed(seed)
    order = ember.randperm(len(train_full), generator=generator).tolist()
    n_val = len(train_full) // 10
    train = DataLoader(
        Subset(train_full, order[n_val:]), batch_size=batch_size, shuffle=True, generator=generator
    )
    val = DataLoader(Subset(train_full, order[:n_val]), batch_size=256)
    return train, val, DataLoader(test_set, batch_size=256)


def train_digits(
    *,
    epochs: int = 10,
    widths=(4, 8, 16),
    grow: bool = True,
    lr: float = 3e-3,
    batch_size: int = 32,
    seed: int = 0,
    device: str = "cpu",
    threshold: float = 0.25,
    noise: float = 0.1,
    verbose: bool = True,
) -> dict:
    """Train on digits, growing (or not); a record of widths, parameters, losses and time."""
    ember.manual_seed(seed)
    device = ember.device(device)
    train, val, test = _loaders(seed, batch_size)
    model = GrowingDigitsNet(widths).to(device)
    optimizer = ember.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    scheduler = ember.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(train))
    example = next(iter(val))[0][:16].to(device)
    policy = GrowOnPlateau(
        LAYERS,
        factor=2,
        patience=0,
        threshold=threshold,
        max_width=dict(zip(LAYERS, FULL_WIDTHS)),
        example_input=example,
        optimizer=optimizer,
        noise=noise,
    )
    record = {"epochs": [], "growths": []}
    seconds = 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        for images, labels in train:
            loss = F.cross_entropy(model(images.to(device)), labels.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        val_loss, val_acc = _evaluate(model, val, device)
        params = sum(p.numel() for p in model.parameters())
        record["epochs"].append(
            {
                "epoch": epoch,
                "seconds": seconds,
                "val_loss": val_loss,
                "val_acc": val_acc,
                "parameters": params,
                "widths": model.widths(),
            }
        )
        if verbose:
            print(
                f"epoch {epoch:2d}  validation loss {val_loss:.4f}  accuracy {val_acc:.2%}  "
                f"widths {model.widths()}  {params:,} parameters"
            )
        report = policy.step(val_loss, model) if grow else None
        seconds += time.perf_counter() - start
        record["epochs"][-1]["seconds"] = seconds
        if report is not None:
            record["growths"].append({"epoch": epoch, "widths": model.widths()})
            if verbose:
                print(f"  grew to widths {model.widths()}:")
                for r in policy.history[-len(LAYERS) :]:
                    print("    " + str(r).splitlines()[0])
    record["test_acc"] = _evaluate(model, test, device)[1]
    record["seconds"] = seconds
    record["model"] = model
    return record


def run_grow(args: argparse.Namespace) -> int:
    """What ``ember-demo digits --grow`` runs (the digits demo's parser dispatches here)."""
    device = getattr(args, "device", "cpu")
    if ember.device(device).type == "cuda" and not ember.cuda.is_available():
        print("CUDA is not available here; use --device cpu")
        return 2
    epochs = getattr(args, "epochs", 10)
    print(f"digits --grow: starting at widths (4, 8, 16), growing up to {FULL_WIDTHS} on validation plateaus")
    record = train_digits(
        epochs=epochs,
        lr=getattr(args, "lr", None) or 3e-3,
        batch_size=getattr(args, "batch_size", None) or 32,
        seed=getattr(args, "seed", 0),
        device=device,
    )
    print(
        f"test accuracy {record['test_acc']:.2%} after {record['seconds']:.1f} s; "
        f"{len(record['growths'])} growths, final widths {record['model'].widths()}"
    )
    return 0
