"""``torch.version``: the versions code reads before using a feature.

``cuda`` is the CUDA runtime version of ember's GPU backend (CuPy's), as ``"major.minor"``, or
None where there is no GPU backend, which is what PyTorch's CPU builds answer; ``hip`` is None.

>>> import ember
>>> ember.version.hip is None
True
"""

from __future__ import annotations

__all__ = ["__version__", "debug", "git_version", "hip"]  # and cuda, read on first use

__version__ = "0.1.0"
git_version = "unknown"
hip = None
debug = False


def _cuda_version() -> str | None:
    from ember.backend import cuda as backend_cuda  # loads the GPU backend only when asked

    return backend_cuda.runtime_version()


def __getattr__(name: str):
    if name == "cuda":
        return _cuda_version()
    raise AttributeError(f"module 'ember.version' has no attribute {name!r}")
