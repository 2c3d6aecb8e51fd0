"""What ``ember-run`` runs in each rank: set torchrun's variables, run the script, and on failure
record the traceback and abort the whole MPI job (so no rank waits forever for a dead peer).

    python -m ember.distributed._rank script.py args...     (``-m module`` runs a module)
"""

from __future__ import annotations

import os
import runpy
import socket
import sys
import traceback

_RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")
_LOCAL_VARIABLES = ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK")


def _first(environ, names, default: int) -> int:
    for name in names:
        if environ.get(name, "") != "":
            return int(environ[name])
    return default


def set_torchrun_variables(environ=os.environ) -> int:
    """RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK from the MPI launcher's."""
    rank = _first(environ, _RANK_VARIABLES, 0)
    size = _first(environ, _SIZE_VARIABLES, 1)
    per_node = int(environ.get("LOCAL_WORLD_SIZE") or size)
    if environ.get("EMBER_SIMULATED_NODES"):  # --nnodes on one host: node = block of ranks
        local = rank % per_node
    else:
        local = _first(environ, _LOCAL_VARIABLES, rank % per_node)
    environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(size),
        LOCAL_RANK=str(local),
        LOCAL_WORLD_SIZE=str(per_node),
        GROUP_RANK=str(rank // per_node),
        NODE_RANK=str(rank // per_node),
    )
    return rank


def _path(run_dir: str, rank: int, kind: str) -> str:
    return os.path.join(run_dir, f"rank{rank}.{kind}")


def _write(path: str, text: str) -> None:
    """Write atomically: the launcher never sees half a traceback."""
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w") as f:
        f.write(text)
    os.replace(temporary, path)


def _abort(code: int) -> None:
    """Stop every rank: MPI_Abort when MPI is up, else just this process."""
    sys.stdout.flush()
    sys.stderr.flush()
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized():
        mpi.COMM_WORLD.Abort(code)
    os._exit(code)


def _run(target: list[str]) -> None:
    if target[0] == "-m":
        sys.argv = target[1:]
        runpy.run_module(target[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(target)
        sys.path.insert(0, os.path.dirname(os.path.abspath(target[0])))
        runpy.run_path(target[0], run_name="__main__")


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m ember.distributed._rank script.py [args...]")
    rank = set_torchrun_variables()
    run_dir = os.environ.get("EMBER_RUN_DIR")
    if run_dir:
        os.makedirs(run_dir, exist_ok=True)
        _write(_path(run_dir, rank, "pid"), f"{socket.gethostname()} {os.getpid()}")
    code = 0
    try:
        _run(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if code != 0:
            _fail(run_dir, rank, f"rank {rank} exited with code {code} (sys.exit)\n", code)
    except BaseException:  # noqa: BLE001 - any failure of the script must stop the job
        text = traceback.format_exc()
        sys.stderr.write(f"[rank {rank}] {text}")
        _fail(run_dir, rank, text, 1)
    if run_dir:
        _write(_path(run_dir, rank, "done"), str(code))


def _fail(run_dir: str | None, rank: int, text: str, code: int) -> None:
    if run_dir:
        _write(_path(run_dir, rank, "err"), text)
    _abort(code)


if __name__ == "__main__":
    main()
