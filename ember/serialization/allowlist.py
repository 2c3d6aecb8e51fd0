"""Which classes and functions a checkpoint may name, and how a recorded name is resolved.

A file written by ``ember.save(model)`` records classes by import path
(``"package.module:Class"``); a PyTorch ``.pt`` of a whole model names PyTorch's classes
(``torch.nn.modules.linear.Linear``). Loading resolves such a name only:

- with ``weights_only=True`` (the default), when the caller listed the object with
  ``add_safe_globals`` / ``safe_globals`` (or it is one of the few builtins in ``_BUILTINS``);
  nothing is imported;
- with ``weights_only=False``, for ember files by importing the recorded path (the caller
  trusts the file), and for PyTorch files through a fixed map of PyTorch names onto ember's
  own classes (``torch_names``); a name outside the map is refused.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import importlib
import pickle
from collections.abc import Iterable, Iterator
from typing import Any

from ember.serialization.errors import SerializationError

__all__ = [
    "WeightsOnlyError",
    "add_safe_globals",
    "clear_safe_globals",
    "dotted",
    "get_safe_globals",
    "import_path",
    "path_of",
    "safe_globals",
    "torch_names",
    "weights_only_message",
]

_SAFE: dict[str, Any] = {}  # dotted name -> the object the caller allowed
_BUILTINS: dict[str, Any] = {
    f"builtins.{t.__name__}": t for t in (dict, list, tuple, set, frozenset, int, float, str, bool)
}
_BUILTINS["collections.OrderedDict"] = collections.OrderedDict


class WeightsOnlyError(SerializationError, pickle.UnpicklingError):
    """A file that needs classes imported, loaded with ``weights_only=True``.

    It is a ``SerializationError`` (a RuntimeError) and, as in PyTorch, a
    ``pickle.UnpicklingError``, so either ``except`` clause catches it. ``names`` lists the
    dotted names that were refused.
    """

    def __init__(self, file, tensor: str | None, reason: str, names: Iterable[str] = ()) -> None:
        super().__init__(file, tensor, reason)
        self.names = sorted(set(names))

    def __reduce__(self):
        return (type(self), (self.file, self.tensor, self.reason, self.names))


def add_safe_globals(safe: Iterable[Any]) -> None:
    """Allow these classes or functions under ``weights_only=True`` (``torch.serialization``'s twin).

    An entry is an object (found in files by its ``module.qualname``) or a pair ``(obj, name)``
    naming it explicitly, e.g. ``(MyNet, "__main__.Net")`` for a class saved from a script.
    """
    for entry in safe:
        if isinstance(entry, tuple):
            if len(entry) != 2 or not isinstance(entry[1], str):
                raise TypeError(f"add_safe_globals: expected an object or (object, 'name'), got {entry!r}")
            obj, name = entry
            _SAFE[name] = obj
        else:
            _SAFE[dotted(path_of(entry))] = entry


def get_safe_globals() -> list[Any]:
    """The objects allowed by ``add_safe_globals``, as PyTorch returns them."""
    return [obj if dotted(_path_or_none(obj) or "") == name else (obj, name) for name, obj in _SAFE.items()]


def clear_safe_globals() -> None:
    """Forget every object allowed by ``add_safe_globals``."""
    _SAFE.clear()


@contextlib.contextmanager
def safe_globals(safe: Iterable[Any]) -> Iterator[None]:
    """Allow ``safe`` under ``weights_only=True`` inside a ``with`` block only."""
    saved = dict(_SAFE)
    add_safe_globals(safe)
    try:
        yield
    finally:
        _SAFE.clear()
        _SAFE.update(saved)


def allowed(name: str) -> Any | None:
    """The object allowed under ``weights_only=True`` for a dotted ``name``, or None."""
    return _SAFE.get(name, _BUILTINS.get(name))


# -- import paths -------------------------------------------------------------------------
def path_of(obj: Any) -> str:
    """``"module:qualname"`` for a class or function that can be imported back by that path."""
    path = _path_or_none(obj)
    if path is None:
        raise TypeError(
            f"{obj!r} cannot be saved by name: it is not a module-level class or "
            "function that can be imported back (lambdas and local classes cannot)"
        )
    return path


def _path_or_none(obj: Any) -> str | None:
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    try:
        found = _walk(importlib.import_module(module), qualname)
    except (ImportError, AttributeError):
        return None
    return f"{module}:{qualname}" if found is obj else None


def dotted(path: str) -> str:
    """``"a.b:C.D"`` as PyTorch spells it: ``"a.b.C.D"``."""
    return path.replace(":", ".")


def import_path(path: str) -> Any:
    """Import ``"module:qualname"`` and return the object (only ever with ``weights_only=False``)."""
    module, _, qualname = path.partition(":")
    if not module or not qualname:
        raise ValueError(f"invalid import path {path!r}; expected 'module:qualname'")
    try:
        return _walk(importlib.import_module(module), qualname)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot import {path!r} recorded in the file: {exc}") from None


def _walk(obj: Any, qualname: str) -> Any:
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def weights_only_message(names: Iterable[str]) -> str:
    """The refusal under ``weights_only=True``: what the file needs and both remedies."""
    listed = ", ".join(sorted(set(names)))
    return (
        f"weights_only=True loads only tensors and plain data, but this file records whole "
        f"objects of {listed} (saved with ember.save(model) or torch.save(model)). Either save "
        "model.state_dict() instead and load it into a model you build "
        "(model.load_state_dict(ember.load(path))), or, if you trust this file, load it with "
        "ember.load(path, weights_only=False), which imports the recorded classes; "
        "ember.serialization.add_safe_globals([...]) allows chosen classes under weights_only=True"
    )


# -- PyTorch names onto ember's objects ---------------------------------------------------
def torch_names() -> dict[str, Any]:
    """PyTorch's dotted names for whole-object pickles, mapped to ember's classes and functions.

    Every ``ember.nn`` Module subclass under ``torch.nn.modules.<file>.<Name>`` (any file, since
    PyTorch moves classes between files), ``torch.nn.functional.<fn>``, the optimizers and lr
    schedulers, and the builtins that pickles of modules use.
    """
    global _TORCH_NAMES
    if _TORCH_NAMES is None:
        _TORCH_NAMES = _build_torch_names()
    return _TORCH_NAMES


_TORCH_NAMES: dict[str, Any] | None = None


def _build_torch_names() -> dict[str, Any]:
    from ember import nn, optim  # optim (layer 5) saves through here
    from ember.nn import functional
    from ember.optim import lr_scheduler  # layer 5, as above

    table: dict[str, Any] = {
        "builtins.set": set,
        "__builtin__.set": set,
        "builtins.frozenset": frozenset,
        "__builtin__.frozenset": frozenset,
        "collections.defaultdict": collections.defaultdict,
        "builtins.dict": dict,
        "__builtin__.dict": dict,
        "builtins.list": list,
        "__builtin__.list": list,
        "argparse.Namespace": argparse.Namespace,  # the command-line arguments many checkpoints keep
    }
    for name in dir(functional):
        value = getattr(functional, name)
        if not name.startswith("_") and callable(value):
            table[f"torch.nn.functional.{name}"] = value
    for name in dir(optim):
        value = getattr(optim, name)
        if isinstance(value, type) and issubclass(value, optim.Optimizer):
            table[f"torch.optim.{name.lower()}.{name}"] = value
            table[f"torch.optim.{name}"] = value
    for name in dir(lr_scheduler):
        value = getattr(lr_scheduler, name)
        if isinstance(value, type):
            table[f"torch.optim.lr_scheduler.{name}"] = value
    modules = {
        name: getattr(nn, name)
        for name in dir(nn)
        if isinstance(getattr(nn, name), type) and issubclass(getattr(nn, name), nn.Module)
    }
    # PyTorch's MultiheadAttention keeps its output projection in a Linear subclass
    modules.setdefault("NonDynamicallyQuantizableLinear", nn.Linear)
    table["_modules"] = modules
    return table


def resolve_torch(module: str, name: str) -> Any | None:
    """The ember object for PyTorch's ``module.name``, or None when the map has none."""
    table = torch_names()
    qualname = f"{module}.{name}"
    if qualname in table:
        return table[qualname]
    if module.startswith("torch.nn.modules."):
        return table["_modules"].get(name)
    return None
