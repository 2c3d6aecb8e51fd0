"""``ember.train.Learner`` under ``ember-run`` with two ranks (issue 14, several processes)."""

from tests.distributed.launch import assert_ok, run_job


def test_learner_wraps_ddp_and_distributed_sampler_and_ranks_agree():
    done, _ = run_job("learner.py")
    assert_ok(done)
    out = done.stdout  # the ranks' lines may interleave: count, don't split
    assert "rank 0: DistributedDataParallel" in out and "rank 1: DistributedDataParallel" in out
    assert out.count("sampler DistributedSampler, batches 4") == 2
    assert out.count("same weights on all ranks: True") == 2
