"""Run the CUDA C sources of ``ember.backend.fused`` on the CPU, for machines without a GPU.

A kernel's source is compiled by the host C++ compiler against a stub of the CUDA built-ins
(``blockIdx``, ``threadIdx``, ``atomicAdd``, ...), with ``-ffp-contract=off`` as the kernels'
``--fmad=false``, and launched by looping over the grid's blocks and threads. ``FakeCuPy`` offers
the part of CuPy the ``build_*`` functions use, over NumPy arrays whose ``.data.ptr`` is their host
address, so the launchers (pointer tables, chunks, argument types) run unchanged. Sequential
threads make ``atomicAdd`` exact, so results can be compared bit for bit with the references.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import shutil
import subprocess
import types
from pathlib import Path

import numpy as np

COMPILER = shutil.which("g++") or shutil.which("c++")

_STUB = r"""
#include <algorithm>
#include <cmath>
struct dim3 { unsigned x; };
dim3 blockIdx, threadIdx, blockDim, gridDim;
#define __global__
using std::min; using std::sqrt; using std::pow; using std::isnan;
template <class T> T atomicAdd(T* address, T value) { T old = *address; *address += value; return old; }
extern "C" void ember_set_thread(unsigned block, unsigned thread, unsigned blocks, unsigned threads) {
    blockIdx.x = block; threadIdx.x = thread; gridDim.x = blocks; blockDim.x = threads;
}
"""


class DeviceArray(np.ndarray):
    """A NumPy array that answers ``.data.ptr`` and ``.device`` as a CuPy array does."""

    @property
    def data(self):
        return types.SimpleNamespace(ptr=self.ctypes.data if self.size else 0)

    @property
    def device(self):
        return contextlib.nullcontext()


def on_device(array) -> DeviceArray:
    return np.ascontiguousarray(array).view(DeviceArray)


def _argument(value):
    if isinstance(value, np.ndarray):
        return ctypes.c_void_p(value.ctypes.data)
    if isinstance(value, np.int32):
        return ctypes.c_int(int(value))
    if isinstance(value, np.int64):
        return ctypes.c_longlong(int(value))
    if isinstance(value, np.float64):
        return ctypes.c_double(float(value))
    raise TypeError(f"kernel argument of type {type(value).__name__}: pass a NumPy-typed scalar")


class RawKernel:
    """CuPy's ``RawKernel`` on the CPU: compiled on construction, launched thread by thread."""

    def __init__(self, code: str, name: str, options: tuple = (), *, folder: Path) -> None:
        assert set(options) <= {"--fmad=false"}, options
        key = hashlib.sha256(code.encode()).hexdigest()[:16]
        source, library = folder / f"{key}.cpp", folder / f"{key}.so"
        if not library.exists():
            source.write_text(_STUB + code)
            command = [
                COMPILER,
                "-O1",
                "-ffp-contract=off",
                "-shared",
                "-fPIC",
                "-o",
                str(library),
                str(source),
            ]
            subprocess.run(command, check=True, capture_output=True, text=True)
        self.library = ctypes.CDLL(str(library))
        self.function = getattr(self.library, name)

    def __call__(self, grid: tuple, block: tuple, args: tuple) -> None:
        arguments = [_argument(a) for a in args]
        for b in range(grid[0]):
            for t in range(block[0]):
                self.library.ember_set_thread(b, t, grid[0], block[0])
                self.function(*arguments)


def fake_cupy(folder: Path):
    """The part of CuPy that ``ember.backend.fused``'s ``build_*`` functions use."""
    return types.SimpleNamespace(
        RawKernel=lambda code, name, options=(): RawKernel(code, name, options, folder=folder),
        asarray=on_device,
        ascontiguousarray=lambda a, dtype=None: on_device(np.ascontiguousarray(a, dtype=dtype)),
        zeros=lambda shape, dtype: on_device(np.zeros(shape, dtype)),
        float32=np.float32,
        int64=np.int64,
    )
