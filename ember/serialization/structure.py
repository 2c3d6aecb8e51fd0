"""Nested containers as JSON: the part of a checkpoint that is not tensor data.

JSON scalars stand for themselves (``null``, ``true``, ints, finite floats, strings); every
JSON array is a tagged node ``[tag, ...]``:

=================  =================================================================
``["T", name]``    a tensor, stored as the safetensors entry ``name``; an optional third
                   item holds flags: ``requires_grad``, ``parameter``, ``device``
``["d", pairs]``   a dict, ``pairs`` being ``[[key, value], ...]`` so keys keep their type
``["o", pairs]``   an ``OrderedDict`` (a third item holds a ``_metadata`` attribute)
``["l", items]``   a list; ``["t", items]`` a tuple; ``["S", items]`` an ``ember.Size``
``["f", text]``    a float JSON cannot hold: ``"inf"``, ``"-inf"`` or ``"nan"``
``["dtype", n]``   an ``ember.dtype`` by name; ``["device", s]`` an ``ember.device``
``["A", name]``    a NumPy array (loads back as a NumPy array), stored as entry ``name``
``["set", items]`` a set; ``["fs", items]`` a frozenset
=================  =================================================================

Dict keys may be tensors (an optimizer's ``state`` is keyed by its parameters). Whole objects
(``["obj", ...]``, ``["g", ...]``) are ``ember.serialization.objects``' business.

Tensors are named by their path (``optimizer.state.0.exp_avg``), so a flat state dict's
entries carry exactly its keys. Tensors with the same memory, shape, strides and dtype (the
same tensor saved twice, tied weights) are stored once and come back as one tensor; tensors
that only partly overlap are stored as separate copies.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from ember import backend, dtypes
from ember.device import device as Device
from ember.serialization import safetensors
from ember.tensor import Size, Tensor

__all__ = ["Decoder", "Encoder"]

_MAX_DEPTH = 100  # each level costs two Python frames when decoding
_SCALARS = (str, int, float, bool, type(None))


class Encoder:
    """Turn an object into a JSON-able tree plus the list of arrays it references.

    >>> import ember
    >>> enc = Encoder()
    >>> enc.encode({"w": ember.ones(2), "step": 3, "betas": (0.9, 0.999)})
    ['d', [['w', ['T', 'w']], ['step', 3], ['betas', ['t', [0.9, 0.999]]]]]
    >>> [name for name, _ in enc.entries]
    ['w']
    """

    def __init__(self) -> None:
        self.entries: list[tuple[str, np.ndarray]] = []
        self._by_memory: dict[tuple, str] = {}
        self._names: set[str] = {"__metadata__"}
        self._open: set[int] = set()  # containers on the current path, to refuse cycles

    def encode(self, obj: Any, path: tuple = ()) -> Any:
        """The JSON-able tree for ``obj``; ``path`` is where ``obj`` sits (for names and errors)."""
        if isinstance(obj, Tensor):
            return self._tensor(obj, path)
        if isinstance(obj, np.ndarray):
            return self._array(obj, path)
        if isinstance(obj, (bool, np.bool_)):
            return bool(obj)
        if isinstance(obj, (int, np.integer)):
            return int(obj)
        if isinstance(obj, (float, np.floating)):
            value = float(obj)
            return value if math.isfinite(value) else ["f", repr(value)]
        if obj is None or isinstance(obj, str):
            return obj
        if isinstance(obj, dtypes.dtype):
            return ["dtype", obj.name]
        if isinstance(obj, Device):
            return ["device", str(obj)]
        if isinstance(obj, (Mapping, list, tuple, set, frozenset)):
            return self._container(obj, path)
        return self._other(obj, path)

    def _other(self, obj: Any, path: tuple) -> Any:
        """Anything that is not plain data: refused here (``objects.ObjectEncoder`` saves objects)."""
        raise TypeError(
            f"at {_where(path)}: cannot save an object of type {type(obj).__name__}; "
            "ember.save takes tensors, numbers, strings, bools, None, dtypes, devices "
            "and dicts, lists and tuples of them"
        )

    def _container(self, obj: Any, path: tuple) -> list:
        if id(obj) in self._open:
            raise TypeError(f"at {_where(path)}: the object contains itself; cycles cannot be saved")
        if len(path) > _MAX_DEPTH:
            raise TypeError(f"at {_where(path)}: nesting deeper than {_MAX_DEPTH} levels")
        self._open.add(id(obj))
        try:
            if isinstance(obj, Mapping):
                pairs = self._pairs(obj, path)
                if not isinstance(obj, OrderedDict):
                    return self._mapping(obj, pairs)
                extra = getattr(obj, "_metadata", None)
                return (
                    ["o", pairs] if extra is None else ["o", pairs, self.encode(extra, path + ("_metadata",))]
                )
            if isinstance(obj, (set, frozenset)):
                items = [self.encode(v, path + (i,)) for i, v in enumerate(obj)]
                return ["set" if isinstance(obj, set) else "fs", items]
            tag = "S" if isinstance(obj, Size) else "t" if isinstance(obj, tuple) else "l"
            return [tag, [self.encode(v, path + (i,)) for i, v in enumerate(obj)]]
        finally:
            self._open.discard(id(obj))

    def _mapping(self, obj: Mapping, pairs: list) -> list:
        """The node for a plain dict (``objects.ObjectEncoder`` adds ``defaultdict``)."""
        return ["d", pairs]

    def _pairs(self, obj: Mapping, path: tuple) -> list:
        pairs = []
        for i, (k, v) in enumerate(obj.items()):
            label = k if _is_key(k) else i  # a tensor key names its value by position
            pairs.append([self._key(k, path + (label,)), self.encode(v, path + (label,))])
        return pairs

    #: whether dict keys may be tensors (inside a saved object: an optimizer's ``state``)
    tensor_keys = False

    def _key(self, key: Any, path: tuple) -> Any:
        if not (_is_key(key) or (self.tensor_keys and isinstance(key, Tensor))):
            raise TypeError(
                f"at {_where(path[:-1])}: dict key {key!r} of type {type(key).__name__} "
                "cannot be saved; keys must be strings, numbers, bools, None or tuples "
                "of them (tensors only inside a saved object, such as an optimizer)"
            )
        return self.encode(key, path[:-1] + (f"key{path[-1]}",) if isinstance(key, Tensor) else path)

    def _array(self, array: np.ndarray, path: tuple) -> list:
        try:
            safetensors._code_of(array)
        except TypeError:
            raise TypeError(
                f"at {_where(path)}: cannot save a NumPy array of dtype {array.dtype}; "
                "safetensors holds float16/32/64, bfloat16, int8-64, uint8 and bool"
            ) from None
        return ["A", self._entry(np.asarray(array), path)]

    def _tensor(self, t: Tensor, path: tuple) -> list:
        name = self._entry(t._data, path)
        flags: dict[str, Any] = {}
        if t.requires_grad:
            flags["requires_grad"] = True
        if type(t).__name__ == "Parameter":
            flags["parameter"] = True
        if not t.is_cpu:
            flags["device"] = str(t.device)
        return ["T", name, flags] if flags else ["T", name]

    def _entry(self, array, path: tuple) -> str:
        """The entry holding ``array``: an existing one with the same memory, or a new one.

        Memory is compared where the array lives (a device array's address, before the copy to
        the host), so a tensor saved twice (a module's parameter and an optimizer's) stays one.
        """
        where = backend.device_of(array)
        address = backend.for_xp(backend.xp_of(array)).address(array)
        memory = (str(where), address, array.shape, array.strides, array.dtype.str)
        name = self._by_memory.get(memory) if array.size else None
        if name is None:
            name = self._fresh_name(path)
            self.entries.append((name, array if where.type == "cpu" else backend.to_device(array, "cpu")))
            if array.size:
                self._by_memory[memory] = name
        return name

    def _fresh_name(self, path: tuple) -> str:
        base = ".".join(map(str, path)) or "tensor"
        name, n = base, 0
        while name in self._names:
            n += 1
            name = f"{base}~{n}"
        self._names.add(name)
        return name


class Decoder:
    """Rebuild an object from ``Encoder``'s tree; ``tensor(name, flags)`` supplies the tensors.

    Any malformed node raises ``ValueError`` naming its path (the caller adds the file name).

    >>> import ember
    >>> dec = Decoder(lambda name, flags: ember.zeros(1))
    >>> dec.decode(["d", [[0, ["t", [1, ["f", "inf"]]]]]])
    {0: (1, inf)}
    """

    def __init__(self, tensor: Callable[[str, dict], Tensor]) -> None:
        self._tensor = tensor

    def decode(self, node: Any, path: tuple = ()) -> Any:
        """The object ``node`` stands for."""
        if node is None or isinstance(node, (str, int, float, bool)):
            return node
        if not isinstance(node, list) or not node or not isinstance(node[0], str):
            raise ValueError(f"at {_where(path)}: expected a JSON scalar or a [tag, ...] node")
        if len(path) > _MAX_DEPTH:
            raise ValueError(f"at {_where(path)}: nesting deeper than {_MAX_DEPTH} levels")
        handler = self._HANDLERS.get(node[0])
        if handler is None:
            raise ValueError(f"at {_where(path)}: unknown tag {node[0]!r}")
        return handler(self, node, path)

    def _decode_tensor(self, node: list, path: tuple) -> Tensor:
        flags = node[2] if len(node) == 3 else {}
        if len(node) not in (2, 3) or not isinstance(node[1], str) or not isinstance(flags, dict):
            raise ValueError(f"at {_where(path)}: a tensor node is ['T', name] or ['T', name, flags]")
        return self._tensor(node[1], flags)

    def _decode_array(self, node: list, path: tuple) -> np.ndarray:
        if len(node) != 2 or not isinstance(node[1], str):
            raise ValueError(f"at {_where(path)}: an array node is ['A', name]")
        return self._tensor(node[1], {"numpy": True})

    def _decode_set(self, node: list, path: tuple) -> set | frozenset:
        items = [self.decode(v, path + (i,)) for i, v in enumerate(_items(node, path, 2))]
        try:
            return set(items) if node[0] == "set" else frozenset(items)
        except TypeError:
            raise ValueError(f"at {_where(path)}: a set holds an unhashable item") from None

    def _decode_mapping(self, node: list, path: tuple) -> dict:
        pairs = _items(node, path, 3 if node[0] == "o" else 2)
        out: dict = OrderedDict() if node[0] == "o" else {}
        self._fill(out, pairs, path)
        if len(node) == 3:
            out._metadata = self.decode(node[2], path + ("_metadata",))
        return out

    def _fill(self, out: dict, pairs: list, path: tuple) -> None:
        """Decode ``[[key, value], ...]`` into ``out``."""
        for pair in pairs:
            if not isinstance(pair, list) or len(pair) != 2:
                raise ValueError(f"at {_where(path)}: a dict entry is a [key, value] pair")
            key = self.decode(pair[0], path)
            try:
                hash(key)
            except TypeError:
                raise ValueError(
                    f"at {_where(path)}: unhashable dict key of type {type(key).__name__}"
                ) from None
            out[key] = self.decode(pair[1], path + (key if _is_key(key) else "key",))

    def _decode_sequence(self, node: list, path: tuple) -> Any:
        items = [self.decode(v, path + (i,)) for i, v in enumerate(_items(node, path, 2))]
        return {"l": list, "t": tuple, "S": Size}[node[0]](items)

    def _decode_float(self, node: list, path: tuple) -> float:
        if len(node) != 2 or node[1] not in ("inf", "-inf", "nan"):
            raise ValueError(f"at {_where(path)}: a float node is ['f', 'inf' | '-inf' | 'nan']")
        return float(node[1])

    def _decode_dtype(self, node: list, path: tuple) -> dtypes.dtype:
        if len(node) != 2 or node[1] not in dtypes._BY_NAME:
            raise ValueError(f"at {_where(path)}: unknown dtype {node[1:]!r}")
        return dtypes._BY_NAME[node[1]]

    def _decode_device(self, node: list, path: tuple) -> Device:
        try:
            if len(node) != 2 or not isinstance(node[1], str):
                raise ValueError
            return Device(node[1])
        except (ValueError, RuntimeError):
            raise ValueError(f"at {_where(path)}: invalid device {node[1:]!r}") from None

    _HANDLERS: ClassVar[dict[str, Callable]] = {
        "T": _decode_tensor,
        "d": _decode_mapping,
        "o": _decode_mapping,
        "l": _decode_sequence,
        "t": _decode_sequence,
        "S": _decode_sequence,
        "f": _decode_float,
        "dtype": _decode_dtype,
        "device": _decode_device,
        "A": _decode_array,
        "set": _decode_set,
        "fs": _decode_set,
    }


def _is_key(key: Any) -> bool:
    if isinstance(key, tuple):
        return all(_is_key(k) for k in key)
    return isinstance(key, (*_SCALARS, np.integer, np.floating, np.bool_))


def _items(node: list, path: tuple, max_len: int) -> list:
    if not 2 <= len(node) <= max_len or not isinstance(node[1], list):
        raise ValueError(f"at {_where(path)}: a {node[0]!r} node holds a list of items")
    return node[1]


def _where(path: tuple) -> str:
    return "the top level" if not path else "".join(f"[{p!r}]" for p in path)
