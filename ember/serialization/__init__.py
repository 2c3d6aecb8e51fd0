"""``ember.save`` / ``ember.load``: checkpoints that never execute code and never get torn.

A checkpoint is a valid safetensors file: tensors are its entries, and the structure around
them (dicts, lists, tuples, numbers, strings, ...) is JSON in its ``__metadata__`` under
``ember.structure`` (see ``ember.serialization.structure``). A flat state dict's entries are
named by its keys, so other safetensors readers load it directly. Saving to a path is atomic
(``ember.serialization.atomic``); loading parses JSON and maps bytes, and nothing more.

``ember.save`` also takes NumPy arrays (they load back as NumPy arrays) and whole objects
(``ember.save(model)``, an optimizer, an lr scheduler): those are recorded by class path and
state (``ember.serialization.objects``), never pickled, and loading them needs
``weights_only=False`` or classes allowed with ``add_safe_globals``.

``ember.load`` also reads PyTorch's zip checkpoints (``.pt``/``.pth``) through a restricted
pickle interpreter that knows only tensors and plain containers, plus, with
``weights_only=False``, PyTorch's module classes mapped onto ember's
(``ember.serialization.torch_pickle``). What each mode can run: ``docs/security.md``.
"""

from __future__ import annotations

import json
import os
from typing import Any, BinaryIO

import numpy as np

from ember import dtypes
from ember.device import device as Device
from ember.serialization import safetensors, torch_pickle, torch_zip
from ember.serialization.allowlist import (
    WeightsOnlyError,
    add_safe_globals,
    allowed,
    clear_safe_globals,
    dotted,
    get_safe_globals,
    import_path,
    safe_globals,
    weights_only_message,
)
from ember.serialization.atomic import atomic_write
from ember.serialization.errors import SerializationError
from ember.serialization.location import DeviceUnavailable, Placer, placer
from ember.serialization.objects import REFUSED, ObjectDecoder, ObjectEncoder
from ember.tensor import Tensor

__all__ = [
    "SerializationError",
    "WeightsOnlyError",
    "add_safe_globals",
    "clear_safe_globals",
    "get_safe_globals",
    "get_unsafe_globals_in_checkpoint",
    "load",
    "safe_globals",
    "save",
]

FileLike = str | os.PathLike | BinaryIO
_STRUCTURE = "ember.structure"
_FLAGS = {"requires_grad": bool, "parameter": bool, "device": str, "numpy": bool}


def save(
    obj: Any,
    f: FileLike,
    pickle_module: Any = None,
    pickle_protocol: Any = None,
    _use_new_zipfile_serialization: bool = True,
    _disable_byteorder_record: bool = False,
) -> None:
    """Save tensors, NumPy arrays, state dicts, containers or whole objects to ``f``.

    ``f`` is a path or a binary file. Writing to a path is atomic: a crash leaves the old file
    or the new one. A whole object (``ember.save(model)``) is recorded by class path and
    state, never pickled; loading it needs ``weights_only=False``. The pickle arguments exist
    for PyTorch compatibility and are ignored (nothing is pickled), and so is
    ``_disable_byteorder_record``: the format always stores little-endian data, so there is
    no byte order to record.

    >>> import ember, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
    >>> ember.save({"w": ember.ones(2), "epoch": 3}, path)
    >>> ember.load(path)
    {'w': tensor([1., 1.]), 'epoch': 3}
    """
    encoder = ObjectEncoder()
    try:
        tree = encoder.encode(obj)
    except TypeError as exc:
        raise SerializationError(f, None, str(exc)) from None
    metadata = {"format": "pt", _STRUCTURE: json.dumps(tree, separators=(",", ":"), allow_nan=False)}
    if isinstance(f, (str, bytes, os.PathLike)):
        with atomic_write(f) as out:
            safetensors.write(out, encoder.entries, metadata)
    else:
        safetensors.write(f, encoder.entries, metadata)


def load(
    f: FileLike,
    map_location: Any = None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = None,
    mmap: bool | None = None,
    **pickle_load_args: Any,
) -> Any:
    """Load what ``save`` wrote, any safetensors file, or a PyTorch zip checkpoint, safely.

    With ``weights_only=True`` (the default, also for ``None``) nothing in the file is
    executed or imported: tensors, arrays and plain data load, and whole objects only of
    classes allowed by ``add_safe_globals``; anything else raises ``WeightsOnlyError``
    naming the classes and the remedies. With ``weights_only=False`` (only for files you
    trust) ember files import the classes they record and PyTorch files map PyTorch's
    classes onto ember's. ``map_location`` works as in ``torch.load`` (a device, a string,
    a dict of locations or a callable). Files given by path are memory-mapped copy-on-write:
    tensors are writable and the file is never modified; ``mmap=False`` copies them instead.

    >>> import ember, io
    >>> buf = io.BytesIO()
    >>> ember.save([ember.tensor([1, 2]), (0.5, None)], buf)
    >>> _ = buf.seek(0)
    >>> ember.load(buf, map_location="cpu")
    [tensor([1, 2]), (0.5, None)]
    """
    if pickle_module is not None:
        raise SerializationError(f, None, "ember.load never unpickles; pickle_module is not supported")
    place = placer(map_location)
    if mmap is False:
        mapped = place

        def place(array: np.ndarray, location: str) -> Tensor:
            return mapped(np.array(array), location)

        place.copies = True  # NumPy arrays, which skip the placer, are copied too
    trusted = weights_only is False
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(f, "rb") as handle:
            return _load_open(handle, f, place, mapped=True, trusted=trusted)
    return _load_open(f, f, place, mapped=False, trusted=trusted)


def _load_open(handle: BinaryIO, file: Any, place: Placer, mapped: bool, trusted: bool) -> Any:
    start = handle.tell() if not mapped else 0
    magic = handle.read(4)
    handle.seek(start)
    if magic == b"PK\x03\x04":
        return torch_zip.load_zip(handle, file, place, trusted=trusted)
    if magic == b"\x80\x02\x8a\x0a":  # pickle PROTO 2 + LONG1 of 10 bytes: torch's legacy magic number
        raise SerializationError(
            file,
            None,
            "this is a PyTorch checkpoint in the legacy (pre-1.6) "
            "pickle format, which cannot be read without executing it; re-save it "
            "with a recent torch.save (zip format) or as safetensors",
        )
    arrays, metadata = safetensors._read_open(handle, file, mapped=mapped)
    text = metadata.get(_STRUCTURE)
    if text is None:
        return {name: _place(place, array, "cpu", file, name) for name, array in arrays.items()}
    return _rebuild(text, arrays, place, file, trusted)


def _resolver(trusted: bool, refused: list[str]):
    """``path -> object`` for the decoder: allowed names, imports only when ``trusted``."""

    def resolve(path: str) -> Any:
        found = allowed(dotted(path))
        if found is not None:
            return found
        if not trusted:
            refused.append(path)
            return REFUSED
        return import_path(path)

    return resolve


def _rebuild(text: str, arrays: dict[str, np.ndarray], place: Placer, file: Any, trusted: bool) -> Any:
    try:
        tree = json.loads(
            text, object_pairs_hook=safetensors._no_duplicates, parse_constant=safetensors._reject_constant
        )
    except (ValueError, RecursionError, safetensors._DuplicateKey) as exc:
        raise SerializationError(file, None, f"{_STRUCTURE} is not valid JSON ({exc})") from None
    made: dict[tuple, Any] = {}
    refused: list[str] = []

    def tensor(name: str, flags: dict) -> Any:
        key = (name, *sorted(flags.items()))
        if key not in made:
            made[key] = _tensor(arrays, name, flags, place, file)
        return made[key]

    try:
        obj = ObjectDecoder(tensor, _resolver(trusted, refused)).decode(tree)
    except (ValueError, RecursionError) as exc:
        raise SerializationError(file, None, f"{_STRUCTURE}: {exc}") from None
    if refused:
        names = [dotted(p) for p in refused]
        raise WeightsOnlyError(file, None, weights_only_message(names), names)
    unused = set(arrays) - {key[0] for key in made}
    if unused:
        raise SerializationError(file, min(unused), f"the tensor is not referenced by {_STRUCTURE}")
    return obj


def _tensor(arrays: dict[str, np.ndarray], name: str, flags: dict, place: Placer, file: Any) -> Any:
    if name not in arrays:
        raise SerializationError(file, name, f"{_STRUCTURE} refers to a tensor the file does not hold")
    for key, value in flags.items():
        if not isinstance(value, _FLAGS.get(key, ())):
            raise SerializationError(file, name, f"invalid tensor flag {key!r}: {value!r}")
    if flags.get("numpy"):
        return np.array(arrays[name]) if getattr(place, "copies", False) else arrays[name]
    location = flags.get("device", "cpu")
    try:
        Device(location)
    except (RuntimeError, TypeError):
        raise SerializationError(file, name, f"invalid device {location!r}") from None
    requires_grad = flags.get("requires_grad", False)
    if requires_grad and not dtypes.is_inexact_np(arrays[name].dtype):
        raise SerializationError(
            file, name, f"a {dtypes.from_numpy_dtype(arrays[name].dtype)} tensor cannot require grad"
        )
    t = _place(place, arrays[name], location, file, name)
    if flags.get("parameter"):
        from ember.nn.parameter import Parameter

        return Parameter(t, requires_grad)
    return t.requires_grad_(True) if requires_grad else t


def _place(place: Placer, array: np.ndarray, location: str, file: Any, name: str) -> Tensor:
    try:
        return place(array, location)
    except DeviceUnavailable as exc:
        raise SerializationError(file, name, str(exc)) from None


def get_unsafe_globals_in_checkpoint(f: FileLike) -> list[str]:
    """The class and function names in a checkpoint that ``weights_only=True`` would refuse.

    As in PyTorch: nothing is imported or run. For a PyTorch file the pickle is only
    disassembled; for an ember file the structure is decoded with every name refused.

    >>> import ember, io
    >>> buf = io.BytesIO()
    >>> ember.save(ember.nn.ReLU(), buf)
    >>> _ = buf.seek(0)
    >>> ember.serialization.get_unsafe_globals_in_checkpoint(buf)
    ['ember.nn.modules.activation.ReLU']
    """
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(f, "rb") as handle:
            return get_unsafe_globals_in_checkpoint(handle)
    start = f.tell()
    magic = f.read(4)
    f.seek(start)
    if magic == b"PK\x03\x04":
        return torch_pickle.unsafe_globals(f, f)
    try:
        load(f, map_location="cpu", weights_only=True, mmap=False)
    except WeightsOnlyError as exc:
        return exc.names
    return []
