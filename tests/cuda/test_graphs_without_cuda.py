"""CUDA graphs without a CUDA device: honest errors, and nothing is ever capturing."""

from __future__ import annotations

import pytest

import ember
from tests.cuda.conftest import device_suite_active

pytestmark = pytest.mark.skipif(device_suite_active(), reason="a CUDA device (or the stand-in) is present")


@pytest.mark.parametrize(
    "make",
    [
        ember.cuda.CUDAGraph,
        ember.cuda.graph_pool_handle,
        lambda: ember.cuda.make_graphed_step(lambda: None),
        lambda: ember.cuda.make_graphed_callables(lambda x: x, (ember.ones(1),)),
    ],
    ids=["CUDAGraph", "graph_pool_handle", "make_graphed_step", "make_graphed_callables"],
)
def test_graph_api_says_cuda_is_not_available(make):
    if ember.cuda.is_available():
        pytest.skip("CUDA is available")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        make()


def test_nothing_is_capturing_on_the_cpu():
    assert ember.cuda.is_current_stream_capturing() is False
