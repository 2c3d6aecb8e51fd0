"""``ember.profiler``: schedules, steps and trace handlers, as training loops drive them."""

import json
import os

import pytest

import ember
from tests.helpers import torch_or_skip

SCHEDULES = [
    {"wait": 1, "warmup": 1, "active": 2},
    {"wait": 0, "warmup": 0, "active": 1, "repeat": 2},
    {"wait": 2, "warmup": 1, "active": 3, "repeat": 1, "skip_first": 2},
    {"wait": 1, "warmup": 0, "active": 2, "skip_first_wait": 1},
]


def _actions(lib, kwargs, steps=14):
    schedule = lib.profiler.schedule(**kwargs)
    return [schedule(step).name for step in range(steps)]


@pytest.mark.parametrize("kwargs", SCHEDULES, ids=str)
def test_schedule_matches_pytorch(kwargs):
    torch_or_skip()
    import torch.profiler

    assert _actions(ember, kwargs) == _actions(torch, kwargs)


def test_schedule_cycles():
    assert _actions(ember, SCHEDULES[0], 8) == [
        "NONE", "WARMUP", "RECORD", "RECORD_AND_SAVE", "NONE", "WARMUP", "RECORD", "RECORD_AND_SAVE"
    ]  # fmt: skip


def _training_loop(lib, steps=7):
    ready = []
    with lib.profiler.profile(
        activities=[lib.profiler.ProfilerActivity.CPU],
        schedule=lib.profiler.schedule(wait=1, warmup=1, active=2, repeat=2),
        on_trace_ready=lambda p: ready.append(p.step_num),
    ) as prof:
        for _ in range(steps):
            with lib.profiler.record_function("train_step"):
                (lib.ones(2) * 2).sum()
            prof.step()
    return ready


def test_on_trace_ready_runs_at_the_end_of_each_cycle():
    # the first cycle ends at step() number 4; the second is still recording at exit (step 7)
    assert _training_loop(ember) == [4, 7]


def test_on_trace_ready_matches_pytorch():
    torch_or_skip()
    import torch.profiler

    assert _training_loop(ember, 9) == _training_loop(torch, 9)


def test_recorded_ranges_and_trace_handler(tmp_path):
    handler = ember.profiler.tensorboard_trace_handler(str(tmp_path), worker_name="w")
    with ember.profiler.profile(on_trace_ready=handler) as prof:
        with ember.profiler.record_function("forward"):
            pass
        with ember.profiler.record_function("forward"):
            pass
    assert [(e.key, e.count) for e in prof.key_averages()] == [("forward", 2)]
    (written,) = os.listdir(tmp_path)
    assert written.startswith("w.") and written.endswith(".pt.trace.json")
    trace = json.loads((tmp_path / written).read_text())
    assert [e["name"] for e in trace["traceEvents"]] == ["forward", "forward"]
    assert ember.profiler.supported_activities() == {ember.profiler.ProfilerActivity.CPU}
    with pytest.raises(ValueError):
        ember.profiler.schedule(wait=0, warmup=0, active=0)
