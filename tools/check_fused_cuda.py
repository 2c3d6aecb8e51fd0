"""Compile the NN fused kernels' CUDA sources with nvcc, for float and double (no GPU needed).

A syntax and type check of what CuPy would compile on a GPU (CuPy uses NVRTC; nvcc accepts the
same device code): ``python tools/check_fused_cuda.py``; exits non-zero naming each source that
failed. The elementwise expressions (gelu, bias_act) are wrapped in a small kernel each, as
CuPy's ``ElementwiseKernel`` wraps them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

from ember.backend.fused import _cuda, attention, bias_act, cross_entropy, gelu, norm, softmax


def _elementwise_source() -> str:
    kernels = []
    forms = [("gelu", form, e) for form, e in gelu.FORWARD_C.items()]
    forms += [("bias", name, e) for name, e in bias_act._FORWARD_C.items()]
    for prefix, name, e in forms:
        kernels.append(
            f'extern "C" __global__ void {prefix}_{name}(const T* xs, T* ys) '
            f"{{ const T v = xs[threadIdx.x]; ys[threadIdx.x] = {e}; }}"
        )
    backward = [("gelu", form, e) for form, e in gelu.BACKWARD_C.items()]
    backward += [("bias", name, e) for name, e in bias_act._BACKWARD_C.items()]
    for prefix, name, e in backward:
        kernels.append(
            f'extern "C" __global__ void {prefix}_{name}_backward(const T* xs, const T* gs, T* ys) '
            f"{{ const T v = xs[threadIdx.x]; const T g = gs[threadIdx.x]; ys[threadIdx.x] = g * ({e}); }}"
        )
    return "\n".join(kernels)


SOURCES = {
    "softmax": softmax.SOURCE,
    "cross_entropy": softmax.SOURCE + cross_entropy.SOURCE,
    "norm": norm.SOURCE,
    "attention": softmax.SOURCE + attention.SOURCE,
    "elementwise": _elementwise_source(),
}


def main() -> int:
    if shutil.which("nvcc") is None:
        print("nvcc not found: install the CUDA toolkit to check the kernels' sources")
        return 2
    failed = []
    with tempfile.TemporaryDirectory() as folder:
        for name, source in SOURCES.items():
            for ctype in ("float", "double"):
                path = os.path.join(folder, f"{name}_{ctype}.cu")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(f"typedef {ctype} T;\n{_cuda.PRELUDE}\n{source}")
                command = ["nvcc", "--std=c++14", "-c", path, "-o", path + ".o"]
                result = subprocess.run(command, capture_output=True, text=True)
                print(f"{name} ({ctype}): {'ok' if result.returncode == 0 else 'FAILED'}")
                if result.returncode:
                    print(result.stderr)
                    failed.append(f"{name} ({ctype})")
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
