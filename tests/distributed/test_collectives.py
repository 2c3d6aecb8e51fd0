"""Every collective on two ranks, checked against NumPy inside one job."""

from tests.distributed.launch import assert_ok, run_job


def test_every_collective_against_numpy():
    done, _ = run_job("collectives.py")
    assert_ok(done)
    assert done.stdout.count("collectives ok") == 2
