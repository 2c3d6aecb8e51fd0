"""``ember.cuda`` on a device (the stand-in or a GPU), and its honest answers without one."""

from __future__ import annotations

import time

import pytest

import ember
from ember.backend import fake_array


def test_devices(device):
    assert ember.cuda.is_available() and ember.cuda.device_count() >= 1
    assert ember.cuda.current_device() == 0
    with ember.cuda.device(0):
        assert ember.cuda.current_device() == 0
    ember.cuda.set_device("cuda:0")
    assert isinstance(ember.cuda.get_device_name(), str) and ember.cuda.get_device_name(0)
    props = ember.cuda.get_device_properties(0)
    assert props.total_memory > 0 and ember.cuda.get_device_capability() == (props.major, props.minor)
    ember.cuda.synchronize()
    ember.cuda.synchronize("cuda:0")


def test_same_seed_same_numbers(device):
    ember.cuda.manual_seed(3)
    a = ember.randn(5, device=device)
    ember.cuda.manual_seed_all(3)
    b = ember.randn(5, device=device)
    assert a.tolist() == b.tolist() and a.is_cuda
    ember.cuda.seed()
    assert isinstance(ember.cuda.initial_seed(), int)


def test_rng_state_round_trips(device):
    states = ember.cuda.get_rng_state_all()
    assert len(states) == ember.cuda.device_count() == len(ember.cuda.default_generators)
    a = ember.randn(5, device=device)
    ember.cuda.set_rng_state_all(states)
    assert ember.randn(5, device=device).tolist() == a.tolist()
    state = ember.cuda.get_rng_state()
    b = ember.rand(3, device=device)
    ember.cuda.set_rng_state(state)
    assert ember.rand(3, device=device).tolist() == b.tolist()


def test_device_probes(device):
    assert ember.cuda.has_half and isinstance(ember.cuda.is_tf32_supported(), bool)
    major, minor = ember.cuda.get_device_capability()
    assert f"sm_{major}{minor}" in ember.cuda.get_arch_list()
    with ember.cuda.device_of(ember.ones(1, device=device)):
        assert ember.cuda.current_device() == 0
    with ember.cuda.device_of(ember.ones(1)):  # a CPU tensor changes nothing
        assert ember.cuda.current_device() == 0


def test_set_stream_makes_it_current(device):
    s = ember.cuda.Stream()
    ember.cuda.set_stream(s)
    try:
        assert ember.cuda.current_stream() == s
        assert ember.cuda.StreamContext is ember.cuda.stream
    finally:
        ember.cuda.set_stream(ember.cuda.default_stream())
    assert ember.cuda.current_stream() == ember.cuda.default_stream()


def test_streams_and_events(device):
    s = ember.cuda.Stream()
    start, end = ember.cuda.Event(enable_timing=True), ember.cuda.Event(enable_timing=True)
    with ember.cuda.stream(s):
        assert ember.cuda.current_stream() == s
        start.record()
        y = ember.randn(64, 64, device=device) @ ember.randn(64, 64, device=device)
        end.record()
    assert ember.cuda.current_stream() == ember.cuda.default_stream()
    end.synchronize()
    s.synchronize()
    assert end.query() and s.query() and y.is_cuda
    assert start.elapsed_time(end) >= 0.0
    with pytest.raises(RuntimeError, match="enable_timing=True"):
        ember.cuda.Event().elapsed_time(end)
    with ember.cuda.stream(None):
        pass
    with s:
        assert ember.cuda.current_stream() == s


def test_memory_statistics_count_live_tensors(device):
    ember.cuda.synchronize()
    base = ember.cuda.memory_allocated()
    x = ember.empty(1 << 20, dtype=ember.float32, device=device)  # 4 MiB
    assert ember.cuda.memory_allocated() - base >= 4 << 20
    assert ember.cuda.max_memory_allocated() >= base + (4 << 20)
    assert ember.cuda.memory_reserved() >= ember.cuda.memory_allocated()
    del x
    assert ember.cuda.memory_allocated() - base < 4 << 20
    assert ember.cuda.max_memory_allocated() >= base + (4 << 20)
    ember.cuda.reset_peak_memory_stats()
    assert ember.cuda.max_memory_allocated() < base + (4 << 20)
    ember.cuda.empty_cache()
    free, total = ember.cuda.mem_get_info()
    assert 0 < free <= total
    assert ember.cuda.memory_stats()["allocated_bytes.all.current"] == ember.cuda.memory_allocated()
    nested = ember.cuda.memory_stats_as_nested_dict()
    assert nested["allocated_bytes"]["all"]["current"] == ember.cuda.memory_allocated()
    assert ember.cuda.memory_cached() == ember.cuda.memory_reserved()
    assert ember.cuda.max_memory_cached() == ember.cuda.max_memory_reserved()
    ember.cuda.reset_max_memory_allocated()
    ember.cuda.reset_accumulated_memory_stats()
    assert "allocated_bytes.all.current" in ember.cuda.memory_summary()


def test_out_of_memory_names_the_op_the_request_and_the_pool(device, monkeypatch):
    if not getattr(ember.backend.get("cuda"), "fake", False):
        pytest.skip("the GPU check asks the real pool for more than it has (tools/gpu_check.sh)")
    monkeypatch.setattr(fake_array.memory, "limit", fake_array.memory.allocated + (6 << 20))
    with pytest.raises(
        ember.cuda.OutOfMemoryError, match=r"(?s)CUDA out of memory in empty.*size \[4194304\]"
    ):
        ember.empty(4 << 20, device=device)
    x = ember.ones(1 << 20, device=device)
    with pytest.raises(
        ember.cuda.OutOfMemoryError, match=r"(?s)out of memory in matmul.*inputs.*tried to allocate"
    ):
        x.reshape(1024, 1024) @ x.reshape(1024, 1024)
    assert issubclass(ember.cuda.OutOfMemoryError, RuntimeError)


def test_elapsed_time_measures(device):
    start, end = ember.cuda.Event(enable_timing=True), ember.cuda.Event(enable_timing=True)
    start.record()
    time.sleep(0.01)
    end.record()
    end.synchronize()
    assert start.elapsed_time(end) >= 5.0
