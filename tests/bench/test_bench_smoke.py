"""Keep the benchmark harness from rotting: every workload trains 2 steps with ember, quickly."""

from __future__ import annotations

import math
import os

import pytest

import ember
from bench import report, run, workloads

SMALL = {
    "mlp": {"batch": 8},
    "lenet": {"batch": 4},
    "convnet": {"batch": 2},
    "gpt": {"batch": 2, "layers": 1},
    "lstm": {"batch": 2, "seq": 5},
    "resnet": {"batch": 2, "blocks": 1, "widths": (4, 8, 8)},
    "charrnn": {"seq": 3},
}


@pytest.mark.parametrize("name", workloads.NAMES)
def test_workload_trains_two_steps(name):
    ember.manual_seed(0)
    work = workloads.BUILDERS[name](ember, **SMALL[name])
    losses = [float(work.step().item()) for _ in range(2)]
    assert all(math.isfinite(v) for v in losses)
    assert work.flops > 0
    assert any(p.grad is not None for p in work.model.parameters())


def test_flops_count_is_analytic():
    # 784-512-512-10 at batch 128: first layer forward + weight grad, the others 3 products
    macs = 128 * (784 * 512 * 2 + 512 * 512 * 3 + 512 * 10 * 3)
    assert workloads.mlp(ember).flops == 2 * macs


def test_new_workloads_count_their_products():
    # ResNet-20: the forward convolutions of CIFAR's ResNet-20 are ~40.6M multiply-adds per
    # image (+ 0.1M for the two 1x1 shortcut convs of option B)
    macs = workloads._resnet_flops(1, 3, (16, 32, 64)) / 2
    assert 2.9 * 40.6e6 < macs < 3 * 41e6
    # char-RNN: two Linear layers on input+hidden per character, 3 products each
    work = workloads.charrnn(ember, seq=2)
    assert work.flops == 2 * 2 * 3 * (57 + 128) * (128 + 18)


def test_weights_are_seeded_identically():
    a, b = (workloads.build("mlp", ember).model.state_dict() for _ in range(2))
    assert all((a[k].numpy() == b[k].numpy()).all() for k in a)


def test_child_reports_time_memory_and_loss():
    result = run.child("ember", "mlp", steps=1, warmup=1)
    assert result["step_s"] > 0 and result["peak_rss"] > 0 and result["flops"] > 0
    assert math.isfinite(result["first_loss"])


@pytest.mark.slow
def test_spawned_child_runs_in_a_fresh_process():
    result = run.spawn("ember", "mlp", steps=1, warmup=1, timeout=300)
    assert "error" not in result, result.get("error")
    assert result["library"] == "ember" and result["steps"] == 1


@pytest.mark.slow
def test_quick_command_writes_the_tables(tmp_path, monkeypatch, capsys):
    output = tmp_path / "BENCHMARKS.md"
    output.write_text("# Benchmarks\n\nkept\n\n<!-- bench:workloads -->\nold\n<!-- /bench:workloads -->\n")
    monkeypatch.setattr(run, "measure_peak", lambda threads, timeout, clock: 10.0)
    code = run.main(
        [
            "--quick",
            "--no-torch",
            "--workloads",
            "mlp",
            "--steps",
            "1",
            "--extras",
            "--write",
            "--output",
            str(output),
        ]
    )
    assert code == 0
    text = output.read_text()
    assert "kept" in text and "old" not in text and "| mlp |" in text
    assert "<!-- bench:environment -->" in text
    assert "| mlp |" in capsys.readouterr().out


def test_profile_lists_areas_and_functions():
    text = run.profile("mlp", steps=1, warmup=0, top=5)
    assert "own time by area" in text and "linalg" in text


def test_sections_replace_only_their_markers(tmp_path):
    path = tmp_path / "B.md"
    report.update_sections(str(path), {"a": "one"})
    report.update_sections(str(path), {"a": "two", "b": "three"})
    text = path.read_text()
    assert text.count("<!-- bench:a -->") == 1 and "two" in text and "one" not in text
    assert "three" in text and not os.path.exists(str(path) + ".tmp")


def test_table_from_results():
    common = {
        "peak_rss": 100 * 2**20,
        "train_rss": 20 * 2**20,
        "flops": 2e9,
        "first_loss": 2.3,
        "threads": "x",
        "version": "0",
    }
    results = {
        "mlp": {
            "ember": [{**common, "step_s": 0.010}, {**common, "step_s": 0.012}],
            "torch": [{**common, "step_s": 0.020}, {"error": "boom"}],
        }
    }
    table = report.workload_table(report.summarize(results), peak=100.0, repeats=2)
    row = next(line for line in table.splitlines() if line.startswith("| mlp"))
    assert "| 0.55 |" in row and "same" in row  # ratio of medians 0.011 / 0.020
    assert "boom" in table


def test_options():
    args = run.parse(["--quick", "--extras", "all"])
    assert args.repeats == 1 and args.steps == 3 and set(args.extras) == set(run.EXTRAS)
    with pytest.raises(SystemExit):
        run.parse(["--extras", "nope"])


@pytest.mark.slow
def test_replay_writes_the_tables_of_a_saved_run(tmp_path):
    saved = tmp_path / "run.json"
    output = tmp_path / "B.md"
    run.main(
        [
            "--quick",
            "--no-torch",
            "--workloads",
            "mlp",
            "--steps",
            "1",
            "--extras",
            "--json",
            str(saved),
            "--output",
            str(output),
        ]
    )
    assert run.main(["--replay", str(saved), "--write", "--output", str(output)]) == 0
    assert "| mlp |" in output.read_text()


def test_bench_grow_times_a_widen_and_a_step():
    from bench import bench_grow

    timing = bench_grow.time_widen(widths=(2, 4, 8), batch=4, example=2, repeats=1)
    assert timing["widen"] > 0 and timing["step"] > 0
