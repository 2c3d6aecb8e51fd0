"""CNN training-step time, ember vs PyTorch on the CPU (issue 3, item 7).

One step = forward, cross-entropy loss, backward, SGD update. Two models:

* LeNet-5, batch 64 of 1x28x28;
* a CIFAR-style CNN, batch 64 of 3x32x32: three 3x3 conv layers (32, 64, 128 channels), each
  followed by BatchNorm, ReLU and a 2x2 max-pool, then a linear layer to 10 classes.

Both frameworks get the same weights and data; timings are medians over alternating repeats.
``--threads N`` (default 2) sets PyTorch's threads and NumPy's BLAS threads alike (the BLAS
variables must be set before NumPy loads, so this script sets them first).

    python bench/bench_cnn.py [--repeats 7] [--number 3] [--threads 2] [--profile cifar]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys


def _threads_from_argv(default: int = 2) -> int:
    argv = sys.argv
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return default


THREADS = _threads_from_argv()
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, str(THREADS))

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ember
from bench.common import alternate, machine_line, try_import_torch


def lenet5(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


def cifar_cnn(nn):
    norm = getattr(nn, "BatchNorm2d", None)
    layers, channels = [], 3
    for width in (32, 64, 128):
        layers += [nn.Conv2d(channels, width, 3, padding=1)]
        layers += [norm(width)] if norm is not None else []
        layers += [nn.ReLU(), nn.MaxPool2d(2)]
        channels = width
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(128 * 4 * 4, 10))


MODELS = {"lenet5": (lenet5, (64, 1, 28, 28)), "cifar": (cifar_cnn, (64, 3, 32, 32))}


def _ember_loss(logits, target):
    F = ember.nn.functional
    if hasattr(F, "cross_entropy"):
        return F.cross_entropy(logits, target)
    return -logits.log_softmax(1).gather(1, target.unsqueeze(1)).mean()


def ember_step(name: str, torch_model=None):
    """A closure running one ember training step (weights copied from ``torch_model`` if given)."""
    build, shape = MODELS[name]
    model = build(ember.nn)
    if torch_model is not None:
        model.load_state_dict(
            {k: ember.tensor(v.detach().numpy().copy()) for k, v in torch_model.state_dict().items()}
        )
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal(shape).astype(np.float32))
    y = ember.tensor(rng.integers(0, 10, shape[0]))
    params = list(model.parameters())
    sgd = ember.optim.SGD(params, lr=0.01) if hasattr(ember, "optim") else None

    def step():
        loss = _ember_loss(model(x), y)
        for p in params:
            p.grad = None
        loss.backward()
        if sgd is not None:
            sgd.step()
        else:
            with ember.no_grad():
                for p in params:
                    p.sub_(p.grad, alpha=0.01)
        return loss

    return step, model


def torch_step(torch, name: str):
    build, shape = MODELS[name]
    torch.manual_seed(0)
    model = build(torch.nn)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal(shape).astype(np.float32))
    y = torch.tensor(rng.integers(0, 10, shape[0]))
    sgd = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        sgd.zero_grad(set_to_none=True)
        loss.backward()
        sgd.step()
        return loss

    return step, model


def profile(name: str, steps: int = 10, top: int = 25) -> None:
    """cProfile ``steps`` ember training steps; print the functions with the most own time."""
    step, _ = ember_step(name)
    step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--number", type=int, default=3, help="steps per timing sample")
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--threads", type=int, default=2, help="BLAS / PyTorch threads")
    parser.add_argument("--profile", choices=list(MODELS), help="profile ember's step instead")
    args = parser.parse_args()
    if args.profile:
        profile(args.profile)
        return
    torch = try_import_torch()
    if torch is not None:
        torch.set_num_threads(args.threads)
    print(machine_line(), f"| threads {args.threads}")
    for name in args.models:
        work = {}
        torch_model = None
        if torch is not None:
            work["torch"], torch_model = torch_step(torch, name)
        work["ember"], _ = ember_step(name, torch_model)
        if torch is not None:  # same weights, same data: the first losses agree
            e_loss, t_loss = work["ember"]().item(), work["torch"]().item()
            assert abs(e_loss - t_loss) < 1e-3 * max(1.0, abs(t_loss)), (e_loss, t_loss)
        times = alternate(work, args.number, args.repeats)
        line = f"{name:8s} ember {times['ember'] * 1e3:8.1f} ms/step"
        if torch is not None:
            ratio = times["ember"] / times["torch"]
            line += f"   torch {times['torch'] * 1e3:8.1f} ms/step   ratio {ratio:.2f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()
