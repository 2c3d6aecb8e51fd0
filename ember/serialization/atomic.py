"""Atomic file replacement: write a temporary file beside the target, fsync, rename over it.

A crash (even SIGKILL or a power cut after the rename is on disk) leaves either the old file
or the complete new one at the target, never a torn mixture. The temporary file lives in the
target's folder so that the rename stays inside one filesystem (``os.replace`` is atomic
there), and it is removed when writing fails. The replaced file is released by a background
thread, since freeing a large file's pages takes a noticeable time.

The final ``fsync`` waits for the disk. To overlap that wait with the writing, every 32 MB
written are handed to the kernel for writeback at once (``posix_fadvise(DONTNEED)`` starts
writeback of dirty pages and drops nothing that is still dirty), so the ``fsync`` at the end
only waits for the tail. ``bench/bench_save_load.py`` measures it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from typing import BinaryIO

__all__ = ["atomic_write"]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[_EagerWriteback]:
    """Open a temporary file for writing; on success it replaces ``path`` atomically.

    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "out.bin")
    >>> with atomic_write(target) as f:
    ...     _ = f.write(b"new")
    >>> open(target, "rb").read()
    b'new'
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            yield _EagerWriteback(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(path))
        old = _hold(path)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)
    if old is not None:  # the last close frees the old file's pages and blocks: off the caller's path
        threading.Thread(target=os.close, args=(old,), daemon=True).start()


def _hold(path: str) -> int | None:
    """An open descriptor on the file about to be replaced, so that freeing it can wait."""
    try:
        return os.open(path, os.O_RDONLY)
    except OSError:
        return None


class _EagerWriteback:
    """A write-only file that starts the kernel's writeback every ``chunk`` bytes."""

    def __init__(self, f: BinaryIO, chunk: int = 32 << 20) -> None:
        self._f, self._chunk = f, chunk
        self._written = self._flushed = 0
        self._advise = getattr(os, "posix_fadvise", None)

    def write(self, data) -> int:
        """Write all of ``data`` (bytes or a buffer), in chunks."""
        view = memoryview(data).cast("B")
        for start in range(0, len(view), self._chunk):
            part = view[start:start + self._chunk]
            self._f.write(part)
            self._written += len(part)
            if self._written - self._flushed >= self._chunk:
                self._start_writeback()
        return len(view)

    def _start_writeback(self) -> None:
        self._f.flush()
        if self._advise is not None:
            self._advise(self._f.fileno(), self._flushed, self._written - self._flushed,
                         os.POSIX_FADV_DONTNEED)
        self._flushed = self._written

    def fileno(self) -> int:
        return self._f.fileno()

    def flush(self) -> None:
        self._f.flush()


def _mode_for(path: str) -> int:
    """The target's permissions if it exists, else what ``open()`` would give (0o666 & ~umask)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask is process-wide and racy)
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable; folders cannot be opened on Windows, so skip there."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
