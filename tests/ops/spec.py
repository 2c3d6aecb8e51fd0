"""The op test table's row type. Each family lists its rows in ``specs_<family>.py``;
``test_ops.py`` runs every row through every generic test.

A row's ``fn`` takes the module first (``ember`` or ``torch``) so one lambda drives both:
``OpSpec("add", lambda m, a, b: m.add(a, b), np.add, [(3, 4), (4,)])``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class OpSpec:
    name: str
    fn: Callable  # fn(module, *tensors) -> Tensor or tuple of Tensors
    ref: Callable | None  # ref(*float64 arrays) -> array: the NumPy reference (None: skip that test)
    shapes: list  # the input shapes
    domain: tuple = (-2.0, 2.0)  # uniform inputs in this range
    make_inputs: Callable | None = None  # make_inputs(rng, dtype) -> list of arrays, overrides shapes/domain
    grad: tuple | None = None  # which inputs get gradients (default: every float input)
    differentiable: bool = True
    gradgrad: bool = False  # also check second derivatives
    broadcast: bool = False  # a binary elementwise op: run the hypothesis broadcasting test
    torch: bool = True  # compare with PyTorch where it is installed
    torch_fn: Callable | None = None  # fn for torch when the call differs
    zero_dim: bool = False  # also run with every input 0-d
    atol: float = 1e-6
    rtol: float = 1e-5
    grad_atol: float = 1e-5
    grad_rtol: float = 1e-3
    float32: bool = True  # check float32 forward against the float64 reference
    marks: list = field(default_factory=list)

    def __repr__(self) -> str:  # pytest ids
        return self.name

    def inputs(self, rng: np.random.Generator, dtype=np.float64, shapes=None) -> list:
        if self.make_inputs is not None:
            return [
                np.asarray(a) if not isinstance(a, np.ndarray) else a for a in self.make_inputs(rng, dtype)
            ]
        lo, hi = self.domain
        return [rng.uniform(lo, hi, size=s).astype(dtype) for s in (shapes or self.shapes)]

    def grad_indices(self, arrays) -> tuple:
        if not self.differentiable:
            return ()
        if self.grad is not None:
            return self.grad
        return tuple(i for i, a in enumerate(arrays) if a.dtype.kind == "f")
