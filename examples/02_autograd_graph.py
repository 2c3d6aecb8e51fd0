"""Autograd and the graph it records.

Shows:
  * ``requires_grad`` leaves, and the graph of ``grad_fn`` nodes that each operation records;
  * walking that graph through ``grad_fn.next_functions`` down to the ``AccumulateGrad`` leaves;
  * ``backward()`` filling ``.grad``, and ``ember.autograd.grad`` returning gradients instead;
  * higher-order derivatives with ``create_graph=True`` (d/dx, d2/dx2, d3/dx3 of x**3);
  * ``ember.no_grad()`` as a context and a decorator: nothing is recorded inside;
  * a custom ``ember.autograd.Function`` with its own forward and backward, checked by gradcheck.

    python examples/02_autograd_graph.py [--steps 3]
"""

from __future__ import annotations

import argparse

import ember
from ember.autograd import Function, gradcheck


def print_graph(root, indent: str = "") -> int:
    """Print the graph under ``root`` depth-first; return the number of nodes printed."""
    name = type(root).__name__
    leaf = getattr(root, "variable", None)
    suffix = f"  (leaf of shape {tuple(leaf.shape)})" if leaf is not None else ""
    print(f"{indent}{name}{suffix}")
    count = 1
    for child, _output_nr in root.next_functions:
        if child is not None:  # None: an input that needs no gradient
            count += print_graph(child, indent + "    ")
    return count


def graph_and_backward() -> dict:
    w = ember.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    x = ember.tensor([1.0, 2.0])  # data: no gradient wanted
    b = ember.zeros(2, requires_grad=True)
    loss = (w @ x + b).tanh().pow(2).sum()
    print(f"w.is_leaf={w.is_leaf}, w.grad_fn={w.grad_fn}, x.requires_grad={x.requires_grad}")
    print(f"loss = {loss.item():.4f}, loss.grad_fn = {type(loss.grad_fn).__name__}")
    print("the graph, from the loss down to the leaves:")
    nodes = print_graph(loss.grad_fn, "  ")

    loss.backward()
    print(f"after backward: w.grad =\n{w.grad}\nb.grad = {b.grad}")
    return {"nodes": nodes, "w_grad": w.grad.clone()}


def functional_grad() -> None:
    x = ember.linspace(-1.0, 1.0, 5, requires_grad=True)
    y = (x.sin() * x).sum()
    (dy_dx,) = ember.autograd.grad(y, x)  # returns gradients; x.grad stays None
    expected = x.cos() * x + x.sin()
    print(f"\nautograd.grad of sum(x*sin(x)): {dy_dx}")
    error = (dy_dx - expected.detach()).abs().max().item()
    print(f"  matches cos(x)*x + sin(x): {error < 1e-6} (max error {error:.1e}), x.grad is {x.grad}")


def higher_order(steps: int) -> list[float]:
    x = ember.tensor(2.0, requires_grad=True)
    value = x**3
    derivatives = []
    print("\nhigher-order derivatives of x**3 at x = 2:")
    for order in range(1, steps + 1):
        (value,) = ember.autograd.grad(value, x, create_graph=True)
        derivatives.append(value.item())
        node = type(value.grad_fn).__name__ if value.grad_fn is not None else "None: a constant"
        print(f"  d{order}/dx{order} = {value.item():g}  (grad_fn {node})")
        if not value.requires_grad:  # a constant: every later derivative is 0
            print(f"  d{order + 1}/dx{order + 1} and beyond = 0")
            break
    return derivatives


@ember.no_grad()
def scaled(t, factor: float):
    return t * factor


def no_grad_demo() -> bool:
    w = ember.ones(3, requires_grad=True)
    with ember.no_grad():
        inside = w * 2
    outside = w * 2
    print(
        f"\nno_grad: inside.requires_grad={inside.requires_grad}, "
        f"outside.requires_grad={outside.requires_grad}, "
        f"decorated.requires_grad={scaled(w, 2.0).requires_grad}"
    )
    return not inside.requires_grad and outside.requires_grad


class SmoothClip(Function):
    """y = x / (1 + |x|): a soft clip to (-1, 1), with a hand-written derivative 1 / (1 + |x|)**2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x / (1 + x.abs())

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (1 + x.abs()) ** 2


def custom_function() -> bool:
    x = ember.tensor([-3.0, -0.5, 0.0, 0.5, 3.0], requires_grad=True)
    y = SmoothClip.apply(x)
    y.sum().backward()
    print(f"\ncustom Function: y = {y.detach()}, y.grad_fn = {type(y.grad_fn).__name__}")
    print(f"  x.grad = {x.grad}")
    probe = ember.randn(4, dtype=ember.float64, requires_grad=True)
    passed = gradcheck(SmoothClip.apply, (probe,))
    print(f"  gradcheck against finite differences: {passed}")
    return passed


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4, help="how many derivatives of x**3")
    parser.add_argument("--small", action="store_true", help="tiny sizes, for CI")
    args = parser.parse_args(argv)
    ember.manual_seed(0)
    results = graph_and_backward()
    functional_grad()
    results["derivatives"] = higher_order(3 if args.small else args.steps)
    results["no_grad_ok"] = no_grad_demo()
    results["gradcheck"] = custom_function()
    return results


if __name__ == "__main__":
    main()
