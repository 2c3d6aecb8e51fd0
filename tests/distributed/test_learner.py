"""``ember.train.Learner`` under ``ember-run`` with two ranks (issue 14, several processes)."""

from tests.distributed.launch import assert_ok, run_job


def test_learner_wraps_ddp_and_distributed_sampler_and_ranks_agree():
    done, _ = run_job("learner.py")
    assert_ok(done)
    lines = [line for line in done.stdout.splitlines() if "DistributedDataParallel" in line]
    assert len(lines) == 2, done.stdout
    assert all("sampler DistributedSampler" in line and "batches 4" in line for line in lines)
    assert all("same weights on all ranks: True" in line for line in lines)
