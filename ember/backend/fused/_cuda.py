"""What the NN families' CuPy kernels share: block reductions, per-dtype modules, launches.

Each family writes its kernels once in CUDA C with ``T`` for the element type; ``RowModule``
compiles the source once per ``T`` (``float`` or ``double``) with a ``typedef`` in front, so
the kernel names stay plain ``extern "C"`` names. float16 arrays are computed in float32:
``compute_dtype`` says which, and the callers convert on the way in and out (one cast each way;
a half-precision load inside the kernels would save it, but needs ``cuda_fp16.h``).
Row kernels run one block of ``THREADS`` threads per row, reducing through shared memory.
"""

from __future__ import annotations

THREADS = 256

PRELUDE = r"""
#define EMBER_THREADS 256

__device__ __forceinline__ T ember_max(T a, T b) {
    return (a != a || a > b) ? a : b;  // NaN wins, as in NumPy's max
}

__device__ T ember_block_sum(T value, T* buffer) {
    buffer[threadIdx.x] = value;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half) buffer[threadIdx.x] += buffer[threadIdx.x + half];
        __syncthreads();
    }
    T total = buffer[0];
    __syncthreads();
    return total;
}

__device__ T ember_block_max(T value, T* buffer) {
    buffer[threadIdx.x] = value;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half) {
            buffer[threadIdx.x] = ember_max(buffer[threadIdx.x], buffer[threadIdx.x + half]);
        }
        __syncthreads();
    }
    T top = buffer[0];
    __syncthreads();
    return top;
}
"""


def compute_dtype(cupy, dtype):
    """The dtype a kernel computes ``dtype`` in: float64 stays, everything else is float32."""
    return cupy.float64 if dtype == cupy.float64 else cupy.float32


def as_compute(cupy, a):
    """``a`` as a C-contiguous array of its compute dtype (a copy only where needed)."""
    return cupy.ascontiguousarray(a, dtype=compute_dtype(cupy, a.dtype))


class RowModule:
    """CUDA source with ``T`` for the element type, compiled once per element type on first use."""

    def __init__(self, cupy, source: str) -> None:
        self.cupy, self.source, self.modules = cupy, source, {}

    def function(self, name: str, dtype):
        """The compiled kernel ``name`` for arrays of ``dtype`` (float32 or float64)."""
        ctype = "double" if dtype == self.cupy.float64 else "float"
        module = self.modules.get(ctype)
        if module is None:
            code = f"typedef {ctype} T;\n{PRELUDE}\n{self.source}"
            module = self.modules[ctype] = self.cupy.RawModule(code=code, options=("--std=c++14",))
        return module.get_function(name)

    def launch_rows(self, name: str, rows: int, dtype, args: tuple) -> None:
        """Run kernel ``name`` with one block of ``THREADS`` threads for each of ``rows`` rows."""
        if rows > 0:
            self.function(name, dtype)((rows,), (THREADS,), args)

    def scalar(self, value, dtype):
        """``value`` as the kernel's ``T`` scalar argument."""
        return self.cupy.dtype(compute_dtype(self.cupy, dtype)).type(value)
