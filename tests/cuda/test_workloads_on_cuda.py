"""A training step of each benchmark workload on "cuda" gives the CPU's losses and weights.

Both run in float64. In float32 the two sides round differently (the CPU's channels-last
convolutions, BLAS's thread split, the device's fused batch norm sum in other orders), and a
ReLU after batch norm turns a rounding difference at a value near zero into a whole gradient
element passed on one side and dropped on the other: in the ResNet that moved a few weights by
1e-5 after two steps, with both sides within 1e-6 of a float64 run. In float64 such flips do
not happen, so what this compares is the device path's code, at a tolerance that would show a
real difference.
"""

from __future__ import annotations

import numpy as np
import pytest

import ember
from bench.workloads import NAMES, build
from tests.cuda.conftest import host


def _in_float64(workload):
    """The workload with its model and floating-point batches in float64 (in place: the step
    function and optimizer keep the same model, parameters and list of batches)."""
    workload.model.double()
    workload.batches[:] = [
        tuple(t.double() if t.is_floating_point() else t for t in batch) for batch in workload.batches
    ]
    return workload


@pytest.mark.parametrize("name", NAMES)
def test_workload_trains_the_same_on_cuda(name, device):
    cpu = _in_float64(build(name, ember, seed=0))
    gpu = _in_float64(build(name, ember, seed=0, device=device))
    assert all(p.device.type == "cuda" and p.dtype == ember.float64 for p in gpu.model.parameters())
    for step in range(2):
        lc, lg = cpu.step(), gpu.step()
        assert lg.device.type == "cuda"
        np.testing.assert_allclose(host(lg), host(lc), rtol=1e-9, atol=1e-12, err_msg=f"{name} step {step}")
    for (n, pc), pg in zip(cpu.model.named_parameters(), gpu.model.parameters()):
        np.testing.assert_allclose(host(pg), host(pc), rtol=1e-7, atol=1e-10, err_msg=f"{name}: {n}")
