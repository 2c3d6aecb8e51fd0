"""Atomic saves: errors leave the old file and no temporary; SIGKILL never tears a checkpoint."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.serialization import atomic, safetensors

REPO = Path(__file__).resolve().parents[2]


def test_failed_write_keeps_old_file_and_removes_temporary(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    ember.save({"v": ember.zeros(3)}, path)
    before = path.read_bytes()

    def broken_write(f, entries, metadata=None):
        f.write(b"partial garbage")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors, "write", broken_write)
    with pytest.raises(OSError, match="disk full"):
        ember.save({"v": ember.ones(3)}, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.safetensors"]


def _wait_for(calls: list) -> None:
    """Wait until the background syncer has been called (it runs in its own thread)."""
    deadline = time.monotonic() + 10
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)


def test_background_sync_runs_and_its_failure_fails_the_save(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "SYNC_EVERY", 1024)
    synced = []
    monkeypatch.setattr(atomic, "_datasync", synced.append)
    target = tmp_path / "t.bin"
    with atomic.atomic_write(target) as f:
        f.write(bytes(10_000))
        _wait_for(synced)
    assert synced and target.read_bytes() == bytes(10_000)

    tried = []

    def failing(fd):
        tried.append(fd)
        raise OSError("I/O error while syncing")

    monkeypatch.setattr(atomic, "_datasync", failing)
    with pytest.raises(OSError, match="while syncing"), atomic.atomic_write(target) as f:
        f.write(b"x" * 10_000)
        _wait_for(tried)
    assert target.read_bytes() == bytes(10_000)
    assert [p.name for p in tmp_path.iterdir()] == ["t.bin"]


def test_new_file_gets_umask_permissions_and_existing_keeps_its_own(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    path = tmp_path / "new.safetensors"
    ember.save({"a": ember.ones(1)}, path)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
    os.chmod(path, 0o640)
    ember.save({"a": ember.ones(1)}, path)
    assert path.stat().st_mode & 0o777 == 0o640


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "t.bin"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), atomic.atomic_write(target) as f:
        f.write(b"new")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    with atomic.atomic_write(target) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["t.bin"]


CHILD = """
import sys, ember
path = sys.argv[1]
version = 1
while True:
    ember.save({"version": version,
                "w": [ember.full((1 << 20,), float(version)) for _ in range(6)]}, path)
    print(version, flush=True)
    version += 1
"""


def check_consistent(path: Path) -> int:
    ckpt = ember.load(path)
    version = ckpt["version"]
    for w in ckpt["w"]:
        assert w.shape == (1 << 20,)
        assert np.all(w.numpy() == version), f"torn checkpoint: version {version} with other data"
    return version


@pytest.mark.slow
def test_sigkill_during_large_saves_leaves_old_or_new(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    ember.save({"version": 0, "w": [ember.zeros(1 << 20) for _ in range(6)]}, path)
    rng = random.Random(0)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for _ in range(4):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, env=env, text=True
        )
        try:
            child.stdout.readline()  # one save has completed: the next is under way
            time.sleep(rng.uniform(0.0, 0.3))
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait()
            child.stdout.close()
        version = check_consistent(path)
        assert version >= 1
    leftovers = [p for p in tmp_path.iterdir() if p.name != path.name]
    assert all(p.name.startswith(".ckpt.safetensors.") for p in leftovers)  # killed mid-write
