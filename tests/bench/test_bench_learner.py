"""Keep bench/bench_learner.py from rotting: one tiny run of every variant."""

from bench import bench_learner


def test_bench_learner_runs_every_variant(capsys):
    results = bench_learner.main(["--batches", "2", "--repeats", "1", "--workloads", "tiny"])
    assert set(results["tiny"]) == {
        "hand-written loop",
        "Learner, bar to a non-terminal",
        "Learner, tqdm bars drawn",
    }
    assert all(seconds > 0 for seconds in results["tiny"].values())
    assert "overhead" in capsys.readouterr().out
