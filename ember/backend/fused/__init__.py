"""Fused device kernels: one module per family, each kernel written twice.

A family module (``ember/backend/fused/<family>.py``) defines, for each kernel ``name``:

- ``name(...)``: the reference, written with plain array operations on the arrays' own module
  (``xp_of``); it is what the CUDA stand-in runs, and the oracle the CUDA kernel is tested against;
- ``build_name(cupy)``: returns a callable with the same signature that runs CuPy
  ``ElementwiseKernel``/``ReductionKernel``/``RawKernel`` code (compiled by CuPy on first call and
  cached by it per dtype).

Ops ask ``kernel(xp, "family.name")``: on the CPU the answer is None (ops keep their NumPy
code, which is already fused where it pays); on the stand-in the reference; on a real GPU the
CuPy kernel, built once. ``EMBER_FUSED_KERNELS=0`` in the environment, or ``disabled()`` in a
block, turns every answer into None, so the composite path can be measured and tested against
the fused one.
"""

from __future__ import annotations

import contextlib
import importlib
import os

from ember import backend

__all__ = ["disabled", "enabled", "kernel"]

_built: dict[tuple[str, str], object] = {}
_state = {"on": os.environ.get("EMBER_FUSED_KERNELS", "1") not in ("0", "")}


def enabled() -> bool:
    """Whether ops use fused device kernels now."""
    return _state["on"]


@contextlib.contextmanager
def disabled():
    """Run the block with every fused kernel off (the composite path), then restore."""
    previous = _state["on"]
    _state["on"] = False
    try:
        yield
    finally:
        _state["on"] = previous


def kernel(xp, name: str):
    """The fused kernel ``name`` (``"family.function"``) for arrays of ``xp``, or None."""
    if not _state["on"]:
        return None
    module = backend.for_xp(xp)
    if module.name != "cuda":
        return None
    key = ("fake" if module.fake else "cuda", name)
    found = _built.get(key)
    if found is None:
        family, function = name.split(".")
        source = importlib.import_module(f"ember.backend.fused.{family}")
        found = getattr(source, function) if module.fake else getattr(source, f"build_{function}")(xp)
        _built[key] = found
    return found
