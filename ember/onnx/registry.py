"""One ONNX mapping per primitive, found by the primitive's name (torch.onnx's registry idea).

A mapping is ``fn(g) -> name or tuple of names``: it reads the step being exported through the
``GraphBuilder`` ``g`` (``g.step``, ``g.arg(i)``, ``g.traced(i)``) and adds nodes with
``g.op(...)``; it returns the value name of each output of the step.
"""

from __future__ import annotations

SYMBOLICS: dict[str, object] = {}


def symbolic(*names: str):
    """Register the decorated function as the mapping of the ops ``names``."""

    def register(fn):
        for name in names:
            SYMBOLICS[name] = fn
        return fn

    return register


def lookup(name: str):
    if not SYMBOLICS:
        from ember.onnx.symbolic import elementwise, nn, recurrent, reduce, shape  # noqa: F401
    return SYMBOLICS.get(name)
