"""Whole objects (an ``nn.Module``, an optimizer, an lr scheduler, ...) as JSON, never as pickle.

An object is recorded as its class's import path and its state (``__getstate__()``, for a
Module its ``__dict__``: parameters, buffers, submodules and plain attributes), each value
encoded like any other data:

=======================  ===========================================================
``["obj", path, n, s]``  an instance of the class at ``path`` (``"module:qualname"``),
                         number ``n`` in save order, whose state is the node ``s``
``["ref", n]``           the object numbered ``n`` again (shared submodules, cycles)
``["g", path]``          a class or function by import path (hooks, activation functions)
``["dd", g, pairs]``     a ``collections.defaultdict`` whose factory is the node ``g``
=======================  ===========================================================

Rebuilding creates the object with ``cls.__new__(cls)`` (``__init__`` does not run), then
restores its state (``__setstate__`` where the class defines one, else ``__dict__``); tensors
come back through ``map_location`` like any other. Which paths may be resolved, and how, is
the caller's ``resolve`` function (see ``ember.serialization.allowlist``).
"""

from __future__ import annotations

import collections
import types
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ember.serialization.allowlist import path_of
from ember.serialization.structure import Decoder, Encoder, _where

__all__ = ["REFUSED", "ObjectDecoder", "ObjectEncoder"]

# a Module's containers: their entries are named like state_dict keys (``0.weight``)
_TRANSPARENT = frozenset(("_parameters", "_buffers", "_modules"))
_NAMED = (type, types.FunctionType, types.BuiltinFunctionType)
#: what ``resolve`` returns for a name it will not resolve: decoding goes on (to name every
#: refused class in one error) and creates nothing for it
REFUSED = object()


class ObjectEncoder(Encoder):
    """``Encoder`` that also saves objects by class path and state.

    >>> import ember
    >>> enc = ObjectEncoder()
    >>> node = enc.encode(ember.nn.ReLU())
    >>> node[:3], dict(node[3][1])["inplace"]
    (['obj', 'ember.nn.modules.activation:ReLU', 0], False)
    """

    def __init__(self) -> None:
        super().__init__()
        self._numbers: dict[int, int] = {}
        self._alive: list[Any] = []  # keeps ids unique while encoding

    def _other(self, obj: Any, path: tuple) -> Any:
        if isinstance(obj, _NAMED):
            try:
                return ["g", path_of(obj)]
            except TypeError as exc:
                raise TypeError(f"at {_where(path)}: {exc}") from None
        number = self._numbers.get(id(obj))
        if number is not None:
            return ["ref", number]
        state = _state_of(obj)
        if state is None:
            super()._other(obj, path)
        try:
            cls_path = path_of(type(obj))
        except TypeError as exc:
            raise TypeError(f"at {_where(path)}: {exc}") from None
        number = self._numbers[id(obj)] = len(self._numbers)
        self._alive.append(obj)
        outer, self.tensor_keys = self.tensor_keys, True
        try:
            pairs = [
                [key, self.encode(value, path if key in _TRANSPARENT else path + (key,))]
                for key, value in state.items()
            ]
        finally:
            self.tensor_keys = outer
        return ["obj", cls_path, number, ["d", pairs]]

    def _mapping(self, obj: Mapping, pairs: list) -> list:
        if isinstance(obj, collections.defaultdict):
            factory = None if obj.default_factory is None else self._other(obj.default_factory, ())
            return ["dd", factory, pairs]
        return super()._mapping(obj, pairs)


def _state_of(obj: Any) -> dict | None:
    """The state to record for ``obj``, or None when it is not a plain object."""
    cls = type(obj)
    if cls.__reduce_ex__ is not object.__reduce_ex__ or cls.__reduce__ is not object.__reduce__:
        return None  # it pickles itself some other way; its __dict__ would not rebuild it
    if not hasattr(obj, "__dict__"):
        return None
    state = obj.__getstate__()
    return state if isinstance(state, dict) and all(isinstance(k, str) for k in state) else None


class ObjectDecoder(Decoder):
    """``Decoder`` that rebuilds objects; ``resolve(path)`` gives the class or function for a path."""

    def __init__(self, tensor: Callable[[str, dict], Any], resolve: Callable[[str], Any]) -> None:
        super().__init__(tensor)
        self._resolve = resolve
        self._made: dict[int, Any] = {}

    def _decode_global(self, node: list, path: tuple) -> Any:
        if len(node) != 2 or not isinstance(node[1], str):
            raise ValueError(f"at {_where(path)}: a global node is ['g', 'module:qualname']")
        return self._resolve(node[1])

    def _decode_object(self, node: list, path: tuple) -> Any:
        if len(node) != 4 or not isinstance(node[1], str) or type(node[2]) is not int:
            raise ValueError(f"at {_where(path)}: an object node is ['obj', path, number, state]")
        if node[2] in self._made:
            raise ValueError(f"at {_where(path)}: object number {node[2]} is defined twice")
        cls = self._resolve(node[1])
        if cls is REFUSED:
            self._made[node[2]] = None
            self.decode(node[3], path)
            return None
        if not isinstance(cls, type):
            raise _malformed(path, f"{node[1]!r} is not a class")
        try:
            obj = self._made[node[2]] = cls.__new__(cls)
        except TypeError as exc:
            raise _malformed(path, f"cannot create a {node[1]} without arguments ({exc})") from None
        state = self.decode(node[3], path)
        if not isinstance(state, dict):
            raise _malformed(path, f"the state of a {node[1]} is not a dict")
        try:
            if getattr(cls, "__setstate__", None) is not None:
                obj.__setstate__(state)
            else:
                obj.__dict__.update(state)
        except (AttributeError, TypeError) as exc:
            raise ValueError(f"at {_where(path)}: cannot set the state of a {node[1]} ({exc})") from None
        return obj

    def _decode_ref(self, node: list, path: tuple) -> Any:
        if len(node) != 2 or node[1] not in self._made:
            raise ValueError(f"at {_where(path)}: reference to an object not yet defined: {node[1:]!r}")
        return self._made[node[1]]

    def _decode_defaultdict(self, node: list, path: tuple) -> collections.defaultdict:
        if len(node) != 3:
            raise ValueError(f"at {_where(path)}: a defaultdict node is ['dd', factory, pairs]")
        factory = None if node[1] is None else self.decode(node[1], path)
        if factory is REFUSED:
            factory = None
        if factory is not None and not isinstance(factory, type):
            # a class such as dict or list: a function here would run on a later missing key
            raise ValueError(f"at {_where(path)}: a defaultdict factory must be a class")
        if not isinstance(node[2], list):
            raise _malformed(path, "a defaultdict node holds a list of pairs")
        out: collections.defaultdict = collections.defaultdict(factory)
        self._fill(out, node[2], path)
        return out

    _HANDLERS: ClassVar[dict[str, Callable]] = {
        **Decoder._HANDLERS,
        "g": _decode_global,
        "obj": _decode_object,
        "ref": _decode_ref,
        "dd": _decode_defaultdict,
    }


def _malformed(path: tuple, what: str) -> ValueError:
    """The error for a malformed node (a ValueError: the caller names the file)."""
    return ValueError(f"at {_where(path)}: {what}")
