"""Complex tensors through reductions: values and gradients against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip

rng = np.random.default_rng(21)
Z = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
Z[0, 0] = 0  # prod and cumprod take their zero-safe paths on this row

LOSSES = {
    "prod": lambda lib, a: a.prod(1).abs().sum() + a[1:].prod().real,
    "cumprod": lambda lib, a: a.cumprod(1).abs().sum() + a[1:].cumprod(1).imag.sum(),
    "var_std": lambda lib, a: a.var(1).sum() + a.std(),
    "norm": lambda lib, a: a.norm() + a.norm(1, dim=1).sum() + lib.norm(a),
    "mean_sum": lambda lib, a: a.mean(0).abs().sum() + a.sum(1).angle().sum(),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_complex_reductions_against_torch(name):
    torch = torch_or_skip()
    mine = ember.tensor(Z, requires_grad=True)
    theirs = torch.tensor(Z, requires_grad=True)
    value, expected = LOSSES[name](ember, mine), LOSSES[name](torch, theirs)
    assert value.dtype == ember.float64
    np.testing.assert_allclose(value.item(), expected.item(), rtol=1e-12)
    value.backward()
    expected.backward()
    np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.resolve_conj().numpy(), rtol=1e-9, atol=1e-12)


def test_complex_variance_is_real():
    z = ember.tensor(Z)
    assert z.var().dtype == ember.float64
    np.testing.assert_allclose(z.var().item(), np.var(Z, ddof=1), rtol=1e-12)


def test_adjoint_casts_and_inplace_conjugate():
    z = ember.tensor([[1 + 2j, 3j], [1.0, 2.0]])
    np.testing.assert_allclose(z.adjoint().numpy(), np.conj(z.numpy()).T)
    np.testing.assert_allclose(ember.adjoint(z).numpy(), np.conj(z.numpy()).T)
    assert ember.ones(2).cfloat().dtype == ember.complex64
    assert ember.ones(2).cdouble().dtype == ember.complex128
    w = z.clone()
    assert w.conj_physical_() is w
    np.testing.assert_allclose(w.numpy(), np.conj(z.numpy()))


def test_randn_draws_complex_samples():
    z = ember.randn(20000, dtype=ember.complex128)
    assert z.dtype == ember.complex128
    assert abs(z.real.var().item() - 0.5) < 0.05 and abs(z.imag.var().item() - 0.5) < 0.05
    assert ember.randn((), dtype=ember.cfloat).dtype == ember.complex64


def test_real_and_imag_as_free_functions():
    z = ember.tensor([1 + 2j, -3.5 + 0.5j])
    assert ember.real(z).tolist() == [1.0, -3.5] and ember.imag(z).tolist() == [2.0, 0.5]
    x = ember.tensor([1.0, 2.0])
    assert ember.real(x).tolist() == [1.0, 2.0]
    with pytest.raises(RuntimeError, match="imag is not implemented"):
        ember.imag(x)


def test_real_and_imag_free_functions_match_pytorch():
    torch = torch_or_skip()
    for values in ([1 + 2j, -3.5 + 0.5j], [1.0, 2.0]):
        assert ember.real(ember.tensor(values)).tolist() == torch.real(torch.tensor(values)).tolist()
    assert ember.imag(ember.tensor([1 + 2j])).tolist() == torch.imag(torch.tensor([1 + 2j])).tolist()
