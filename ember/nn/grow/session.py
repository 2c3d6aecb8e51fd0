"""One growth step: compute every new array first, then install them all, check, or undo.

Nothing changes until ``install``: the transformations (``transforms``) run on the current
arrays and their results wait here. ``install`` swaps each parameter's array in place on the
same Parameter object (``p.data = ...``), so the Parameters the user and the optimizer hold
stay valid; the optimizer's state entries are replaced by their mapped arrays (its flat fast
path sees new arrays and rebuilds its layout). ``verify`` runs the example input again and, if
the model's output moved, ``rollback`` puts every array, state entry and attribute back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ember.autograd.grad_mode import no_grad
from ember.dtypes import is_floating_np
from ember.nn.grow.optimizer_state import MAGNITUDE_STATE, state_arrays
from ember.nn.grow.trace import example_args, tensors_in
from ember.tensor import Tensor, make

__all__ = ["GrowthSession", "count_parameters"]


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


class GrowthSession:
    """Pending changes to tensors, optimizer state and module attributes, with an undo log."""

    def __init__(self, op: str, optimizer=None):
        self.op = op
        self.optimizer = optimizer
        self.tensors: dict[int, list] = {}  # id -> [tensor, new array, module, attr, old shape]
        self.states: dict[tuple[int, str], list] = {}  # (id, key) -> [param, key, new array]
        self.attrs: list[tuple[Any, str, Any]] = []
        self.structure: list[Callable[[], Callable[[], None]]] = []
        self._undo: list[Callable[[], None]] = []

    def transform(
        self, module_name: str, attr: str, tensor: Tensor, fn: Callable, magnitude_fn: Callable | None = None
    ) -> None:
        """Queue ``fn`` on ``tensor``'s (pending) array and on its linear optimizer state, and
        ``magnitude_fn`` (default ``fn``) on its magnitude state (see ``optimizer_state``)."""
        entry = self.tensors.get(id(tensor))
        if entry is None:
            entry = self.tensors[id(tensor)] = [tensor, tensor._data, module_name, attr, tuple(tensor.shape)]
        for key, array in state_arrays(self.op, self.optimizer, tensor, tensor.shape).items():
            pending = self.states.setdefault((id(tensor), key), [tensor, key, array])
            if pending[2].shape != entry[1].shape:
                raise ValueError(f"{self.op}: optimizer state '{key}' does not follow its parameter")
            magnitude = key in MAGNITUDE_STATE and magnitude_fn is not None
            pending[2] = (magnitude_fn if magnitude else fn)(pending[2])
        entry[1] = fn(entry[1])

    def set_attr(self, obj, name: str, value) -> None:
        self.attrs.append((obj, name, value))

    def shapes(self) -> dict[str, dict[str, tuple[tuple, tuple]]]:
        out: dict[str, dict[str, tuple[tuple, tuple]]] = {}
        for _, new, module, attr, old in self.tensors.values():
            out.setdefault(module, {})[attr] = (old, tuple(new.shape))
        return out

    # -- mutation -----------------------------------------------------------------------------
    def install(self) -> None:
        for tensor, new, *_ in self.tensors.values():
            self._undo.append(_restore_tensor(tensor))
            tensor.data = make(new)
            tensor.grad = None  # a gradient of the old shape belongs to the old layer
        for param, key, new in self.states.values():
            state = self.optimizer.state[param]
            old = state[key]
            self._undo.append(lambda s=state, k=key, v=old: s.__setitem__(k, v))
            state[key] = make(new)
        for obj, name, value in self.attrs:
            old = getattr(obj, name)
            self._undo.append(lambda o=obj, n=name, v=old: setattr(o, n, v))
            setattr(obj, name, value)
        for change in self.structure:
            self._undo.append(change())

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()

    def verify(self, model, example_input, expected: list) -> float:
        """The largest change of the model's output on the example, relative to its scale."""
        modes = [(m, m.training) for m in model.modules()]
        try:
            model.eval()
            with no_grad():
                outputs = tensors_in(model(*example_args(example_input)))
        except Exception as exc:
            self.rollback()
            raise RuntimeError(
                f"{self.op}: the grown model failed on the example input ({exc}); the model "
                "uses the grown units in a way grow did not recognise, so nothing was changed"
            ) from exc
        finally:
            for m, mode in modes:
                m.training = mode
        worst = 0.0
        for got, want in zip(outputs, expected):
            if tuple(got.shape) != tuple(want.shape):
                return float("inf")
            xp = got.xp
            if want.size == 0 or not is_floating_np(want.dtype):
                continue
            scale = 1.0 + float(xp.abs(want).max())
            worst = max(worst, float(xp.abs(got._data - want).max()) / scale)
        return worst


def _restore_tensor(tensor: Tensor) -> Callable[[], None]:
    array, grad = tensor._data, tensor.grad

    def restore() -> None:
        tensor.data = make(array)
        tensor.grad = grad

    return restore
