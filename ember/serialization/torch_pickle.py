"""PyTorch zip checkpoints (``.pt``/``.pth``) read without unpickling.

``torch.save`` writes a zip holding ``<root>/data.pkl`` (a pickle of the object, tensors
referring to storages by key) and ``<root>/data/<key>`` (raw storage bytes). Python's
``pickle`` would import and call whatever the pickle names; this module instead runs its own
small interpreter over the opcodes that plain data needs (containers, numbers, strings,
memo, persistent ids) and maps the handful of names torch uses for tensors to ember's own
functions. Any other name, and any opcode that builds arbitrary objects (``INST``, ``OBJ``,
``EXT*``), is refused before anything happens; nothing is ever imported, and ``REDUCE`` only
ever calls the functions in ``_CALLS`` and the containers in ``_CONTAINERS`` below.

Whole objects (``torch.save(model)``): ``NEWOBJ`` + ``BUILD`` create an instance only of a
class that ``allowlist.resolve_torch`` maps onto ember's own (``torch.nn.modules.linear.
Linear`` -> ``ember.nn.Linear``, the optimizers, the lr schedulers), and only when the caller
said ``weights_only=False``, or of a class listed with ``add_safe_globals``. The instance is
made with ``cls.__new__`` and its state set as data; a Module's state is translated onto
ember's Module layout (``_restore_module``).
"""

from __future__ import annotations

import collections
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from ember import dtypes
from ember.device import device as Device
from ember.serialization import allowlist, numpy_pickle
from ember.serialization.errors import SerializationError
from ember.serialization.location import Placer
from ember.tensor import Size, Tensor

__all__ = ["unpickle", "unsafe_globals"]

MAX_PICKLE_BYTES = 100_000_000
_STORAGES = {
    "DoubleStorage": "<f8",
    "FloatStorage": "<f4",
    "HalfStorage": "<f2",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}


class _Refused(Exception):
    """A pickle that asks for something this reader will not do."""


class _WeightsOnly(_Refused):
    """A class that only ``weights_only=False`` (or ``add_safe_globals``) would allow."""


class _Name:
    """What a GLOBAL opcode produced: a name from the allow-list, never called directly.

    ``kind`` is ``"call"`` (a function of ``_CALLS``), ``"storage"``, ``"container"`` (a
    builtin of ``_CONTAINERS``) or ``"class"`` (an ember class ``obj`` that NEWOBJ may create).
    """

    __slots__ = ("kind", "obj", "qualname")

    def __init__(self, qualname: str, kind: str, obj: Any = None) -> None:
        self.qualname, self.kind, self.obj = qualname, kind, obj


class _Storage:
    __slots__ = ("array", "location")

    def __init__(self, array: np.ndarray, location: str) -> None:
        self.array, self.location = array, location


# -- the allow-list -----------------------------------------------------------------------
def _ordered_dict(*args: Any) -> OrderedDict:
    if args and not (len(args) == 1 and isinstance(args[0], list)):
        raise _Refused("collections.OrderedDict takes no arguments or one list of pairs here")
    return OrderedDict(*args)


def _check_hooks(hooks: Any) -> None:
    if not isinstance(hooks, dict) or hooks:
        raise _Refused("tensors with backward hooks cannot be loaded (hooks are code)")


def _strided(storage: Any, offset: Any, size: Any, stride: Any) -> np.ndarray:
    """A view of the storage, after checking every index it can reach lies inside it."""
    if not isinstance(storage, _Storage):
        raise _Refused("a tensor must be rebuilt from a storage")
    ints = [offset, *size, *stride] if isinstance(size, tuple) and isinstance(stride, tuple) else None
    if ints is None or len(size) != len(stride) or not all(type(i) is int and i >= 0 for i in ints):
        raise _Refused(f"invalid tensor geometry: offset {offset!r}, size {size!r}, stride {stride!r}")
    base = storage.array
    if 0 in size:
        return np.zeros(size, base.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= base.size:
        raise _Refused(
            f"tensor of size {size}, stride {stride} at offset {offset} reaches element {last} "
            f"of a storage of {base.size}"
        )
    item = base.dtype.itemsize
    return np.lib.stride_tricks.as_strided(base[offset:], shape=size, strides=[s * item for s in stride])


def _rebuild_tensor_v2(
    vm: _Machine, storage, offset, size, stride, requires_grad, hooks, metadata=None
) -> Tensor:
    _check_hooks(hooks)
    if type(requires_grad) is not bool or metadata not in (None, {}):
        raise _Refused("unexpected requires_grad or metadata in a tensor")
    t = vm.place(_strided(storage, offset, size, stride), storage.location)
    if requires_grad and t.is_floating_point():
        t.requires_grad_(True)
    return t


def _rebuild_parameter(vm: _Machine, data: Any, requires_grad: Any, hooks: Any) -> Tensor:
    _check_hooks(hooks)
    if not isinstance(data, Tensor) or type(requires_grad) is not bool:
        raise _Refused("a parameter must be rebuilt from a tensor")
    from ember.nn.parameter import Parameter

    return Parameter(data, requires_grad and data.is_floating_point())


def _ordered_dict(vm: _Machine, *args: Any) -> OrderedDict:
    if args and not (len(args) == 1 and isinstance(args[0], list)):
        raise _Refused("collections.OrderedDict takes no arguments or one list of pairs here")
    return OrderedDict(*args)


def _encode(vm: _Machine, text: Any, encoding: Any = "utf-8") -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8"):
        raise _Refused("_codecs.encode is only allowed on a string, as latin1 or utf-8")
    return text.encode(encoding)


def _size(vm: _Machine, items: Any) -> Size:
    if not isinstance(items, tuple) or not all(type(i) is int for i in items):
        raise _Refused("torch.Size takes a tuple of ints")
    return Size(items)


def _device(vm: _Machine, kind: Any, index: Any = None) -> Device:
    try:
        return Device(kind, index)
    except (RuntimeError, TypeError) as exc:
        raise _Refused(f"invalid device: {exc}") from None


_CALLS: dict[str, Callable[..., Any]] = {
    "collections.OrderedDict": _ordered_dict,
    "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
    "torch._utils._rebuild_parameter": _rebuild_parameter,
    "_codecs.encode": _encode,
    "torch.Size": _size,
    "torch.device": _device,
    **numpy_pickle.NAMES,
}


def _set(vm: _Machine, items: Any = ()) -> set:
    if not isinstance(items, (list, tuple)):
        raise _Refused("builtins.set takes a list here")
    return set(items)


def _defaultdict(vm: _Machine, factory: Any = None) -> collections.defaultdict:
    if isinstance(factory, _Name) and factory.kind == "container" and factory.obj in (dict, list, set):
        return collections.defaultdict(factory.obj)
    if factory is not None:
        raise _Refused(f"collections.defaultdict with factory {_describe(factory)} is not allowed")
    return collections.defaultdict()


def _plain(kind: type) -> Callable[..., Any]:
    def build(vm: _Machine, items: Any = ()) -> Any:
        if not isinstance(items, (list, tuple, dict)):
            raise _Refused(f"builtins.{kind.__name__} takes a list, tuple or dict here")
        return kind(items)

    return build


def _empty_bytes(vm: _Machine, *args: Any) -> bytes:
    if args:
        raise _Refused("builtins.bytes takes no arguments here (the raw data of an empty array)")
    return b""


_CONTAINERS: dict[str, tuple[type, Callable[..., Any]]] = {
    "builtins.bytes": (bytes, _empty_bytes),
    "__builtin__.bytes": (bytes, _empty_bytes),
    "builtins.set": (set, _set),
    "__builtin__.set": (set, _set),
    "builtins.frozenset": (frozenset, _plain(frozenset)),
    "__builtin__.frozenset": (frozenset, _plain(frozenset)),
    "collections.defaultdict": (collections.defaultdict, _defaultdict),
    "builtins.dict": (dict, _plain(dict)),
    "__builtin__.dict": (dict, _plain(dict)),
    "builtins.list": (list, _plain(list)),
    "__builtin__.list": (list, _plain(list)),
}
_TORCH_DTYPES = {
    "float64": "float64",
    "double": "float64",
    "float32": "float32",
    "float": "float32",
    "float16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "int64": "int64",
    "long": "int64",
    "int32": "int32",
    "int": "int32",
    "int16": "int16",
    "int8": "int8",
    "uint8": "uint8",
    "bool": "bool",
}


def _resolve(module: str, name: str, trusted: bool) -> Any:
    qualname = f"{module}.{name}"
    if qualname in _CALLS:
        return _Name(qualname, "call")
    if qualname in _CONTAINERS:
        return _Name(qualname, "container", _CONTAINERS[qualname][0])
    if qualname == "numpy.ndarray":
        return _Name(qualname, "marker")  # only ever the first argument of _reconstruct
    if module == "torch" and name in _STORAGES:
        return _Name(name, "storage")
    if module == "torch" and name in _TORCH_DTYPES:
        return dtypes._BY_NAME[_TORCH_DTYPES[name]]
    listed = allowlist.allowed(qualname)
    mapped = listed if listed is not None else allowlist.resolve_torch(module, name)
    if mapped is not None and (trusted or listed is not None or mapped in allowlist.get_safe_globals()):
        return _Name(qualname, "class", mapped) if isinstance(mapped, type) else mapped
    if mapped is not None:
        raise _WeightsOnly(allowlist.weights_only_message([qualname]))
    hint = (
        " Classes of your own: allow them with ember.serialization.add_safe_globals([(YourEmberClass, "
        f"{qualname!r})])."
        if not module.startswith(("torch", "builtins", "__builtin__"))
        else ""
    )
    raise _Refused(
        f"the pickle asks for {qualname!r}, which is not allowed: only tensors, dicts, lists, "
        "tuples, numbers, strings, OrderedDict and (with weights_only=False) PyTorch's "
        f"nn modules, optimizers and lr schedulers can be loaded (nothing was executed).{hint}"
    )


def _restore_module(obj: Any, state: dict) -> None:
    """Set a PyTorch Module's pickled state on an ember Module made without ``__init__``."""
    from ember.nn import Module

    Module.__init__(obj)
    for key, value in state.items():
        if key in ("_parameters", "_buffers", "_modules"):
            if not isinstance(value, dict):
                raise _Refused(f"a module's {key} must be a dict")
            getattr(obj, key).update(value)
        elif key == "_non_persistent_buffers_set":
            obj.__dict__[key] = set(value)
        elif key.endswith(("_hooks", "_hooks_with_kwargs", "_hooks_always_called")):
            if value:
                raise _Refused(f"a module with {key} cannot be loaded (hooks are code)")
        else:
            obj.__dict__[key] = value


# -- the interpreter ----------------------------------------------------------------------
class _Machine:
    """Runs the data-only subset of the pickle protocol (0-5) over ``data``."""

    def __init__(
        self, data: bytes, persistent_load: Callable[[Any], Any], place: Placer, trusted: bool = False
    ) -> None:
        self.data, self.pos, self.trusted = data, 0, trusted
        self.made: set[int] = set()  # ids of objects NEWOBJ created, the only BUILD targets
        self.stack: list[Any] = []
        self.marks: list[int] = []
        self.memo: dict[int, Any] = {}
        self.persistent_load, self.place = persistent_load, place

    def run(self) -> Any:
        while True:
            if self.pos >= len(self.data):
                raise ValueError("the pickle ends without a STOP opcode")
            code = self.data[self.pos]
            self.pos += 1
            if code == 0x2E:  # STOP
                return self.stack.pop()
            handler = _OPS.get(code)
            if handler is None:
                raise _Refused(
                    f"pickle opcode {_opname(code)} at byte {self.pos - 1} is not allowed "
                    "(it builds arbitrary objects); nothing was executed"
                )
            handler(self)

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError(f"an opcode at byte {self.pos} reads past the end of the pickle")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def line(self) -> str:
        end = self.data.find(b"\n", self.pos, self.pos + 256)
        if end < 0:
            raise ValueError(f"unterminated name at byte {self.pos}")
        text = self.data[self.pos : end].decode("ascii")
        self.pos = end + 1
        return text

    def pop_mark(self) -> list:
        mark = self.marks.pop()
        items = self.stack[mark:]
        del self.stack[mark:]
        return items

    # -- opcodes with logic of their own --
    def reduce(self) -> None:
        args = self.stack.pop()
        func = self.stack.pop()
        callable_name = isinstance(func, _Name) and func.kind in ("call", "container")
        if not callable_name or not isinstance(args, tuple):
            raise _Refused(f"REDUCE may only call allowed names, not {_describe(func)}")
        if func.kind == "container":
            self.stack.append(_CONTAINERS[func.qualname][1](self, *args))
        else:
            result = _CALLS[func.qualname](self, *args)
            if func.qualname.endswith("._reconstruct"):
                self.made.add(id(result))
            self.stack.append(result)

    def newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        if not isinstance(cls, _Name) or cls.kind != "class" or args != ():
            raise _Refused(f"NEWOBJ may only create allowed classes without arguments, not {_describe(cls)}")
        obj = cls.obj.__new__(cls.obj)
        self.made.add(id(obj))
        self.stack.append(obj)

    def build(self) -> None:
        state = self.stack.pop()
        target = self.stack[-1]
        if isinstance(target, np.ndarray) and id(target) in self.made:
            self.made.discard(id(target))  # an array is filled once
            numpy_pickle.set_array_state(target, state)
            return
        if isinstance(target, np.dtype):
            numpy_pickle.set_dtype_state(target, state)
            return
        if id(target) in self.made:
            self._build_object(target, state)
            return
        if not isinstance(target, OrderedDict) or not isinstance(state, dict) or set(state) - {"_metadata"}:
            keys = sorted(map(repr, state)) if isinstance(state, dict) else _describe(state)
            raise _Refused(
                f"BUILD may only set an OrderedDict's _metadata; asked to set {keys} on {_describe(target)}"
            )
        if "_metadata" in state:
            target._metadata = state["_metadata"]

    def _build_object(self, target: Any, state: Any) -> None:
        from ember.nn import Module

        if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
            raise _Refused(f"the state of a {type(target).__name__} must be a dict of attributes")
        if isinstance(target, Module):
            _restore_module(target, state)
        elif getattr(type(target), "__setstate__", None) is not None:
            target.__setstate__(state)
        else:
            target.__dict__.update(state)

    def persid(self) -> None:
        self.stack.append(self.persistent_load(self.stack.pop()))

    def global_(self, module: str, name: str) -> None:
        self.stack.append(_resolve(module, name, self.trusted))

    def setitems(self, items: list) -> None:
        target = self.stack[-1]
        if type(target) not in (dict, OrderedDict, collections.defaultdict) or len(items) % 2:
            raise ValueError(f"SETITEM(S) on {_describe(target)} or with an odd number of items")
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    def appends(self, items: list) -> None:
        target = self.stack[-1]
        if type(target) is not list:
            raise ValueError(f"APPEND(S) on {_describe(target)}")
        target.extend(items)

    def put(self, index: int) -> None:
        self.memo[index] = self.stack[-1]


def _describe(obj: Any) -> str:
    return repr(obj.qualname) if isinstance(obj, _Name) else f"a {type(obj).__name__}"


def _opname(code: int) -> str:
    import pickletools  # a table of opcode names; it executes nothing

    op = pickletools.code2op.get(chr(code))
    return f"{op.name} ({code:#04x})" if op else f"{code:#04x}"


def _long(vm: _Machine, n: int) -> None:
    vm.stack.append(int.from_bytes(vm.take(n), "little", signed=True))


_OPS: dict[int, Callable[[_Machine], None]] = {
    0x80: lambda vm: vm.take(1),  # PROTO
    0x95: lambda vm: vm.take(8),  # FRAME
    0x28: lambda vm: vm.marks.append(len(vm.stack)),  # MARK
    0x30: lambda vm: vm.stack.pop(),  # POP
    0x31: lambda vm: vm.pop_mark(),  # POP_MARK
    0x32: lambda vm: vm.stack.append(vm.stack[-1]),  # DUP
    0x4E: lambda vm: vm.stack.append(None),  # NONE
    0x88: lambda vm: vm.stack.append(True),  # NEWTRUE
    0x89: lambda vm: vm.stack.append(False),  # NEWFALSE
    0x4A: lambda vm: vm.stack.append(vm.unpack("<i")),  # BININT
    0x4B: lambda vm: vm.stack.append(vm.take(1)[0]),  # BININT1
    0x4D: lambda vm: vm.stack.append(vm.unpack("<H")),  # BININT2
    0x8A: lambda vm: _long(vm, vm.take(1)[0]),  # LONG1
    0x8B: lambda vm: _long(vm, vm.unpack("<i")),  # LONG4
    0x47: lambda vm: vm.stack.append(vm.unpack(">d")),  # BINFLOAT
    0x8C: lambda vm: vm.stack.append(vm.take(vm.take(1)[0]).decode("utf-8", "surrogatepass")),
    0x58: lambda vm: vm.stack.append(vm.take(vm.unpack("<I")).decode("utf-8", "surrogatepass")),
    0x8D: lambda vm: vm.stack.append(vm.take(vm.unpack("<Q")).decode("utf-8", "surrogatepass")),
    0x43: lambda vm: vm.stack.append(vm.take(vm.take(1)[0])),  # SHORT_BINBYTES
    0x42: lambda vm: vm.stack.append(vm.take(vm.unpack("<I"))),  # BINBYTES
    0x8E: lambda vm: vm.stack.append(vm.take(vm.unpack("<Q"))),  # BINBYTES8
    0x7D: lambda vm: vm.stack.append({}),  # EMPTY_DICT
    0x5D: lambda vm: vm.stack.append([]),  # EMPTY_LIST
    0x29: lambda vm: vm.stack.append(()),  # EMPTY_TUPLE
    0x74: lambda vm: vm.stack.append(tuple(vm.pop_mark())),  # TUPLE
    0x85: lambda vm: vm.stack.append((vm.stack.pop(),)),  # TUPLE1
    0x86: lambda vm: vm.stack.append(tuple(vm.stack.pop() for _ in range(2))[::-1]),  # TUPLE2
    0x87: lambda vm: vm.stack.append(tuple(vm.stack.pop() for _ in range(3))[::-1]),  # TUPLE3
    0x61: lambda vm: vm.appends([vm.stack.pop()]),  # APPEND
    0x65: lambda vm: vm.appends(vm.pop_mark()),  # APPENDS
    0x73: lambda vm: vm.setitems([vm.stack.pop(-2), vm.stack.pop()]),  # SETITEM
    0x75: lambda vm: vm.setitems(vm.pop_mark()),  # SETITEMS
    0x71: lambda vm: vm.put(vm.take(1)[0]),  # BINPUT
    0x72: lambda vm: vm.put(vm.unpack("<I")),  # LONG_BINPUT
    0x94: lambda vm: vm.put(len(vm.memo)),  # MEMOIZE
    0x68: lambda vm: vm.stack.append(vm.memo[vm.take(1)[0]]),  # BINGET
    0x6A: lambda vm: vm.stack.append(vm.memo[vm.unpack("<I")]),  # LONG_BINGET
    0x63: lambda vm: vm.global_(vm.line(), vm.line()),  # GLOBAL
    0x93: lambda vm: vm.global_(*_two_strings(vm.stack.pop(-2), vm.stack.pop())),  # STACK_GLOBAL
    0x52: _Machine.reduce,  # REDUCE
    0x62: _Machine.build,  # BUILD
    0x81: _Machine.newobj,  # NEWOBJ
    0x51: _Machine.persid,  # BINPERSID
}


def _two_strings(module: Any, name: Any) -> tuple[str, str]:
    if not isinstance(module, str) or not isinstance(name, str):
        raise _Refused("STACK_GLOBAL needs two strings")
    return module, name


def unpickle(
    data: bytes, persistent_load: Callable[[Any], Any], place: Placer, file: Any = None, trusted: bool = False
) -> Any:
    """Interpret a data-only pickle; refuse (``SerializationError``) anything that is not data.

    >>> import pickle
    >>> unpickle(pickle.dumps({"a": [1, 2.5, (None, True)]}, protocol=2), None, None)
    {'a': [1, 2.5, (None, True)]}
    """
    vm = _Machine(bytes(data), persistent_load, place, trusted)
    try:
        return vm.run()
    except _WeightsOnly as exc:
        raise allowlist.WeightsOnlyError(file, None, str(exc)) from None
    except _Refused as exc:
        raise SerializationError(file, None, f"refusing to load: {exc}") from None
    except (IndexError, KeyError, ValueError, TypeError, struct.error, OverflowError, MemoryError) as exc:
        reason = f"malformed pickle near byte {vm.pos}: {type(exc).__name__}: {exc}"
        raise SerializationError(file, None, reason) from None


def _names_in(data: bytes) -> list[str]:
    """Every GLOBAL / STACK_GLOBAL name in a pickle, found by disassembly alone."""
    import pickletools

    names, strings = [], []
    for op, arg, _ in pickletools.genops(data):
        if op.name == "GLOBAL":
            names.append(arg.replace(" ", "."))
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            names.append(f"{strings[-2]}.{strings[-1]}")
        elif isinstance(arg, str) and "UNICODE" in op.name:
            strings.append(arg)
    return names


def unsafe_globals(handle: BinaryIO, file: Any) -> list[str]:
    """The names in a ``torch.save`` zip that ``weights_only=True`` would refuse (nothing runs)."""
    try:
        archive = zipfile.ZipFile(handle)
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise SerializationError(file, None, "expected exactly one <root>/data.pkl in the zip")
        info = archive.getinfo(pickles[0])
        if info.file_size > MAX_PICKLE_BYTES:
            raise SerializationError(file, None, f"data.pkl of {info.file_size} bytes exceeds the cap")
        names = _names_in(archive.read(info))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise SerializationError(file, None, f"cannot disassemble the pickle ({exc})") from None
    refused = set()
    for name in names:
        module, _, attr = name.rpartition(".")
        try:
            _resolve(module, attr, trusted=False)
        except _Refused:
            refused.add(name)
    return sorted(refused)
