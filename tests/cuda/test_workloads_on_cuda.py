"""A training step of each benchmark workload on "cuda" gives the CPU's losses and weights."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from bench.workloads import NAMES, build
from ember.ops import conv
from tests.cuda.conftest import host


@pytest.mark.parametrize("name", NAMES)
def test_workload_trains_the_same_on_cuda(name, device, monkeypatch):
    # the CPU's channels-last convolutions (ops/conv_nhwc.py) sum in another order than the NCHW
    # products the device runs; tests/nn/test_conv.py checks them, so here the CPU runs NCHW too
    monkeypatch.setattr(conv, "_NHWC_MIN_OUT_CHANNELS", 1 << 30)
    cpu, gpu = build(name, ember, seed=0), build(name, ember, seed=0, device=device)
    assert all(p.device.type == "cuda" for p in gpu.model.parameters())
    for step in range(2):
        lc, lg = cpu.step(), gpu.step()
        assert lg.device.type == "cuda"
        np.testing.assert_allclose(host(lg), host(lc), rtol=1e-4, atol=1e-5, err_msg=f"{name} step {step}")
    for (n, pc), pg in zip(cpu.model.named_parameters(), gpu.model.parameters()):
        np.testing.assert_allclose(host(pg), host(pc), rtol=1e-3, atol=1e-5, err_msg=f"{name}: {n}")
