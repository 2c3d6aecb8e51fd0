"""Moving a model, its data and its optimizer's state to another device (or dtype) mid-training.

Shows:
  * ``ember.cuda.is_available()`` and picking a device; without CuPy or a GPU the script says
    that CUDA is not available and runs the same steps on the CPU (exit status 0);
  * ``model.to(device)`` moves parameters and their gradients in place: the Parameter objects
    stay the same, so an optimizer built before the move still points at them;
  * the optimizer's state (Adam's ``exp_avg``...) does not move by itself;
    ``optimizer.load_state_dict(optimizer.state_dict())`` puts it on each parameter's device and
    dtype, as in PyTorch;
  * every batch goes to the model's device with ``x.to(device)``; ``.numpy()`` needs a CPU
    tensor, so results come back with ``.cpu()``;
  * the same ``.to`` changes dtype: the run ends in float64 on the chosen device.

    python examples/06_devices.py [--device auto|cpu|cuda] [--steps 30]
"""

from __future__ import annotations

import argparse

import ember
import ember.nn.functional as F
from ember import nn


def pick_device(requested: str) -> ember.device:
    available = ember.cuda.is_available()
    print(f"CUDA available: {available}" + (f" ({ember.cuda.device_count()} GPU)" if available else ""))
    if requested == "cpu":
        return ember.device("cpu")
    if not available:
        print("CUDA is not available here (ember needs CuPy and an NVIDIA GPU); running on the CPU")
        return ember.device("cpu")
    return ember.device("cuda" if requested == "auto" else requested)


def describe(model: nn.Module, optimizer) -> str:
    weight = next(model.parameters())
    state = optimizer.state[weight].get("exp_avg")
    grad = weight.grad
    return (
        f"weight on {weight.device} ({weight.dtype}), grad on {grad.device} ({grad.dtype}), "
        f"Adam exp_avg on {state.device} ({state.dtype})"
    )


def train(model, optimizer, inputs, targets, steps: int, device, dtype=None) -> list[float]:
    losses = []
    for _ in range(steps):
        x, y = inputs.to(device, dtype), targets.to(device, dtype)  # each batch follows the model
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())  # .item() works on any device
    return losses


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--steps", type=int, default=30, help="steps in each of the three phases")
    parser.add_argument("--small", action="store_true", help="a few steps, for CI")
    args = parser.parse_args(argv)
    steps = 5 if args.small else args.steps
    device = pick_device(args.device)

    ember.manual_seed(0)
    inputs = ember.randn(256, 8)
    targets = inputs @ ember.randn(8, 1) + 0.1 * ember.randn(256, 1)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))
    optimizer = ember.optim.Adam(model.parameters(), lr=0.02)
    params = [id(p) for p in model.parameters()]

    losses = train(model, optimizer, inputs, targets, steps, "cpu")
    print(f"\n1. on the CPU:      loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    print(f"   {describe(model, optimizer)}")

    model.to(device)
    print(
        f"\n2. model.to({str(device)!r}): the same Parameter objects: "
        f"{[id(p) for p in model.parameters()] == params}"
    )
    print(f"   {describe(model, optimizer)}")
    optimizer.load_state_dict(optimizer.state_dict())  # state follows the parameters
    print(f"   after load_state_dict: {describe(model, optimizer)}")
    more = train(model, optimizer, inputs, targets, steps, device)
    print(f"   trained on {device}: loss {more[0]:.4f} -> {more[-1]:.4f}")
    losses += more

    model.to(ember.float64)  # .to also casts floating-point tensors
    optimizer.load_state_dict(optimizer.state_dict())
    more = train(model, optimizer, inputs, targets, steps, device, ember.float64)
    print(f"\n3. model.to(ember.float64): {describe(model, optimizer)}")
    print(f"   trained in float64: loss {more[0]:.4f} -> {more[-1]:.4f}")
    losses += more

    with ember.no_grad():
        prediction = model(inputs[:3].to(device, ember.float64))
    host = prediction.cpu().numpy()  # back on the host as a NumPy array
    print(f"\nfirst predictions, back on the CPU as NumPy {host.dtype}: {host.ravel().round(3)}")
    print(f"targets:                                     {targets[:3].numpy().ravel().round(3)}")
    final_device = next(model.parameters()).device
    return {"losses": losses, "device": final_device, "dtype": next(model.parameters()).dtype}


if __name__ == "__main__":
    main()
