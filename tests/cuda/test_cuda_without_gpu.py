"""``ember.cuda`` without a GPU: every probe answers honestly and whatever needs one says so.

Collected only when the device suite is not (``conftest.py``): with a device there is nothing
to check here.
"""

from __future__ import annotations

import pytest

import ember


def test_without_a_gpu_everything_answers_honestly():
    assert not ember.cuda.is_available()
    assert ember.cuda.device_count() == 0 and ember.cuda.memory_allocated() == 0
    assert ember.cuda.max_memory_allocated() == 0 and ember.cuda.memory_reserved() == 0
    assert ember.cuda.memory_stats() == {} and not ember.cuda.is_bf16_supported()
    assert ember.cuda.memory_cached() == ember.cuda.max_memory_cached() == 0
    assert ember.cuda.memory_stats_as_nested_dict() == {}
    assert "no CUDA device" in ember.cuda.memory_summary()
    assert ember.cuda.get_rng_state_all() == [] and ember.cuda.default_generators == ()
    assert ember.cuda.get_arch_list() == [] and not ember.cuda.is_tf32_supported()
    ember.cuda.set_rng_state_all([])
    ember.cuda.reset_max_memory_allocated()
    ember.cuda.reset_accumulated_memory_stats()
    ember.cuda.set_stream(None)
    with ember.cuda.device_of(ember.ones(1)):
        pass
    ember.cuda.empty_cache()
    ember.cuda.manual_seed_all(0)
    for call in (
        ember.cuda.current_device,
        ember.cuda.synchronize,
        ember.cuda.get_device_name,
        ember.cuda.mem_get_info,
        ember.cuda.Stream,
        ember.cuda.get_rng_state,
        lambda: ember.cuda.set_rng_state(ember.get_rng_state()),
        lambda: ember.cuda.Event(enable_timing=True),
        lambda: ember.cuda.set_device(0),
    ):
        with pytest.raises(RuntimeError, match="CuPy and an NVIDIA GPU"):
            call()
    with pytest.raises(RuntimeError, match="CUDA is not available|CuPy"):
        ember.ones(2).cuda()


def test_without_a_gpu_rng_state_code_from_pytorch_programs_runs():
    """The usual resume code saves the CUDA states only when CUDA is there; the list form runs
    either way."""
    state = {"cpu": ember.get_rng_state(), "cuda": ember.cuda.get_rng_state_all()}
    ember.set_rng_state(state["cpu"])
    ember.cuda.set_rng_state_all(state["cuda"])
