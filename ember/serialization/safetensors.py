"""The safetensors format: a strict reader and a writer over NumPy arrays.

Layout: 8 bytes (little-endian u64) giving the header length N, N bytes of UTF-8 JSON, then
the tensor data. The JSON maps each tensor name to ``{"dtype", "shape", "data_offsets"}``
(offsets relative to the data region) and may hold ``"__metadata__"``, a str→str map. The
data of the tensors is stored contiguously, little-endian and C-ordered.

The reader trusts nothing: it checks the header size, JSON shape, duplicate keys, dtypes,
ranks, that ``prod(shape) * itemsize`` equals each byte range, and that the ranges tile the
data region exactly, *before* touching tensor data; any violation is a ``SerializationError``.
Data is memory-mapped copy-on-write, so arrays are writable and loading allocates nothing
beyond the header.
"""

from __future__ import annotations

import io
import json
import math
import mmap
import os
import struct
import sys
from collections.abc import Iterable
from typing import Any, BinaryIO

import numpy as np

from ember.serialization.errors import SerializationError

__all__ = ["MAX_HEADER_BYTES", "Entry", "read", "write"]

#: the largest header accepted (safetensors' own reader uses the same 100 MB cap)
MAX_HEADER_BYTES = 100_000_000
_MAX_RANK = 64  # NumPy's NPY_MAXDIMS
_METADATA = "__metadata__"
_ENTRY_KEYS = frozenset(("dtype", "shape", "data_offsets"))

_CODES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "bfloat16",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}
_UNSUPPORTED = ("U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "C64", "F4", "F6_E2M3", "F6_E3M2")


def _np_dtype(code: str) -> np.dtype:
    spec = _CODES[code]
    if spec == "bfloat16":
        from ember import dtypes

        return dtypes.bfloat16.np
    return np.dtype(spec)


def _code_of(array: np.ndarray) -> str:
    kind_size = (array.dtype.kind, array.dtype.itemsize)
    if array.dtype.name == "bfloat16":
        return "BF16"
    codes = {
        ("f", 8): "F64",
        ("f", 4): "F32",
        ("f", 2): "F16",
        ("i", 8): "I64",
        ("i", 4): "I32",
        ("i", 2): "I16",
        ("i", 1): "I8",
        ("u", 1): "U8",
        ("b", 1): "BOOL",
    }
    if kind_size not in codes:
        raise TypeError(f"safetensors: no dtype code for NumPy dtype {array.dtype}")
    return codes[kind_size]


Entry = tuple[str, np.ndarray]


# -- writing ------------------------------------------------------------------------------
def write(f: BinaryIO, entries: Iterable[Entry], metadata: dict[str, str] | None = None) -> None:
    """Write ``(name, array)`` pairs and a str→str ``metadata`` map to the open binary file ``f``.

    Entries are laid out by decreasing item size (stable), so that with the 8-byte-aligned
    header every array is aligned when memory-mapped back.

    >>> import io, numpy as np
    >>> buf = io.BytesIO()
    >>> write(buf, [("w", np.ones(2, np.float32))], {"format": "pt"})
    >>> arrays, meta = read(io.BytesIO(buf.getvalue()))
    >>> arrays["w"], meta
    (array([1., 1.], dtype=float32), {'format': 'pt'})
    """
    prepared = [(name, _little_endian(_c_order(a))) for name, a in entries]
    prepared.sort(key=lambda entry: -entry[1].dtype.itemsize)
    header: dict[str, Any] = {}
    if metadata:
        header[_METADATA] = metadata
    offset = 0
    for name, array in prepared:
        header[name] = {
            "dtype": _code_of(array),
            "shape": list(array.shape),
            "data_offsets": [offset, offset + array.nbytes],
        }
        offset += array.nbytes
    blob = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    blob += b" " * (-(8 + len(blob)) % 8)
    f.write(struct.pack("<Q", len(blob)))
    f.write(blob)
    for _, array in prepared:
        if array.nbytes:
            f.write(array.reshape(-1).view(np.uint8).data)


def _c_order(array: np.ndarray) -> np.ndarray:
    return array if array.flags.c_contiguous else array.copy(order="C")  # keeps 0-d arrays 0-d


def _little_endian(array: np.ndarray) -> np.ndarray:
    order = array.dtype.byteorder
    if order == ">" or (order == "=" and sys.byteorder == "big"):
        return array.astype(array.dtype.newbyteorder("<"))
    return array


# -- reading ------------------------------------------------------------------------------
def read(
    source: str | os.PathLike | BinaryIO, name: Any = None
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Validate and read a safetensors file: ``({name: array}, metadata)`` in header order.

    ``source`` is a path (memory-mapped copy-on-write) or a binary file object (read into
    memory). ``name`` is what errors call the file. Arrays are writable.

    >>> import io
    >>> read(io.BytesIO(b"\\x02" + b"\\x00" * 7 + b"{}"))
    ({}, {})
    """
    if isinstance(source, (str, bytes, os.PathLike)):
        with open(source, "rb") as f:
            return _read_open(f, name if name is not None else source, mapped=True)
    return _read_open(source, name if name is not None else source, mapped=False)


def _read_open(f: BinaryIO, file: Any, mapped: bool) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    size = _size_of(f, file)
    if size < 8:
        raise SerializationError(file, None, f"file of {size} bytes is shorter than the 8-byte header length")
    (header_len,) = struct.unpack("<Q", _read_exact(f, 8, file))
    if header_len > MAX_HEADER_BYTES:
        raise SerializationError(
            file, None, f"header length {header_len} exceeds the cap of {MAX_HEADER_BYTES} bytes"
        )
    if 8 + header_len > size:
        raise SerializationError(
            file, None, f"header length {header_len} runs past the end of the {size}-byte file"
        )
    header = _parse_header(_read_exact(f, header_len, file), file)
    metadata = _metadata(header.pop(_METADATA, None), file)
    data_start = 8 + header_len
    layout = _layout(header, size - data_start, file)
    if size == data_start:
        buffer: Any = b""
    elif mapped:
        buffer = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
        if len(buffer) != size:
            raise SerializationError(file, None, "the file changed size while it was being read")
    else:
        buffer = bytearray(size - data_start)
        if f.readinto(buffer) != len(buffer):
            raise SerializationError(file, None, "the file ended before its data region did")
        data_start = 0
    return {key: _array(buffer, data_start, *spec) for key, spec in layout.items()}, metadata


def _size_of(f: BinaryIO, file: Any) -> int:
    try:
        return os.fstat(f.fileno()).st_size - f.tell()
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass
    try:
        here = f.tell()
        end = f.seek(0, io.SEEK_END)
        f.seek(here)
        return end - here
    except (AttributeError, OSError, io.UnsupportedOperation) as exc:
        raise SerializationError(file, None, "file objects must be seekable to be loaded") from exc


def _read_exact(f: BinaryIO, n: int, file: Any) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise SerializationError(file, None, f"expected {n} bytes, the file ended after {len(data)}")
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _DuplicateKey(Exception):
    pass


def _reject_constant(token: str):
    raise ValueError(f"non-standard JSON constant {token}")


def _parse_header(raw: bytes, file: Any) -> dict[str, Any]:
    try:
        header = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_reject_constant
        )
    except _DuplicateKey as exc:
        raise SerializationError(file, str(exc.args[0]), "the key appears twice in the header") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SerializationError(file, None, f"the header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise SerializationError(file, None, f"the header is a JSON {type(header).__name__}, not an object")
    return header


def _metadata(value: Any, file: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise SerializationError(file, None, "__metadata__ must be an object of strings")
    return value


def _layout(header: dict[str, Any], data_size: int, file: Any) -> dict[str, tuple]:
    """Check every entry; ``{name: (dtype, shape, begin, end)}`` once they tile the data exactly."""
    layout = {name: _entry(name, info, data_size, file) for name, info in header.items()}
    position, last = 0, None
    for name, (_, _, begin, end) in sorted(layout.items(), key=lambda kv: (kv[1][2], kv[1][3])):
        if begin != position:
            gap = "overlaps the previous tensor" if begin < position else "leaves a gap before it"
            raise SerializationError(
                file,
                name,
                f"data_offsets start at {begin}, expected {position}: "
                f"the tensor {gap}" + (f" ({last!r})" if last else ""),
            )
        position, last = end, name
    if position != data_size:
        raise SerializationError(
            file,
            None,
            f"the tensors cover {position} bytes of the {data_size}-byte "
            "data region; the rest is unaccounted for",
        )
    return layout


def _entry(name: str, info: Any, data_size: int, file: Any) -> tuple:
    if not isinstance(info, dict) or set(info) != _ENTRY_KEYS:
        raise SerializationError(file, name, "expected an object with exactly dtype, shape and data_offsets")
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if code not in _CODES:
        why = "not supported by ember" if code in _UNSUPPORTED else "unknown"
        raise SerializationError(file, name, f"dtype {code!r} is {why}; expected one of {sorted(_CODES)}")
    if not isinstance(shape, list) or len(shape) > _MAX_RANK or not all(_is_count(d) for d in shape):
        raise SerializationError(file, name, f"shape must be a list of at most {_MAX_RANK} non-negative ints")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)):
        raise SerializationError(file, name, "data_offsets must be two non-negative ints")
    begin, end = offsets
    if not begin <= end <= data_size:
        raise SerializationError(
            file, name, f"data_offsets [{begin}, {end}] are reversed or past the {data_size}-byte data region"
        )
    dtype = _np_dtype(code)
    numel = math.prod(shape)  # Python ints: no overflow; rank <= 64 keeps this cheap
    if numel * dtype.itemsize != end - begin:
        raise SerializationError(
            file,
            name,
            f"shape {shape} of {code} needs {numel} * {dtype.itemsize} "
            f"bytes, data_offsets give {end - begin}",
        )
    return dtype, tuple(shape), begin, end


def _is_count(x: Any) -> bool:
    return type(x) is int and x >= 0


def _array(buffer: Any, data_start: int, dtype: np.dtype, shape: tuple, begin: int, end: int) -> np.ndarray:
    if begin == end:
        return np.zeros(shape, dtype)
    count = (end - begin) // dtype.itemsize
    array = np.frombuffer(buffer, dtype=dtype, count=count, offset=data_start + begin).reshape(shape)
    if dtype.byteorder == "<" and sys.byteorder == "big":
        array = array.astype(dtype.newbyteorder("="))
    elif not array.flags.aligned:
        array = array.copy()
    return array
