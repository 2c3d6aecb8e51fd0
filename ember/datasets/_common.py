"""What the dataset readers share: the base class, file lookup, and the errors they raise."""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from ember.utils.data import Dataset

__all__ = ["CorruptFileError", "DownloadUnavailableError", "VisionDataset", "find_file", "read_bytes"]


class CorruptFileError(ValueError):
    """A dataset file exists but is truncated or not in the expected format."""


class DownloadUnavailableError(RuntimeError):
    """``download=True`` was asked for; ember never downloads (there is no network)."""


def no_download(name: str, directory: str, files: Sequence[str], allow_gz: bool) -> DownloadUnavailableError:
    """The error for ``download=True``: it lists exactly which files go where."""
    gz = "   (or the same name ending in .gz)" if allow_gz else ""
    listing = "\n".join(f"  {os.path.join(directory, f)}{gz}" for f in files)
    return DownloadUnavailableError(
        f"{name}: download=True is not supported: ember never downloads datasets (there is no network "
        f"access). Put these files in place yourself and pass download=False:\n{listing}"
    )


def find_file(name: str, candidates: Sequence[str], filename: str, allow_gz: bool) -> str:
    """The first of ``dir/filename`` (or ``dir/filename.gz``) over ``candidates`` that exists."""
    for directory in candidates:
        for suffix in ("", ".gz") if allow_gz else ("",):
            path = os.path.join(directory, filename + suffix)
            if os.path.isfile(path):
                return path
    looked = ", ".join(candidates)
    gz = " (or the same name ending in .gz)" if allow_gz else ""
    raise FileNotFoundError(
        f"{name}: could not find {filename}{gz}; looked in {looked}. Put the file in {candidates[0]} "
        "(ember does not download datasets)"
    )


def read_bytes(path: str) -> bytes:
    """The content of ``path``, gunzipped when it ends in ``.gz``."""
    if not path.endswith(".gz"):
        with open(path, "rb") as f:
            return f.read()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise CorruptFileError(f"{path}: not a readable gzip file ({exc}); it may be truncated") from None


class VisionDataset(Dataset):
    """A dataset of ``(image, target)`` pairs with optional ``transform`` and ``target_transform``."""

    def __init__(
        self, root: str, transform: Callable | None = None, target_transform: Callable | None = None
    ) -> None:
        self.root = os.path.expanduser(str(root))
        self.transform = transform
        self.target_transform = target_transform

    def _apply(self, img: Any, target: Any) -> tuple:
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __repr__(self) -> str:
        lines = [
            f"Dataset {type(self).__name__}",
            f"    Number of datapoints: {len(self)}",
            f"    Root location: {self.root}",
        ]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        return "\n".join(lines)
