"""``ember-run`` (also ``python -m ember.distributed.run``): start a job of N ranks, as torchrun.

    ember-run --nproc-per-node 2 train.py --epochs 3
    ember-run --nnodes 2 --nproc-per-node 4 --hostfile hosts train.py    # several machines

It runs ``mpiexec -n N python -m ember.distributed._rank train.py ...``; each rank gets
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR`` and
``MASTER_PORT``. SIGINT and SIGTERM are forwarded to the job. When a rank raises (or exits
non-zero) it records its traceback and aborts the MPI job; when a rank dies without a word
(SIGKILL, the OOM killer) this launcher's watchdog sees its process gone and stops the others.
Either way every rank is stopped within seconds and the launcher exits non-zero, printing the
failing rank and its traceback.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

__all__ = ["build_command", "main"]

POLL_S = 0.1
GRACE_S = 5.0  # after a failure, how long MPI gets to stop the job before we kill it
# MPICH's hydra names the first process that died abnormally in its banner
_BANNER_PID = re.compile(rb"PID (\d+) RUNNING AT")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ember-run", description="Run a script on several processes (ranks) with MPI."
    )
    p.add_argument(
        "--nproc-per-node", "--nproc_per_node", type=int, default=1, help="ranks per machine (default 1)"
    )
    p.add_argument(
        "--nnodes",
        type=int,
        default=1,
        help="machines; with --hostfile, MPI places the ranks on them; without, "
        "the 'machines' are blocks of ranks on this one (for tests)",
    )
    p.add_argument("--hostfile", help="MPI hostfile: one 'host[:slots]' per line")
    p.add_argument("--master-addr", "--master_addr", default=None)
    p.add_argument("--master-port", "--master_port", type=int, default=29500)
    p.add_argument("--mpiexec", default=None, help="the mpiexec to use (default: from PATH)")
    p.add_argument(
        "--threads-per-rank", type=int, default=None, help="set OMP/OpenBLAS/MKL threads for each rank"
    )
    p.add_argument("-m", dest="module", action="store_true", help="run the target as a module, as python -m")
    p.add_argument("script", help="the training script (or module with -m)")
    p.add_argument("script_args", nargs=argparse.REMAINDER)
    return p


def _find_mpiexec(given: str | None) -> str:
    path = given or shutil.which("mpiexec") or shutil.which("mpirun")
    if path is None:
        candidate = os.path.join(os.path.dirname(sys.executable), "mpiexec")
        path = candidate if os.path.exists(candidate) else None
    if path is None:
        raise SystemExit(
            'ember-run: no mpiexec found; pip install "ember[distributed]" '
            "(brings the mpich wheel's mpiexec) or give --mpiexec PATH"
        )
    return path


def _first_host(hostfile: str) -> str:
    with open(hostfile) as f:
        for line in f:
            line = line.split("#")[0].strip()
            if line:
                return line.split(":")[0].split()[0]
    raise SystemExit(f"ember-run: hostfile {hostfile} lists no host")


def build_command(args, mpiexec: str) -> list[str]:
    """The mpiexec command line for ``args`` (parsed by ``_parser``)."""
    world = args.nproc_per_node * args.nnodes
    command = [mpiexec, "-n", str(world)]
    if args.hostfile:
        command += ["-f", args.hostfile, "-ppn", str(args.nproc_per_node)]
    target = ["-m", args.script] if args.module else [args.script]
    return command + [sys.executable, "-m", "ember.distributed._rank", *target, *args.script_args]


def _environment(args, run_dir: str) -> dict:
    env = dict(os.environ)
    master = args.master_addr or (_first_host(args.hostfile) if args.hostfile else "127.0.0.1")
    env.update(
        WORLD_SIZE=str(args.nproc_per_node * args.nnodes),
        LOCAL_WORLD_SIZE=str(args.nproc_per_node),
        MASTER_ADDR=master,
        MASTER_PORT=str(args.master_port),
        EMBER_RUN_DIR=run_dir,
    )
    if args.nnodes > 1 and not args.hostfile:
        env["EMBER_SIMULATED_NODES"] = str(args.nnodes)
    threads = args.threads_per_rank
    if threads is None and args.nproc_per_node > 1 and "OMP_NUM_THREADS" not in os.environ:
        threads = 1  # as torchrun: N ranks each with every core's threads would thrash
        print(
            "ember-run: OMP_NUM_THREADS (and OpenBLAS/MKL threads) set to 1 per rank; "
            "use --threads-per-rank N to change it",
            file=sys.stderr,
        )
    if threads:
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(threads)
    return env


# ---------------------------------------------------------------- watching the ranks


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        pass
    except OSError:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not os.path.exists("/proc") or os.path.exists(f"/proc/{pid}")


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _rank_of(path: str) -> int:
    return int(os.path.basename(path).split(".")[0][4:])


def _local_pid(pid_file: str) -> int | None:
    """The pid a rank recorded, if that rank runs on this machine (else None)."""
    parts = _read(pid_file).split()
    if len(parts) != 2 or parts[0] != socket.gethostname():
        return None
    return int(parts[1])


def find_failure(run_dir: str) -> tuple[int, str] | None:
    """(rank, report) of the first rank that raised or died without finishing, else None."""
    errors = sorted(glob.glob(os.path.join(run_dir, "rank*.err")), key=_rank_of)
    if errors:
        return _rank_of(errors[0]), _read(errors[0])
    for pid_file in sorted(glob.glob(os.path.join(run_dir, "rank*.pid")), key=_rank_of):
        rank = _rank_of(pid_file)
        done = os.path.join(run_dir, f"rank{rank}.done")
        pid = _local_pid(pid_file)
        if pid is None or os.path.exists(done):
            continue
        if not _alive(pid) and not os.path.exists(done):  # (it may finish between the looks)
            return rank, _died(rank, pid)
    return None


def _died(rank: int, pid: int) -> str:
    return (
        f"rank {rank} (pid {pid}) died without finishing and without a Python traceback: "
        "killed by a signal (SIGKILL, the OOM killer) or os._exit\n"
    )


def _kill_job(proc: subprocess.Popen, run_dir: str, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    for pid_file in glob.glob(os.path.join(run_dir, "rank*.pid")):
        pid = _local_pid(pid_file)
        if pid is not None and _alive(pid) and _is_rank_process(pid):
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass


def _is_rank_process(pid: int) -> bool:
    """Guards against a recycled pid: only a process running our rank wrapper is signalled."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"ember.distributed._rank" in f.read()
    except OSError:
        return not os.path.exists("/proc")  # no /proc (macOS): trust the pid


class _Supervisor:
    """Runs mpiexec, forwards signals, and stops the job when one rank fails."""

    def __init__(self, command: list[str], env: dict, run_dir: str) -> None:
        self.command, self.env, self.run_dir = command, env, run_dir
        self.signal_received: int | None = None
        self.failure: tuple[int, str] | None = None
        self.banner_pid: int | None = None

    def _forward(self, signum, _frame) -> None:
        self.signal_received = signum
        try:
            os.killpg(self.proc.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def run(self) -> int:
        # ranks write to pipes of mpiexec's anyway, so passing its output on changes nothing
        self.proc = subprocess.Popen(
            self.command, env=self.env, start_new_session=True, stdout=subprocess.PIPE
        )
        reader = threading.Thread(target=self._pass_output, daemon=True)
        reader.start()
        previous = {s: signal.signal(s, self._forward) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            return self._watch()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            _kill_job(self.proc, self.run_dir, signal.SIGKILL)  # nothing of the job outlives us
            reader.join(timeout=2.0)

    def _pass_output(self) -> None:
        out = getattr(sys.stdout, "buffer", None)
        for line in iter(self.proc.stdout.readline, b""):
            if self.banner_pid is None:
                found = _BANNER_PID.search(line)
                if found:
                    self.banner_pid = int(found.group(1))
            if out is not None:
                out.write(line)
                out.flush()
            else:
                sys.stdout.write(line.decode(errors="replace"))

    def final_failure(self) -> tuple[int, str] | None:
        """The rank to blame: one that raised, else the one MPI saw die first, else any."""
        errors = sorted(glob.glob(os.path.join(self.run_dir, "rank*.err")), key=_rank_of)
        if errors:
            return _rank_of(errors[0]), _read(errors[0])
        if self.banner_pid is not None:
            for pid_file in glob.glob(os.path.join(self.run_dir, "rank*.pid")):
                if _local_pid(pid_file) == self.banner_pid:
                    rank = _rank_of(pid_file)
                    return rank, _died(rank, self.banner_pid)
        return self.failure

    def _watch(self) -> int:
        stop_at = None
        escalated = False
        while True:
            code = self.proc.poll()
            if code is not None:
                if self.failure is None:
                    self.failure = find_failure(self.run_dir)
                return code
            if self.failure is None:
                self.failure = find_failure(self.run_dir)
            if stop_at is None and (self.failure is not None or self.signal_received):
                stop_at = time.monotonic() + GRACE_S
            if stop_at is not None and time.monotonic() > stop_at:
                _kill_job(self.proc, self.run_dir, signal.SIGKILL if escalated else signal.SIGTERM)
                stop_at, escalated = time.monotonic() + GRACE_S, True
            time.sleep(POLL_S)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ember-run``; returns the exit status (non-zero when a rank failed)."""
    args = _parser().parse_args(argv)
    if args.nproc_per_node < 1 or args.nnodes < 1:
        raise SystemExit("ember-run: --nproc-per-node and --nnodes must be at least 1")
    command = build_command(args, _find_mpiexec(args.mpiexec))
    run_dir = tempfile.mkdtemp(prefix="ember-run-")
    try:
        supervisor = _Supervisor(command, _environment(args, run_dir), run_dir)
        code = supervisor.run()
        return _report(supervisor, code)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _report(supervisor: _Supervisor, code: int) -> int:
    if supervisor.signal_received is not None:  # the user stopped the job: nobody to blame
        name = signal.Signals(supervisor.signal_received).name
        sys.stderr.write(f"\nember-run: received {name}; the job was stopped.\n")
        return 128 + supervisor.signal_received
    failure = supervisor.final_failure()
    if failure is not None:
        rank, text = failure
        sys.stdout.flush()
        sys.stderr.write(
            f"\nember-run: rank {rank} failed; the job was stopped.\n---- rank {rank} ----\n{text}"
        )
        sys.stderr.flush()
        return code if code not in (0, None) else 1
    return code


if __name__ == "__main__":
    sys.exit(main())
