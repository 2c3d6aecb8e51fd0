"""``ember.backends``: PyTorch's ``torch.backends`` switches (``cudnn``, ``cuda``, ``mps``, ...).

The settings are real flags, stored in ``ember.backend.flags`` where the backends read them;
the probes answer for this machine (no MPS; cuDNN only with a CUDA device).
"""

from __future__ import annotations

from ember.backends import cpu, cuda, cudnn, mkl, mkldnn, mps, openmp

__all__ = ["cpu", "cuda", "cudnn", "mkl", "mkldnn", "mps", "openmp"]
