"""Start a job under ember-run from a test: one thread per rank, this worktree's ember."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JOBS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jobs")


def require_mpi() -> None:
    """Skip, saying why, where the MPI engine or its launcher is missing."""
    pytest.importorskip("mpi4py", reason='mpi4py is not installed: pip install "ember[distributed]"')
    if shutil.which("mpiexec") is None and shutil.which("mpirun") is None:
        pytest.skip('no mpiexec on PATH: pip install "ember[distributed]" brings mpich\'s')


def run_job(job: str, *args: str, nproc: int = 2, nnodes: int = 1, timeout: float = 90.0):
    """(CompletedProcess, seconds) of ``ember-run`` on ``jobs/<job>``."""
    require_mpi()
    env = dict(
        os.environ,
        PYTHONPATH=ROOT,
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYTHONUNBUFFERED="1",
    )
    command = [
        sys.executable,
        "-m",
        "ember.distributed.run",
        "--nproc-per-node",
        str(nproc),
        "--nnodes",
        str(nnodes),
        os.path.join(JOBS, job),
        *args,
    ]
    start = time.monotonic()
    done = subprocess.run(
        command, check=False, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    return done, time.monotonic() - start


def assert_ok(done) -> None:
    assert done.returncode == 0, f"job failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
