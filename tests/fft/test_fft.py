"""ember.fft against NumPy and PyTorch, and its gradients (finite differences and PyTorch's)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck, gradgradcheck
from tests.helpers import torch_or_skip

rng = np.random.default_rng(5)
REAL = rng.standard_normal((3, 4, 6))
CPLX = REAL + 1j * rng.standard_normal((3, 4, 6))
COMPLEX_IN = {
    "fft",
    "ifft",
    "fft2",
    "ifft2",
    "fftn",
    "ifftn",
    "irfft",
    "irfft2",
    "irfftn",
    "hfft",
    "hfft2",
    "hfftn",
}
KWARGS_1D = [{}, {"n": 4}, {"n": 9, "dim": 1}, {"norm": "ortho"}, {"norm": "forward", "dim": 0}]
KWARGS_ND = [
    {},
    {"s": (3, 5)},
    {"dim": (0, 2)},
    {"norm": "ortho", "s": (5, -1), "dim": (2, 0)},
    {"norm": "forward"},
]
ONE_D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
N_D = [
    "fft2",
    "ifft2",
    "fftn",
    "ifftn",
    "rfft2",
    "irfft2",
    "rfftn",
    "irfftn",
    "hfft2",
    "ihfft2",
    "hfftn",
    "ihfftn",
]
CASES = [(name, kw) for name in ONE_D for kw in KWARGS_1D] + [(name, kw) for name in N_D for kw in KWARGS_ND]


def _source(name):
    return CPLX if name in COMPLEX_IN else REAL


def _numpy(array):
    return array.resolve_conj().numpy() if hasattr(array, "resolve_conj") else array.numpy()


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_forward_against_torch(name, kwargs):
    torch = torch_or_skip()
    mine = getattr(ember.fft, name)(ember.tensor(_source(name)), **kwargs)
    theirs = getattr(torch.fft, name)(torch.tensor(_source(name)), **kwargs)
    assert tuple(mine.shape) == tuple(theirs.shape)
    assert str(mine.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
    np.testing.assert_allclose(mine.numpy(), _numpy(theirs), atol=1e-10)


def test_forward_against_numpy():
    x = ember.tensor(REAL)
    np.testing.assert_allclose(ember.fft.rfft(x).numpy(), np.fft.rfft(REAL), atol=1e-12)
    np.testing.assert_allclose(ember.fft.fftn(ember.tensor(CPLX)).numpy(), np.fft.fftn(CPLX), atol=1e-10)
    np.testing.assert_allclose(
        ember.fft.irfft(ember.tensor(CPLX), 7).numpy(), np.fft.irfft(CPLX, 7), atol=1e-12
    )
    np.testing.assert_allclose(ember.fft.fftfreq(7, 0.5).numpy(), np.fft.fftfreq(7, 0.5), atol=1e-7)
    np.testing.assert_allclose(ember.fft.rfftfreq(8).numpy(), np.fft.rfftfreq(8), atol=1e-7)
    np.testing.assert_allclose(ember.fft.fftshift(x).numpy(), np.fft.fftshift(REAL))
    np.testing.assert_allclose(ember.fft.ifftshift(x, dim=1).numpy(), np.fft.ifftshift(REAL, axes=1))


def test_dtypes():
    assert ember.fft.rfft(ember.ones(4)).dtype == ember.complex64
    assert ember.fft.fft(ember.arange(4)).dtype == ember.complex64
    assert ember.fft.irfft(ember.fft.rfft(ember.ones(4, dtype=ember.float64))).dtype == ember.float64
    assert ember.fft.fftfreq(4, dtype=ember.float64).dtype == ember.float64


def _as_real_function(name, kwargs):
    """The transform as a map between real tensors (complex ones as (..., 2) pairs)."""

    def f(x):
        if name in COMPLEX_IN:
            x = ember.view_as_complex(x)
        out = getattr(ember.fft, name)(x, **kwargs)
        return ember.view_as_real(out) if out.is_complex() else out

    return f


def _real_input(name, shape=(2, 3, 4)):
    source = _source(name)[: shape[0], : shape[1], : shape[2]]
    if name in COMPLEX_IN:
        source = np.stack([source.real, source.imag], -1)
    return ember.tensor(np.ascontiguousarray(source), requires_grad=True)


GRAD_CASES = [(name, kw) for name in ONE_D for kw in ({}, {"n": 5, "norm": "ortho"}, {"n": 3})] + [
    (name, kw) for name in N_D for kw in ({}, {"s": (2, 5), "norm": "forward"})
]


@pytest.mark.parametrize("name,kwargs", GRAD_CASES, ids=[f"{n}-{k}" for n, k in GRAD_CASES])
def test_gradcheck(name, kwargs):
    assert gradcheck(_as_real_function(name, kwargs), (_real_input(name),))


@pytest.mark.parametrize("name,kwargs", GRAD_CASES, ids=[f"{n}-{k}" for n, k in GRAD_CASES])
def test_gradients_against_torch(name, kwargs):
    torch = torch_or_skip()
    source = _source(name)[:2, :3, :4]
    weights = None

    def run(lib, x):
        nonlocal weights
        out = getattr(lib.fft, name)(x, **kwargs).resolve_conj()
        pairs = lib.view_as_real(out) if out.is_complex() else out
        if weights is None:
            weights = rng.standard_normal(tuple(pairs.shape))
        return (pairs * lib.tensor(weights)).sum() + (out.abs() ** 2).sum()

    mine = ember.tensor(source, requires_grad=True)
    theirs = torch.tensor(source, requires_grad=True)
    run(ember, mine).backward()
    run(torch, theirs).backward()
    np.testing.assert_allclose(mine.grad.numpy(), _numpy(theirs.grad), rtol=1e-8, atol=1e-10)


def test_common_compositions_against_torch():
    torch = torch_or_skip()
    x = rng.standard_normal((2, 8))
    compositions = [
        lambda lib, t: lib.fft.rfft(t).abs().sum(),
        lambda lib, t: (lib.fft.irfft(lib.fft.rfft(t), n=8) * lib.arange(8.0).double()).sum(),
        lambda lib, t: (lib.fft.fftshift(t) * lib.arange(8.0).double()).sum(),
        lambda lib, t: lib.fft.rfft(t).real.pow(2).sum() + lib.fft.rfft(t).imag.sum(),
        lambda lib, t: lib.fft.fft(t).angle().sum(),
        lambda lib, t: (lib.fft.ifft(lib.fft.fft(t) * lib.fft.fftfreq(8).double()).real ** 2).sum(),
    ]
    for f in compositions:
        mine = ember.tensor(x, requires_grad=True)
        theirs = torch.tensor(x, requires_grad=True)
        f(ember, mine).backward()
        f(torch, theirs).backward()
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_round_trip_and_second_order():
    x = ember.tensor(REAL[0], requires_grad=True)
    np.testing.assert_allclose(ember.fft.irfft(ember.fft.rfft(x), n=6).detach().numpy(), REAL[0], atol=1e-12)
    assert gradgradcheck(lambda t: ember.fft.rfft(t).abs(), (ember.tensor(REAL[0, :2], requires_grad=True),))
    assert gradgradcheck(_as_real_function("irfft", {"n": 5}), (_real_input("irfft", (1, 2, 3)),))


def test_errors():
    with pytest.raises(ValueError, match="normalization"):
        ember.fft.fft(ember.ones(4), norm="bad")
    with pytest.raises(RuntimeError, match="real input"):
        ember.fft.rfft(ember.fft.fft(ember.ones(4)))
    with pytest.raises(IndexError, match="out of range"):
        ember.fft.fft(ember.ones(4), dim=2)
    with pytest.raises(RuntimeError, match="Invalid number of data points"):
        ember.fft.fft(ember.ones(4), n=0)


def test_out_keyword():
    out = ember.empty(3, dtype=ember.complex64)
    assert ember.fft.rfft(ember.ones(4), out=out) is out
    np.testing.assert_allclose(out.numpy(), np.fft.rfft(np.ones(4)))


def test_complex_matmul_einsum_pow_gradients_against_torch():
    torch = torch_or_skip()
    values = [rng.standard_normal(s) + 1j * rng.standard_normal(s) for s in ((3, 3), (3, 2), (3,), (3,))]
    losses = [
        lambda lib, a, b, v, w: (a @ b).abs().sum() + (a @ v).real.sum() + (v @ a).imag.sum(),
        lambda lib, a, b, v, w: (v @ w).abs() + lib.einsum("ij,jk->ik", a, b).abs().sum(),
        lambda lib, a, b, v, w: (v**w).abs().sum() + (v / w).real.sum() + (v * w.exp()).angle().sum(),
        lambda lib, a, b, v, w: (
            lib.polar(v.abs(), w.real).imag.sum() + lib.view_as_real(v.conj().resolve_conj()).sum()
        ),
    ]
    for loss in losses:
        mine = [ember.tensor(x, requires_grad=True) for x in values]
        theirs = [torch.tensor(x, requires_grad=True) for x in values]
        loss(ember, *mine).backward()
        loss(torch, *theirs).backward()
        for m, t in zip(mine, theirs):
            if t.grad is not None:
                np.testing.assert_allclose(m.grad.numpy(), _numpy(t.grad), rtol=1e-9, atol=1e-12)


def test_complex_tensors_basics():
    z = ember.tensor([1 + 2j, 3 - 1j])
    assert z.dtype == ember.complex64 and z.is_complex() and ember.is_complex(z)
    assert repr(z) == "tensor([1.+2.j, 3.-1.j])"
    assert (ember.ones(2, dtype=ember.float64) * z).dtype == ember.complex128
    assert (ember.ones(2) * 1j).dtype == ember.complex64
    np.testing.assert_allclose(z.real.numpy(), [1, 3])
    np.testing.assert_allclose(z.imag.numpy(), [2, -1])
    np.testing.assert_allclose(z.conj().numpy(), [1 - 2j, 3 + 1j])
    np.testing.assert_allclose(z.angle().numpy(), np.angle([1 + 2j, 3 - 1j]), rtol=1e-6)
    np.testing.assert_allclose(ember.view_as_real(z).numpy(), [[1, 2], [3, -1]])
    assert ember.view_as_complex(ember.view_as_real(z)).dtype == ember.complex64
    x = ember.tensor([1.0, -2.0])
    assert x.real is x and x.conj() is x
    with pytest.raises(RuntimeError, match="non-complex"):
        _ = x.imag
    np.testing.assert_allclose(ember.complex(x, x).numpy(), [1 + 1j, -2 - 2j])
    np.testing.assert_allclose(x.angle().numpy(), [0, np.pi], rtol=1e-6)
    assert ember.finfo(ember.complex128).eps == np.finfo(np.float64).eps


def test_backward_of_a_complex_scalar_is_refused():
    z = ember.tensor([1 + 2j], requires_grad=True)
    with pytest.raises(RuntimeError, match="real scalar outputs"):
        (z * z).sum().backward()
    (z * z).sum().real.backward()
    np.testing.assert_allclose(z.grad.numpy(), [2 - 4j])
