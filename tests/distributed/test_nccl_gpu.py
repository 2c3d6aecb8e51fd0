"""The NCCL path on a real GPU (skipped without one; the GPU check runs it)."""

import os

import pytest

import ember
from tests.distributed.launch import assert_ok, run_job


@pytest.mark.skipif(
    os.environ.get("EMBER_FAKE_CUDA") == "1" or not ember.cuda.is_available(),
    reason="needs a real CUDA GPU with CuPy and NCCL",
)
def test_nccl_collectives_and_ddp_on_the_gpus():
    count = min(ember.cuda.device_count(), 2)
    done, _ = run_job("nccl_gpu.py", nproc=count)
    assert_ok(done)
    assert done.stdout.count("nccl ok") == count
