"""The README's one-command example, on two ranks."""

import pytest

from tests.distributed.launch import ROOT, assert_ok, run_job


@pytest.mark.slow
def test_example_07_on_two_ranks():
    pytest.importorskip("sklearn")
    done, _ = run_job(f"{ROOT}/examples/08_distributed.py", "--small")
    assert_ok(done)
    assert "2 ranks" in done.stdout and "test accuracy" in done.stdout
