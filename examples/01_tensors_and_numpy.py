"""Tensors and the NumPy bridge.

Shows:
  * ``ember.from_numpy(a)`` and ``t.numpy()`` share memory: a write on either side is seen by
    the other, with no copy; ``ember.tensor(a)`` copies;
  * in-place ops end in ``_`` (``add_``, ``mul_``, ``clamp_``, ``zero_``) and write into the same
    memory, while their twins without ``_`` return a new tensor;
  * dtype promotion follows PyTorch: int + float gives the default float, a 0-d tensor does not
    widen a dimensioned one, and in-place ops keep the left-hand dtype;
  * a one-element tensor is a Python number through ``.item()``, ``float()``, ``int()``.

    python examples/01_tensors_and_numpy.py [--size 4]
"""

from __future__ import annotations

import argparse

import numpy as np

import ember


def numpy_bridge(size: int) -> dict:
    array = np.arange(size * 3, dtype=np.float32).reshape(size, 3)
    shared = ember.from_numpy(array)  # a view of the same buffer
    copied = ember.tensor(array)  # its own buffer
    print(f"from_numpy: dtype {shared.dtype}, shape {tuple(shared.shape)}")

    array[0, 0] = 100.0  # write through NumPy ...
    print(
        f"after array[0, 0] = 100: shared[0, 0] = {shared[0, 0].item():g}, "
        f"copied[0, 0] = {copied[0, 0].item():g}"
    )
    shared.mul_(2)  # ... and through ember
    print(f"after shared.mul_(2):   array[0] = {array[0].tolist()}")

    back = shared.numpy()  # no copy on the CPU
    same = np.shares_memory(back, array)
    print(f"shared.numpy() shares memory with the original array: {same}")
    return {
        "seen_from_ember": shared[0, 0].item() == 200.0,
        "shares_memory": same,
        "copy_untouched": copied[0, 0].item() == 0.0,
    }


def inplace_ops(size: int) -> bool:
    x = ember.ones(size)
    y = x.add(1)  # new tensor, x unchanged
    print(f"\nx.add(1) -> {y.tolist()}, x is still {x.tolist()}")
    address = x.numpy().__array_interface__["data"][0]
    x.add_(1).mul_(3).clamp_(max=5.0)  # chained, each returns x itself
    print(f"x.add_(1).mul_(3).clamp_(max=5) -> {x.tolist()}")
    x[1:].zero_()  # a view: writes into x
    print(f"x[1:].zero_()                   -> {x.tolist()}")
    kept = x.numpy().__array_interface__["data"][0] == address
    print(f"same memory before and after the in-place ops: {kept}")
    return kept and x[0].item() == 5.0


def promotion() -> dict:
    ints = ember.tensor([1, 2, 3])
    halves = ember.tensor([0.5, 0.5, 0.5], dtype=ember.float16)
    doubles = ember.tensor(2.0, dtype=ember.float64)  # 0-d
    cases = {
        "int64 + python float": ints + 1.5,
        "int64 + float16": ints + halves,
        "float16 * 0-d float64": halves * doubles,
        "int64 + 0-d float64": ints + doubles,
        "bool + int": ember.tensor([True, False]) + 1,
        "int64 / int64": ints / ints,
    }
    print("\ndtype promotion:")
    for name, result in cases.items():
        print(f"  {name:24s} -> {result.dtype}")
    acc = ember.zeros(3, dtype=ember.float16)
    acc += ints.double()  # in-place keeps the left-hand dtype
    print(f"  float16 += float64 (in-place) -> {acc.dtype}")
    try:
        ints.add_(0.5)  # float result cannot go into an int tensor
    except RuntimeError as error:
        print(f"  int64.add_(0.5) raises: {error}")
    return {name: result.dtype for name, result in cases.items()}


def python_numbers() -> float:
    total = ember.arange(10, dtype=ember.float32).sum()  # a 0-d tensor
    print(
        f"\none-element tensors: sum = {total}, .item() -> {total.item()!r}, "
        f"float() -> {float(total)!r}, int() -> {int(total)!r}"
    )
    count = ember.tensor([7])
    print(
        f"ember.tensor([7]) in range(): {list(range(int(count)))[-1]}; as a format value: {count.item():.2f}"
    )
    if total > 40:  # a comparison gives a bool tensor; `if` reads it
        print("  `if total > 40:` works on a one-element tensor")
    return total.item()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4, help="rows of the example array")
    parser.add_argument("--small", action="store_true", help="tiny sizes, for CI")
    args = parser.parse_args(argv)
    size = 2 if args.small else max(args.size, 2)
    results = numpy_bridge(size)
    results["inplace_kept_memory"] = inplace_ops(size)
    results["dtypes"] = promotion()
    results["sum"] = python_numbers()
    return results


if __name__ == "__main__":
    main()
