"""Deploy what you trained: export a digits CNN to ONNX and serve it with ONNX Runtime.

Trains a small CNN on scikit-learn's digits, exports it with ``ember.onnx.export`` (the batch
dimension left dynamic, so one file serves any batch size), loads the file with ONNX Runtime,
checks that both give the same predictions, and times inference in both.

    python examples/09_onnx_export.py [--epochs 4] [--out digits.onnx]

Needs the optional extras: pip install "ember[onnx,demo]".
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

import ember
import ember.nn.functional as F
from ember import nn
from ember.datasets import load_digits
from ember.utils.data import DataLoader


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.conv2, self.bn2 = nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32)
        self.fc = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(x.flatten(1))


def train(model: nn.Module, epochs: int) -> None:
    loader = DataLoader(
        load_digits("train"), batch_size=32, shuffle=True, generator=ember.Generator().manual_seed(0)
    )
    optimizer = ember.optim.AdamW(model.parameters(), lr=3e-3)
    for epoch in range(epochs):
        for images, labels in loader:
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch + 1}: last batch loss {loss.item():.4f}")


def median_ms(fn, repeats: int = 20) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--out", default=None, help="where to write the .onnx file")
    parser.add_argument("--small", action="store_true", help="one epoch, for CI")
    args = parser.parse_args(argv)
    if args.small:
        args.epochs = 1
    import onnxruntime

    ember.manual_seed(0)
    model = SmallCNN()
    train(model, args.epochs)
    model.eval()

    path = args.out or os.path.join(tempfile.mkdtemp(), "digits.onnx")
    ember.onnx.export(
        model,
        ember.zeros(1, 1, 8, 8),
        path,
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}},
    )
    print(f"exported to {path} ({os.path.getsize(path) / 1024:.1f} KiB)")

    test = load_digits("test")
    images = ember.from_numpy(test.data)
    session = onnxruntime.InferenceSession(path)
    onnx_logits = session.run(None, {"image": test.data})[0]
    with ember.no_grad():
        ember_logits = model(images).numpy()
    agree = float((onnx_logits.argmax(1) == ember_logits.argmax(1)).mean())
    accuracy = float((onnx_logits.argmax(1) == test.targets).mean())
    largest_difference = float(np.abs(onnx_logits - ember_logits).max())
    print(
        f"predictions agree on {agree:.2%} of {len(test)} test images; test accuracy "
        f"{accuracy:.2%}; largest logit difference {largest_difference:.2e}"
    )

    one = test.data[:1]
    with ember.no_grad():
        ember_ms = median_ms(lambda: model(ember.from_numpy(one)))
        ember_batch_ms = median_ms(lambda: model(images))
    onnx_ms = median_ms(lambda: session.run(None, {"image": one}))
    onnx_batch_ms = median_ms(lambda: session.run(None, {"image": test.data}))
    print(
        f"inference, one image: ember {ember_ms:.2f} ms, ONNX Runtime {onnx_ms:.2f} ms; "
        f"all {len(test)}: ember {ember_batch_ms:.1f} ms, ONNX Runtime {onnx_batch_ms:.1f} ms"
    )
    return {
        "agree": agree,
        "accuracy": accuracy,
        "largest_difference": largest_difference,
        "path": path,
        "latency_ms": {"ember": ember_ms, "onnxruntime": onnx_ms},
    }


if __name__ == "__main__":
    main()
