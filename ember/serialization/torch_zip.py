"""PyTorch zip checkpoints (``.pt``/``.pth``): the zip container around ``torch_pickle``'s pickle.

``torch.save`` writes a zip holding ``<root>/data.pkl`` (the pickle, read by
``torch_pickle.unpickle`` without unpickling) and ``<root>/data/<key>`` (raw storage bytes, read
here, memory-mapped copy-on-write where the file allows).
"""

from __future__ import annotations

import mmap as _mmap
import struct
import zipfile
from typing import Any, BinaryIO

import numpy as np

from ember import dtypes
from ember.device import device as Device
from ember.serialization.errors import SerializationError
from ember.serialization.location import DeviceUnavailable, Placer
from ember.serialization.torch_pickle import _STORAGES, MAX_PICKLE_BYTES, _Name, _Refused, _Storage, unpickle
from ember.tensor import Tensor

__all__ = ["load_zip"]


def load_zip(handle: BinaryIO, file: Any, place: Placer, trusted: bool = False) -> Any:
    """Load a ``torch.save`` zip checkpoint from an open binary file.

    Storages stored uncompressed (as torch writes them) are memory-mapped copy-on-write when
    ``handle`` is a real file.
    """
    try:
        archive = zipfile.ZipFile(handle)
        return _Archive(archive, handle, file, place, trusted).load()
    except zipfile.BadZipFile as exc:
        raise SerializationError(file, None, f"not a valid zip archive ({exc})") from None


class _Archive:
    def __init__(
        self, archive: zipfile.ZipFile, handle: BinaryIO, file: Any, place: Placer, trusted: bool
    ) -> None:
        self.archive, self.handle, self.file, self.trusted = archive, handle, file, trusted
        self.place = self._guarded(place)
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise SerializationError(
                file,
                None,
                "expected exactly one <root>/data.pkl in the zip "
                f"(a torch.save checkpoint), found {len(pickles)}",
            )
        self.root = pickles[0][: -len("data.pkl")]
        self.storages: dict[str, _Storage] = {}
        self.little = self._read_small("byteorder", b"little") == b"little"
        self.mapped: Any = None

    def load(self) -> Any:
        info = self.archive.getinfo(self.root + "data.pkl")
        if info.file_size > MAX_PICKLE_BYTES:
            raise SerializationError(self.file, None, f"data.pkl of {info.file_size} bytes exceeds the cap")
        return unpickle(self.archive.read(info), self.storage, self.place, self.file, self.trusted)

    def _guarded(self, place: Placer) -> Placer:
        def guarded(array: np.ndarray, location: str) -> Tensor:
            try:
                return place(array, location)
            except DeviceUnavailable as exc:
                raise _Refused(str(exc)) from None

        return guarded

    def _read_small(self, name: str, default: bytes) -> bytes:
        try:
            info = self.archive.getinfo(self.root + name)
        except KeyError:
            return default
        return self.archive.read(info) if info.file_size < 64 else b""

    def storage(self, pid: Any) -> _Storage:
        """The persistent id ``('storage', type, key, location, numel)`` as a storage."""
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise _Refused(f"unknown persistent id {pid!r:.80}")
        _, kind, key, location, numel = pid
        if not (
            isinstance(kind, _Name)
            and kind.kind == "storage"
            and isinstance(key, str)
            and isinstance(location, str)
            and type(numel) is int
            and numel >= 0
        ):
            raise _Refused(f"invalid storage reference {pid!r:.120}")
        try:
            Device(location)
        except (RuntimeError, TypeError):
            raise _Refused(f"unknown storage location {location!r}") from None
        if key not in self.storages:
            self.storages[key] = _Storage(self._array(key, kind.qualname, numel), location)
        return self.storages[key]

    def _array(self, key: str, kind: str, numel: int) -> np.ndarray:
        spec = _STORAGES[kind]
        dtype = dtypes.bfloat16.np if spec == "bfloat16" else np.dtype(spec)
        if not self.little:
            dtype = dtype.newbyteorder(">")
        try:
            info = self.archive.getinfo(f"{self.root}data/{key}")
        except KeyError:
            raise _Refused(f"storage {key!r} is missing from the archive") from None
        if info.file_size != numel * dtype.itemsize:
            raise _Refused(
                f"storage {key!r} holds {info.file_size} bytes, expected {numel} x {dtype.itemsize}"
            )
        if info.compress_type != zipfile.ZIP_STORED:
            raise _Refused(f"storage {key!r} is compressed; torch.save stores storages uncompressed")
        array = self._mapped(info, dtype, numel) if numel else None
        if array is None:
            raw = bytearray(info.file_size)
            with self.archive.open(info) as entry:
                entry.readinto(raw)
            array = np.frombuffer(raw, dtype)
        return array.astype(dtype.newbyteorder("=")) if not self.little else array

    def _mapped(self, info: zipfile.ZipInfo, dtype: np.dtype, numel: int) -> np.ndarray | None:
        """The storage as a copy-on-write view of the file, where the file can be mapped."""
        if self.mapped is None:
            try:
                self.mapped = _mmap.mmap(self.handle.fileno(), 0, access=_mmap.ACCESS_COPY)
            except (AttributeError, OSError, ValueError):
                self.mapped = False
        if self.mapped is False:
            return None
        local = bytes(self.mapped[info.header_offset : info.header_offset + 30])
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            raise _Refused(f"bad local zip header for {info.filename!r}")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        start = info.header_offset + 30 + name_len + extra_len
        if start + info.file_size > len(self.mapped):
            raise _Refused(f"{info.filename!r} runs past the end of the file")
        array = np.frombuffer(self.mapped, dtype, count=numel, offset=start)
        return array if array.flags.aligned else array.copy()
