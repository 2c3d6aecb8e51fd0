"""The CUDA stand-in's array type and array module, for tests on machines without a GPU.

``FakeCudaArray`` holds a NumPy array but is *not* an ``ndarray`` subclass: a subclass cannot
stop ``np.asarray`` from silently taking its memory, and CuPy's arrays refuse exactly that. Like
CuPy it refuses every implicit trip to host memory (``np.asarray``, ``__array__``, a NumPy
array mixed into one operation, a list or host array assigned into it) with CuPy's own error
types, and offers the explicit ones (``.get()``, ``xp.asnumpy``, ``.item()``, ``.tolist()``,
and ``xp.asarray(host_array)`` for the other direction).

``xp`` is the stand-in's array module: NumPy's functions, called on the NumPy arrays inside, with
every array result wrapped again (NumPy scalars become 0-d arrays, as CuPy returns them).
Bytes held by live arrays are counted, so the memory statistics of ``ember.cuda`` mean something.
"""

from __future__ import annotations

import operator
import os
import types
import weakref

import numpy as np

__all__ = ["FakeCudaArray", "FakeDLPackCapsule", "FakeOutOfMemoryError", "memory", "xp"]

IMPLICIT_CONVERSION = (
    "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a "
    "NumPy array explicitly."
)
_HIDDEN = frozenset(
    {
        "__array_interface__",
        "__array_struct__",
        "ctypes",
        "data",
        "tofile",
        "dump",
        "dumps",
        "__buffer__",
        "setflags",
    }
)


class FakeOutOfMemoryError(MemoryError):
    """The stand-in's version of ``cupy.cuda.memory.OutOfMemoryError``."""

    def __init__(self, size: int, total: int) -> None:
        super().__init__(f"Out of memory allocating {size:,} bytes (allocated so far: {total:,} bytes).")
        self.size = size
        self.total = total


class _Memory:
    """Bytes of device memory held by live arrays, with CuPy's pool statistics on top."""

    def __init__(self) -> None:
        self.live: dict[int, int] = {}
        self.allocated = 0
        self.peak = 0
        self.reserved = 0
        self.peak_reserved = 0
        self.allocations = 0
        self.frees = 0
        self.limit = int(os.environ.get("EMBER_FAKE_CUDA_MEMORY", str(16 << 30)))

    def track(self, array: np.ndarray) -> None:
        root = _root(array)
        key = id(root)
        if key in self.live:
            return
        size = root.nbytes
        if self.allocated + size > self.limit:
            raise FakeOutOfMemoryError(size, self.allocated)
        self.live[key] = size
        self.allocated += size
        self.allocations += 1
        self.peak = max(self.peak, self.allocated)
        self.reserved = max(self.reserved, self.allocated)
        self.peak_reserved = max(self.peak_reserved, self.reserved)
        weakref.finalize(root, self._free, key)

    def _free(self, key: int) -> None:
        self.allocated -= self.live.pop(key, 0)
        self.frees += 1


memory = _Memory()


def _root(array: np.ndarray) -> np.ndarray:
    """The array that owns ``array``'s memory (through views and ``as_strided`` wrappers)."""
    while True:
        base = array.base
        if isinstance(base, np.ndarray):
            array = base
        elif base is not None and isinstance(getattr(base, "base", None), np.ndarray):
            array = base.base
        else:
            return array


class _DeviceId:
    __slots__ = ("id",)

    def __init__(self, index: int) -> None:
        self.id = index

    def __repr__(self) -> str:
        return f"<CUDA Device {self.id}>"


class _Flags:
    """CuPy's array flags: contiguity and ownership only (no ``writeable``, no ``aligned``)."""

    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, flags) -> None:
        self.c_contiguous, self.f_contiguous, self.owndata = (
            flags.c_contiguous,
            flags.f_contiguous,
            flags.owndata,
        )

    def __getitem__(self, name: str) -> bool:
        return getattr(
            self, {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous", "OWNDATA": "owndata"}[name]
        )


class FakeDLPackCapsule:
    """What ``__dlpack__`` hands out: only the stand-in itself can take it back (zero-copy)."""

    __slots__ = ("array",)

    def __init__(self, array: FakeCudaArray) -> None:
        self.array = array


def make_array(array: np.ndarray, dev: int) -> FakeCudaArray:
    """A device array holding ``array`` (no copy) on device ``dev``."""
    if array.dtype.kind == "V" or array.dtype.name == "bfloat16":
        raise TypeError(f"Unsupported dtype {array.dtype}")  # CuPy has no bfloat16 (nor records)
    if capturing[0] is not None:
        capturing[0].allocated(_root(array))
    memory.track(array)
    out = object.__new__(FakeCudaArray)
    out._a = array
    out._dev = dev
    return out


def _check_device(dev: int, other: int) -> None:
    if dev != other:
        raise ValueError(
            f"The device where the array resides ({other}) is different from the current device "
            f"({dev}). Peer access is unavailable between these devices."
        )


def _unwrap(value, dev: int):
    """``value`` with each FakeCudaArray replaced by its NumPy array; refuses host arrays."""
    kind = type(value)
    if kind is FakeCudaArray:
        _check_device(dev, value._dev)
        return value._a
    if kind is np.ndarray or isinstance(value, np.ndarray):
        raise TypeError(f"Unsupported type {kind}")
    if kind in (tuple, list):
        return kind(_unwrap(v, dev) for v in value)
    if kind is dict:
        return {k: _unwrap(v, dev) for k, v in value.items()}
    return value


def _device_in(values, default: int) -> int:
    for v in values:
        kind = type(v)
        if kind is FakeCudaArray:
            return v._dev
        if kind in (tuple, list):
            found = _device_in(v, -1)
            if found >= 0:
                return found
    return default


def wrap(value, dev: int):
    """Wrap NumPy results as device arrays (scalars as 0-d arrays, as CuPy returns them)."""
    if isinstance(value, np.ndarray):
        return make_array(value, dev)
    if isinstance(value, np.generic):
        return make_array(np.asarray(value), dev)
    if type(value) in (tuple, list):
        return type(value)(wrap(v, dev) for v in value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # NumPy's named results (qr, svd, ...)
        return type(value)(*(wrap(v, dev) for v in value))
    return value


def call(fn, args, kwargs, dev: int | None = None):
    """``fn(*args, **kwargs)`` on the NumPy arrays inside, results wrapped."""
    if dev is None:
        dev = _device_in(args, -1)
        if dev < 0:
            dev = _device_in(kwargs.values(), current_device[0])
    args, kwargs = _unwrap(args, dev), _unwrap(kwargs, dev)
    if capturing[0] is not None:
        return run(fn, args, kwargs, dev)
    return wrap(fn(*args, **kwargs), dev)


current_device = [0]  # the stand-in's current device, set by ``ember.backend.fake_cuda``

# The open CUDA graph capture's tape (``ember.backend.fake_graph``), or None: while it is set,
# every operation on device arrays goes through ``run``, which records it.
capturing: list = [None]
# CuPy learns the size of these results on the host (a device-to-host copy): not capturable
_DATA_DEPENDENT = frozenset({"nonzero", "flatnonzero", "argwhere", "unique", "extract", "compress"})


def _host_arrays(value, found: list) -> list:
    """The NumPy arrays inside (nested) arguments."""
    if isinstance(value, np.ndarray):
        found.append(value)
    elif type(value) in (tuple, list):
        for v in value:
            _host_arrays(v, found)
    elif type(value) is dict:
        for v in value.values():
            _host_arrays(v, found)
    return found


def run(fn, args: tuple, kwargs: dict, dev: int):
    """``fn`` on unwrapped arguments, results wrapped; recorded on the tape while capturing."""
    tape = capturing[0]
    if tape is None:
        return wrap(fn(*args, **kwargs), dev)
    if getattr(fn, "__name__", "") in _DATA_DEPENDENT:
        refuse(f"{fn.__name__} (its result size is read on the host)")
    inputs = _host_arrays((args, kwargs), [])
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, np.ndarray):
        inputs.append(owner)
    tape.touch(inputs)
    wrapped = wrap(fn(*args, **kwargs), dev)
    tape.record(fn, args, kwargs, wrapped, inputs)
    return wrapped


def refuse(what: str) -> None:
    """CUDA's error for an operation a stream capture does not permit (when one is open)."""
    if capturing[0] is not None:
        from ember.backend import fake_graph

        fake_graph.refuse(what)


_NOT_OPERANDS = (np.ndarray, list, tuple)  # CuPy's operators and ufuncs take arrays and scalars


def _binary(op):
    def method(self, other):
        if type(other) in _NOT_OPERANDS:
            raise TypeError(f"Unsupported type {type(other)}")
        if capturing[0] is not None:
            return run(op, (self._a, _unwrap(other, self._dev)), {}, self._dev)
        return wrap(op(self._a, _unwrap(other, self._dev)), self._dev)

    return method


def _reflected(op):
    def method(self, other):
        if type(other) in _NOT_OPERANDS:
            raise TypeError(f"Unsupported type {type(other)}")
        if capturing[0] is not None:
            return run(op, (_unwrap(other, self._dev), self._a), {}, self._dev)
        return wrap(op(_unwrap(other, self._dev), self._a), self._dev)

    return method


def _inplace(op):
    def method(self, other):
        if type(other) in _NOT_OPERANDS:
            raise TypeError(f"Unsupported type {type(other)}")
        if capturing[0] is not None:
            run(op, (self._a, _unwrap(other, self._dev)), {}, self._dev)
        else:
            op(self._a, _unwrap(other, self._dev))
        return self

    return method


def _unary(op):
    def method(self):
        if capturing[0] is not None:
            return run(op, (self._a,), {}, self._dev)
        return wrap(op(self._a), self._dev)

    return method


class FakeCudaArray:
    """A "device" array: NumPy memory that refuses implicit conversion to host memory."""

    __slots__ = ("_a", "_dev")
    __array_priority__ = 1000

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C") -> None:
        """An uninitialised array on the current device (CuPy's constructor)."""
        array = np.empty(shape, dtype, order=order)
        if array.dtype.name == "bfloat16":
            raise TypeError(f"Unsupported dtype {array.dtype}")
        if capturing[0] is not None:
            capturing[0].allocated(array)
        memory.track(array)
        self._a = array
        self._dev = current_device[0]

    # -- what CuPy offers explicitly ------------------------------------------------------------
    def get(self, stream=None, order="C", out=None) -> np.ndarray:
        """A NumPy copy in host memory (CuPy's device-to-host copy)."""
        refuse("a device-to-host copy (.get())")
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order, copy=True)

    @property
    def device(self) -> _DeviceId:
        return _DeviceId(self._dev)

    @property
    def flags(self) -> _Flags:
        return _Flags(self._a.flags)

    def tolist(self):
        refuse("a device-to-host copy (.tolist())")
        return self._a.tolist()

    def item(self, *args):
        refuse("a device-to-host copy (.item())")
        return self._a.item(*args)

    def __dlpack__(self, stream=None, **kwargs) -> FakeDLPackCapsule:
        return FakeDLPackCapsule(self)

    def __dlpack_device__(self) -> tuple[int, int]:
        return (2, self._dev)  # kDLCUDA

    # -- what CuPy refuses -----------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError(IMPLICIT_CONVERSION)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _check_ufunc_method(ufunc.__name__, method)
        return call(getattr(ufunc, method), inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return call(func, args, kwargs)

    # -- the array protocol, on the NumPy array inside -----------------------------------------
    def __getattr__(self, name: str):
        if name in _HIDDEN:
            raise AttributeError(f"'FakeCudaArray' (a CUDA array) has no attribute {name!r}")
        value = getattr(self._a, name)
        if isinstance(value, np.ndarray):
            return make_array(value, self._dev)
        if callable(value):
            dev = self._dev
            return lambda *args, **kwargs: call(value, args, kwargs, dev)
        return value

    def __getitem__(self, key):
        key = _unwrap_key(key, self._dev)
        if capturing[0] is not None:
            if _has_bool_array(key):
                refuse("boolean-mask indexing (its result size is read on the host)")
            return run(operator.getitem, (self._a, key), {}, self._dev)
        return wrap(self._a[key], self._dev)

    def __setitem__(self, key, value) -> None:
        if isinstance(value, list) or (isinstance(value, np.ndarray) and value.ndim):
            raise TypeError(f"Unsupported type {type(value)}")
        key, value = _unwrap_key(key, self._dev), _unwrap(value, self._dev)
        if capturing[0] is not None:
            run(operator.setitem, (self._a, key, value), {}, self._dev)
            return
        self._a[key] = value

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    def __repr__(self) -> str:
        refuse("a device-to-host copy (printing an array)")
        return f"make_array({np.array2string(self._a, separator=', ')}, device=cuda:{self._dev})"

    def __float__(self) -> float:
        refuse("a device-to-host copy (float() of an array)")
        return float(self._a)

    def __int__(self) -> int:
        refuse("a device-to-host copy (int() of an array)")
        return int(self._a)

    def __bool__(self) -> bool:
        refuse("a device-to-host copy (bool() of an array)")
        return bool(self._a)

    def __index__(self) -> int:
        refuse("a device-to-host copy (an array used as an index)")
        return operator.index(self._a)

    def __complex__(self) -> complex:
        refuse("a device-to-host copy (complex() of an array)")
        return complex(self._a)

    def __copy__(self) -> FakeCudaArray:
        return make_array(self._a.copy(), self._dev)

    def __deepcopy__(self, memo) -> FakeCudaArray:
        return self.__copy__()

    def __reduce__(self):
        raise TypeError("a CUDA array cannot be pickled implicitly; copy it to the host with .get()")

    __hash__ = None


for _name, _op in [
    ("add", operator.add),
    ("sub", operator.sub),
    ("mul", operator.mul),
    ("truediv", operator.truediv),
    ("floordiv", operator.floordiv),
    ("mod", operator.mod),
    ("pow", operator.pow),
    ("matmul", operator.matmul),
    ("and", operator.and_),
    ("or", operator.or_),
    ("xor", operator.xor),
    ("lshift", operator.lshift),
    ("rshift", operator.rshift),
]:
    setattr(FakeCudaArray, f"__{_name}__", _binary(_op))
    setattr(FakeCudaArray, f"__r{_name}__", _reflected(_op))
    setattr(FakeCudaArray, f"__i{_name}__", _inplace(getattr(operator, f"i{_name}")))
for _name, _op in [
    ("lt", operator.lt),
    ("le", operator.le),
    ("gt", operator.gt),
    ("ge", operator.ge),
    ("eq", operator.eq),
    ("ne", operator.ne),
]:
    setattr(FakeCudaArray, f"__{_name}__", _binary(_op))
for _name, _op in [
    ("neg", operator.neg),
    ("pos", operator.pos),
    ("abs", operator.abs),
    ("invert", operator.invert),
]:
    setattr(FakeCudaArray, f"__{_name}__", _unary(_op))


def _has_bool_array(key) -> bool:
    keys = key if type(key) is tuple else (key,)
    return any(isinstance(k, np.ndarray) and k.dtype == bool for k in keys)


def _unwrap_key(key, dev: int):
    if type(key) is tuple:
        return tuple(_unwrap_key(k, dev) for k in key)
    if type(key) is FakeCudaArray:
        _check_device(dev, key._dev)
        return key._a
    return key


# -- the array module ------------------------------------------------------------------------------
# The ufunc methods CuPy implements, and for which ufuncs (``outer`` works for all of them);
# the others raise NotImplementedError there, so they do here.
CUPY_UFUNC_METHODS = {
    "at": frozenset({"add", "maximum", "minimum", "bitwise_and", "bitwise_or", "bitwise_xor"}),
    "reduce": frozenset({"add", "multiply"}),
    "accumulate": frozenset({"add"}),
    "reduceat": frozenset({"add"}),
}


def _check_ufunc_method(ufunc_name: str, method: str) -> None:
    supported = CUPY_UFUNC_METHODS.get(method)
    if supported is not None and ufunc_name not in supported:
        raise NotImplementedError(f"{ufunc_name}.{method} is not supported by CuPy")


class _Ufunc:
    """A NumPy ufunc whose call and methods (``at``, ``reduce``, ...) work on device arrays."""

    def __init__(self, ufunc: np.ufunc) -> None:
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        for a in args:
            if type(a) in _NOT_OPERANDS:
                raise TypeError(f"Unsupported type {type(a)}")
        return call(self._ufunc, args, kwargs)

    def __getattr__(self, name: str):
        value = getattr(self._ufunc, name)
        if callable(value):
            ufunc_name = self.__name__

            def method(*args, **kwargs):
                _check_ufunc_method(ufunc_name, name)
                return call(value, args, kwargs)

            return method
        return value


class Namespace(types.ModuleType):
    """A module over ``module`` (NumPy or one of its submodules) working on device arrays."""

    def __init__(self, name: str, module, overrides: dict | None = None) -> None:
        super().__init__(name, getattr(module, "__doc__", None))
        self._module = module
        self.__dict__.update(overrides or {})

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(self._module, name)
        if isinstance(value, types.ModuleType):
            value = Namespace(f"{self.__name__}.{name}", value)
        elif isinstance(value, np.ufunc):
            value = _Ufunc(value)
        elif callable(value) and not isinstance(value, type):
            fn = value

            def value(*args, **kwargs):
                return call(fn, args, kwargs)

            value.__name__ = name
        self.__dict__[name] = value  # looked up once
        return value


def _asarray(a, dtype=None, order=None, copy=None, **_ignored):
    """Host data -> device (an explicit copy, as ``cupy.asarray``); device arrays stay."""
    if capturing[0] is not None:
        return _asarray_captured(a, dtype, copy)
    if type(a) is FakeCudaArray:
        out = a._a if dtype is None else a._a.astype(dtype, copy=bool(copy))
        return a if out is a._a and not copy else make_array(np.array(out, copy=bool(copy)), a._dev)
    if hasattr(a, "__dlpack_device__") and not isinstance(a, np.ndarray) and a.__dlpack_device__()[0] != 1:
        return _from_dlpack(a)
    return make_array(np.array(a, dtype=dtype, order=order or "K", copy=True), current_device[0])


def _asarray_captured(a, dtype, copy):
    if type(a) is not FakeCudaArray:
        refuse("a host-to-device copy from pageable memory (asarray of host data)")
    if (dtype is None or np.dtype(dtype) == a._a.dtype) and not copy:
        return a
    return run(np.array, (a._a,), {"dtype": dtype, "copy": True}, a._dev)


def _array(obj, dtype=None, copy=True, order="K", **_ignored):
    if capturing[0] is not None:
        return _asarray_captured(obj, dtype, True)
    if type(obj) is FakeCudaArray:
        out = obj._a.astype(dtype) if dtype is not None else obj._a
        return make_array(np.array(out, copy=True if copy else None, order=order), obj._dev)
    return make_array(np.array(obj, dtype=dtype, order=order, copy=True), current_device[0])


def _asnumpy(a, stream=None, order="C", out=None):
    refuse("a device-to-host copy (asnumpy)")
    return a.get(order=order, out=out) if type(a) is FakeCudaArray else np.asarray(a, order=order)


def _from_dlpack(obj):
    capsule = obj if isinstance(obj, FakeDLPackCapsule) else obj.__dlpack__()
    if not isinstance(capsule, FakeDLPackCapsule):
        raise BufferError(  # noqa: TRY004 - DLPack consumers raise BufferError
            "the CUDA stand-in (EMBER_FAKE_CUDA=1) exchanges DLPack only with itself: its memory "
            "is host memory, which no real CUDA library can take"
        )
    return make_array(capsule.array._a, capsule.array._dev)


def _get_array_module(*args):
    return xp if any(type(a) is FakeCudaArray for a in args) else np


xp = Namespace(
    "ember_fake_cupy",
    np,
    {
        "ndarray": FakeCudaArray,
        "asarray": _asarray,
        "array": _array,
        "asnumpy": _asnumpy,
        "from_dlpack": _from_dlpack,
        "get_array_module": _get_array_module,
        "broadcast": lambda *arrays: call(np.broadcast, arrays, {}),
        "__version__": "fake",
    },
)
