"""The device suite: every test here runs on "cuda" and compares with the CPU.

It runs where a CUDA device is available: under the stand-in (``EMBER_FAKE_CUDA=1``, which
``test_stand_in.py`` sets for a subprocess so the README's single test command covers it), or on
a real GPU (``tools/gpu_check.sh``). Elsewhere these tests skip.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import ember


def device_suite_active() -> bool:
    return (
        os.environ.get("EMBER_FAKE_CUDA", "") not in ("", "0")
        or os.environ.get("EMBER_DEVICE_TESTS", "") == "cuda"
    )


# Without a device, the suite is not collected here at all (rather than skipped test by test):
# test_stand_in.py runs it in a subprocess on the stand-in, so it still runs in every test run,
# and the closing line's count of skipped tests stays the count of PyTorch comparisons.
collect_ignore_glob = (
    ["test_cuda_without_gpu.py"]
    if device_suite_active()
    else ["test_*_on_cuda.py", "test_cuda_api.py", "test_transfers.py", "test_fused_*.py", "test_graphs.py"]
)


@pytest.fixture
def device():
    if not device_suite_active():
        pytest.skip("the device suite runs under EMBER_FAKE_CUDA=1 or EMBER_DEVICE_TESTS=cuda")
    if not ember.cuda.is_available():
        pytest.skip("CUDA is not available")
    return "cuda"


def host(t) -> np.ndarray:
    """A tensor's values in host memory, as NumPy."""
    return t.detach().cpu().numpy()


def assert_same(on_device, on_cpu, atol=1e-5, rtol=1e-4, what=""):
    assert on_device.device.type == "cuda", f"{what}: result on {on_device.device}, expected cuda"
    a, b = host(on_device), host(on_cpu)
    assert a.shape == b.shape and a.dtype == b.dtype, f"{what}: {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
    np.testing.assert_allclose(a, b, atol=atol, rtol=rtol, err_msg=what, equal_nan=True)
