"""The CUDA stand-in's array type behaves like CuPy's where it matters (runs everywhere)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ember.backend.fake_array import IMPLICIT_CONVERSION, FakeCudaArray, make_array, memory, xp


def _device(values) -> FakeCudaArray:
    return xp.asarray(np.asarray(values, dtype=np.float32))


@pytest.mark.parametrize(
    "convert",
    [np.asarray, np.array, np.ascontiguousarray, lambda a: np.asarray([a, a]), lambda a: a.__array__()],
)
def test_implicit_conversion_to_host_raises_as_cupy_does(convert):
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        convert(_device([1.0, 2.0]))


def test_message_is_cupys():
    assert IMPLICIT_CONVERSION.startswith("Implicit conversion to a NumPy array is not allowed.")


@pytest.mark.parametrize(
    "mix",
    [
        lambda d, h: d + h,
        lambda d, h: h + d,
        lambda d, h: np.add(d, h),
        lambda d, h: xp.concatenate([d, h]),
        lambda d, h: np.concatenate([h, d]),
        lambda d, h: xp.add(d, h),
        lambda d, h: d.__setitem__(slice(None), h),
        lambda d, h: d.__iadd__(h),
        lambda d, h: d + [1.0, 2.0],
        lambda d, h: xp.add(d, [1.0, 2.0]),
        lambda d, h: d.__setitem__(0, [1.0]),
    ],
)
def test_mixing_with_host_arrays_raises(mix):
    with pytest.raises(TypeError):
        mix(_device([1.0, 2.0]), np.ones(2, np.float32))


def test_explicit_transfers_work():
    d = _device([[1.0, 2.0], [3.0, 4.0]])
    host = d.get()
    assert type(host) is np.ndarray and host.tolist() == [[1, 2], [3, 4]]
    host[0, 0] = 9  # a copy
    assert d.tolist() == [[1, 2], [3, 4]]
    assert xp.asnumpy(d).sum() == 10 and d.sum().item() == 10
    assert float(d[0, 0]) == 1.0 and bool(d[1, 1] > 3)
    with pytest.raises(TypeError):
        float(d)
    with pytest.raises(ValueError):
        bool(d)


def test_results_stay_on_the_device_and_scalars_are_0d_arrays():
    d = _device([1.0, 2.0, 3.0])
    for result in (
        d * 2,
        xp.exp(d),
        d.sum(),
        xp.sum(d),
        d[1:],
        d.reshape(3, 1),
        d.T,
        xp.zeros(3),
        xp.add.reduce(d),
        np.exp(d),
    ):
        assert type(result) is FakeCudaArray, result
    assert d.sum().shape == ()


def test_ufunc_at_and_out_arguments():
    out = xp.zeros(3)
    xp.add.at(out, xp.asarray(np.array([0, 0, 2])), 1.0)
    xp.multiply(out, 2.0, out=out)
    assert out.tolist() == [4.0, 0.0, 2.0]


def test_memory_is_counted_for_live_arrays_only():
    before = memory.allocated
    d = make_array(np.zeros(1000, np.float64), 0)
    view = d[10:]
    assert memory.allocated - before == 8000
    del d
    assert memory.allocated - before == 8000  # the view keeps the memory
    del view
    assert memory.allocated == before


def test_no_host_memory_views():
    d = _device([1.0])
    for name in ("data", "ctypes", "__array_interface__"):
        with pytest.raises(AttributeError):
            getattr(d, name)


def test_cuda_stand_in_never_turns_on_by_itself():
    code = "import ember; print(ember.cuda.is_available(), ember.backend.get('cuda').__name__)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in __import__("os").environ.items() if k != "EMBER_FAKE_CUDA"},
    )
    assert "fake" not in out.stdout and out.stdout.startswith("False"), out.stdout + out.stderr


def test_stand_in_turns_on_with_the_environment_variable():
    import os

    code = (
        "import ember; "
        "cuda = ember.backend.get('cuda'); "
        "print(ember.cuda.is_available(), ember.cuda.device_count(), cuda.__name__)"
    )
    env = dict(os.environ, EMBER_FAKE_CUDA="1", EMBER_FAKE_CUDA_DEVICES="2")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert out.stdout.split() == ["True", "2", "ember.backend.fake_cuda"], out.stdout + out.stderr


def test_two_stand_in_devices_keep_tensors_apart():
    import os

    code = """
import ember
a, b = ember.ones(3, device="cuda:1"), ember.ones(3, device="cuda:0")
assert a.device == ember.device("cuda:1") and (a * 2).device == a.device
assert a.to("cuda:0").device == b.device
with ember.cuda.device(1):
    assert ember.ones(2, device="cuda").device == a.device
assert ember.cuda.current_device() == 0
try:
    a + b
except RuntimeError as e:
    print(e)
"""
    env = dict(os.environ, EMBER_FAKE_CUDA="1", EMBER_FAKE_CUDA_DEVICES="2")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert out.returncode == 0, out.stderr
    assert "found at least two devices, cuda:1 and cuda:0" in out.stdout, out.stdout


def test_flags_are_cupys():
    d = _device([[1.0, 2.0], [3.0, 4.0]])
    assert d.flags.c_contiguous and d.flags["C_CONTIGUOUS"] and d.flags.owndata
    assert not hasattr(d.flags, "writeable") and not d.T.flags.c_contiguous
