"""linalg, fft and special on a CUDA device match the CPU (skipped without a GPU and CuPy)."""

from __future__ import annotations

import numpy as np
import pytest

import ember

pytestmark = pytest.mark.skipif(not ember.cuda.is_available(), reason="needs CUDA and CuPy")

rng = np.random.default_rng(4)
SQUARE = rng.standard_normal((2, 4, 4)) + 4 * np.eye(4)
SIGNAL = rng.standard_normal((2, 16))
CASES = {
    "inv": lambda t: ember.linalg.inv(t),
    "det": lambda t: ember.linalg.det(t),
    "solve": lambda t: ember.linalg.solve(t, t[..., :2]),
    "cholesky": lambda t: ember.linalg.cholesky(t @ t.mT),
    "qr": lambda t: ember.linalg.qr(t).R.abs(),
    "eigvalsh": lambda t: ember.linalg.eigvalsh(t + t.mT),
    "svdvals": lambda t: ember.linalg.svdvals(t),
    "lu_factor": lambda t: ember.linalg.lu_factor(t).LU,
    "matrix_exp": lambda t: ember.linalg.matrix_exp(t / 4),
    "pinv": lambda t: ember.linalg.pinv(t),
    "solve_triangular": lambda t: ember.linalg.solve_triangular(t, t, upper=True),
    "rfft": lambda t: ember.view_as_real(ember.fft.rfft(t)),
    "fft2": lambda t: ember.view_as_real(ember.fft.fft2(t)),
    "irfft": lambda t: ember.fft.irfft(ember.fft.rfft(t), n=t.shape[-1]),
    "gammaln": lambda t: ember.special.gammaln(t.abs() + 0.5),
    "digamma": lambda t: ember.special.digamma(t.abs() + 0.5),
    "i1e": lambda t: ember.special.i1e(t),
    "chebyshev_t": lambda t: ember.special.chebyshev_polynomial_t(t.detach() / 5, 3),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cuda_matches_cpu(name):
    source = SIGNAL if name in ("rfft", "irfft") else SQUARE
    cpu = ember.tensor(source, requires_grad=True)
    gpu = ember.tensor(source, device="cuda", requires_grad=True)
    out_cpu, out_gpu = CASES[name](cpu), CASES[name](gpu)
    np.testing.assert_allclose(out_gpu.detach().cpu().numpy(), out_cpu.detach().numpy(), atol=1e-9)
    if out_cpu.requires_grad:
        out_cpu.sum().backward()
        out_gpu.sum().backward()
        np.testing.assert_allclose(gpu.grad.cpu().numpy(), cpu.grad.numpy(), atol=1e-8)
