"""The CUDA path (cupyx.scipy.sparse, cupyx.scipy.special): runs only where a GPU is present."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.distributions as D

pytestmark = pytest.mark.skipif(not ember.cuda.is_available(), reason="needs CUDA and CuPy")


def test_sparse_mm_and_gradients_on_cuda():
    indices = [[0, 1, 1, 2], [2, 0, 2, 1]]
    values = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    dense = np.random.default_rng(0).normal(size=(3, 2)).astype(np.float32)
    results = []
    for device in ("cpu", "cuda"):
        s = ember.sparse_coo_tensor(indices, values, (3, 3), device=device, requires_grad=True)
        d = ember.tensor(dense, device=device, requires_grad=True)
        out = s @ d
        (out**2).sum().backward()
        assert out.device.type == device and s.grad.device.type == device
        results.append(
            [
                out.cpu().detach().numpy(),
                d.grad.cpu().numpy(),
                s.grad.to_dense().cpu().numpy(),
                s.coalesce().to_dense().cpu().detach().numpy(),
                ember.sparse.softmax(s, 1).to_dense().cpu().detach().numpy(),
            ]
        )
    for cpu, gpu in zip(*results):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-5, atol=1e-6)


def test_distributions_on_cuda():
    conc = ember.tensor([0.5, 2.0], device="cuda", requires_grad=True)
    sample = D.Gamma(conc, ember.ones(2, device="cuda")).rsample((10,))
    sample.sum().backward()
    assert sample.device.type == "cuda" and conc.grad.device.type == "cuda"
    cov = ember.eye(3, device="cuda") * 2
    mvn = D.MultivariateNormal(ember.zeros(3, device="cuda"), cov)
    assert mvn.log_prob(mvn.sample((4,))).device.type == "cuda"
    d = D.Categorical(logits=ember.zeros(2, 5, device="cuda"))
    assert d.log_prob(d.sample((3,))).shape == (3, 2)
    assert D.Beta(ember.ones(2, device="cuda"), ember.ones(2, device="cuda")).entropy().is_cuda
