"""Recording a model's ops as it runs once: the tracer behind ``ember.onnx.export``.

Every primitive application, every op computed outside the graph (comparisons, logical ops) and
every in-place write is reported by the autograd layer's trace hook; the tracer keeps one
``Step`` per op, in order, with the module path that was running. Values are identified by
their arrays (every op output is a fresh array), and every array seen is kept alive until the
trace is dropped, so that an ``id`` is never reused within one trace.

Modules whose whole computation maps to one ONNX operator (the recurrent layers, ``Upsample``)
are recorded as one step: while they run, the ops inside them are not recorded.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field

from ember.autograd import function
from ember.tensor import Tensor

_EMBER_CODE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_TENSOR_CODE = (
    os.path.join(_EMBER_CODE, "tensor.py"),
    os.path.join(_EMBER_CODE, "tensor_core.py"),
    os.path.join(_EMBER_CODE, "methods") + os.sep,
)


@dataclass
class Step:
    """One recorded op: its kind ('primitive', 'raw' or 'module'), the op, and its operands."""

    kind: str
    op: str
    target: object  # the primitive class, the array kernel name, or the module
    args: tuple
    kwargs: dict
    outputs: tuple
    where: str
    alt: Step | None = field(default=None, repr=False)  # the same step in the second trace


class Tracer:
    """Collects ``Step``s while installed as the autograd trace hook (a context manager)."""

    def __init__(self, model, leaf_types: tuple):
        self.steps: list[Step] = []
        self._keep: list = []
        self._paths: list[str] = []
        self._suspended = 0
        self._handles = []
        self._model = model
        self._leaf_types = leaf_types
        self._thread = None  # the tracing thread: ops other threads run meanwhile are not the model's

    # -- installation ---------------------------------------------------------------------
    def __enter__(self):
        for name, module in self._model.named_modules():
            label = name or type(module).__name__
            self._handles.append(module.register_forward_pre_hook(self._enter_module(label, module)))
            self._handles.append(module.register_forward_hook(self._leave_module(label, module)))
        self._thread = threading.get_ident()
        self._previous = function.set_trace_hook(self)
        return self

    def __exit__(self, *exc):
        function.set_trace_hook(self._previous)
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _enter_module(self, label: str, module):
        def hook(mod, args):
            self._paths.append(f"{label} ({type(mod).__name__})")
            if isinstance(mod, self._leaf_types):
                self._suspended += 1

        return hook

    def _leave_module(self, label: str, module):
        def hook(mod, args, output):
            if isinstance(mod, self._leaf_types):
                self._suspended -= 1
                if not self._suspended:
                    outputs = tuple(_flatten(output))
                    self._record("module", type(mod).__name__, mod, tuple(args), {}, outputs)
            self._paths.pop()

        return hook

    @property
    def where(self) -> str:
        return " > ".join(self._paths) if self._paths else "the model's forward"

    # -- what the autograd layer reports --------------------------------------------------
    def primitive(self, cls, args, kwargs, outputs) -> None:
        if not self._suspended:
            outs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
            self._record("primitive", cls.__name__, cls, args, kwargs, tuple(outs))

    def raw(self, kernel: str, operands, result) -> None:
        if not self._suspended:
            self._record("raw", kernel, kernel, tuple(operands), {}, (result,))

    def inplace(self, tensor, result) -> None:
        if not self._suspended:
            self._keep.append((tensor, result))
            self._record("inplace", "Assign", None, (tensor, result), {}, (tensor,))

    def read(self, tensor) -> None:
        """A value read into Python (``bool(t)`` in an ``if``, ``float(t)``): recorded when the
        read comes from the model's own code; ember's layers read values only for checks."""
        if self._suspended:
            return
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename.startswith(_TENSOR_CODE):
            frame = frame.f_back
        if frame is not None and not frame.f_code.co_filename.startswith(_EMBER_CODE):
            self._record("read", "item", None, (tensor,), {}, ())

    def _record(self, kind, op, target, args, kwargs, outputs) -> None:
        if threading.get_ident() != self._thread:  # the hook is process-wide
            return
        self._keep.append((args, kwargs, outputs))
        self.steps.append(Step(kind, op, target, args, kwargs, outputs, self.where))


def _flatten(value):
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _flatten(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _flatten(item)
