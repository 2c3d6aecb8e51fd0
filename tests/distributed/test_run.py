"""The launcher: failures stop the job with the failing rank's traceback; two 'hosts'."""

import argparse

import pytest

from ember.distributed import run
from tests.distributed.launch import assert_ok, run_job


def test_exception_on_rank_1_stops_the_job_with_its_traceback():
    done, seconds = run_job("fail.py", "raise")
    assert done.returncode != 0
    assert seconds < 30
    assert "ember-run: rank 1 failed" in done.stderr
    assert "ValueError: rank one cannot go on" in done.stderr.split("---- rank 1 ----")[1]


def test_sigkill_of_rank_1_stops_the_job():
    done, seconds = run_job("fail.py", "kill")
    assert done.returncode != 0
    assert seconds < 30
    assert "ember-run: rank 1 failed" in done.stderr
    assert "died without finishing" in done.stderr


@pytest.mark.slow
def test_two_hosts_as_two_groups_of_ranks():
    done, _ = run_job("hosts.py", nproc=2, nnodes=2)
    assert_ok(done)
    assert done.stdout.count("hosts ok") == 4


def _args(*argv):
    return run._parser().parse_args(list(argv))


def test_command_line_single_host():
    command = run.build_command(_args("--nproc-per-node", "3", "train.py", "--lr", "0.1"), "mpiexec")
    assert command[:3] == ["mpiexec", "-n", "3"]
    assert command[-4:] == ["ember.distributed._rank", "train.py", "--lr", "0.1"]


def test_command_line_hostfile_places_ranks_per_node(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("# two machines\nnode-a:4\nnode-b:4\n")
    args = _args("--nnodes", "2", "--nproc-per-node", "4", "--hostfile", str(hosts), "t.py")
    command = run.build_command(args, "mpiexec")
    assert command[:7] == ["mpiexec", "-n", "8", "-f", str(hosts), "-ppn", "4"]
    env = run._environment(args, str(tmp_path))
    assert (env["WORLD_SIZE"], env["LOCAL_WORLD_SIZE"], env["MASTER_ADDR"]) == ("8", "4", "node-a")
    assert "EMBER_SIMULATED_NODES" not in env


def test_torchrun_variables_from_mpi():
    from ember.distributed import _rank

    target = {"PMI_RANK": "3", "PMI_SIZE": "4", "LOCAL_WORLD_SIZE": "2", "EMBER_SIMULATED_NODES": "2"}
    assert _rank.set_torchrun_variables(target) == 3
    assert (target["RANK"], target["WORLD_SIZE"], target["LOCAL_RANK"], target["GROUP_RANK"]) == (
        "3",
        "4",
        "1",
        "1",
    )


def test_parser_accepts_torchrun_spelling():
    assert isinstance(_args("--nproc_per_node", "2", "x.py"), argparse.Namespace)


def test_sigterm_to_the_launcher_stops_every_rank():
    import os
    import re
    import signal
    import subprocess
    import sys
    import time

    from tests.distributed.launch import JOBS, ROOT, require_mpi

    require_mpi()
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1")
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ember.distributed.run",
            "--nproc-per-node",
            "2",
            os.path.join(JOBS, "sleep.py"),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        pids = []
        deadline = time.monotonic() + 60
        while len(pids) < 2 and time.monotonic() < deadline:
            line = launcher.stdout.readline()  # two ranks' lines may come out interleaved
            pids += [int(pid) for _, pid in re.findall(r"ready (\d+) (\d+)", line)]
        assert len(pids) == 2
        start = time.monotonic()
        launcher.send_signal(signal.SIGTERM)
        code = launcher.wait(timeout=30)
        assert code == 128 + signal.SIGTERM and time.monotonic() - start < 30
        time.sleep(0.5)
        for pid in pids:
            assert not run._alive(pid)
    finally:
        if launcher.poll() is None:
            launcher.kill()


def test_watchdog_blames_the_rank_that_raised_else_the_one_that_vanished(tmp_path):
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    import os
    import socket

    host = socket.gethostname()
    (tmp_path / "rank0.pid").write_text(f"{host} {os.getpid()}")
    (tmp_path / "rank1.pid").write_text(f"{host} {gone.pid}")
    (tmp_path / "rank2.pid").write_text(f"another-machine {gone.pid}")  # not ours to judge
    assert run.find_failure(str(tmp_path))[0] == 1
    (tmp_path / "rank1.done").write_text("0")
    assert run.find_failure(str(tmp_path)) is None
    (tmp_path / "rank0.err").write_text("Traceback ...\nKeyError: 'x'\n")
    assert run.find_failure(str(tmp_path)) == (0, "Traceback ...\nKeyError: 'x'\n")


def test_one_thread_per_rank_unless_told(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    env = run._environment(_args("--nproc-per-node", "2", "t.py"), str(tmp_path))
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "1"
    env = run._environment(_args("--nproc-per-node", "2", "--threads-per-rank", "3", "t.py"), str(tmp_path))
    assert env["MKL_NUM_THREADS"] == "3"
