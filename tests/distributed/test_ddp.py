"""DistributedDataParallel on two ranks: the same parameters as one process on the whole batch."""

from tests.distributed.launch import assert_ok, run_job


def test_ddp_matches_one_process_and_overlaps_backward():
    done, _ = run_job("ddp.py")
    assert_ok(done)
    assert done.stdout.count("ddp ok") == 2
