"""stft, istft and the window functions against PyTorch, and their gradients."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from tests.helpers import torch_or_skip

rng = np.random.default_rng(9)
SIGNAL = rng.standard_normal((2, 40))
WINDOWS = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]
STFT_CASES = [
    {"n_fft": 16},
    {"n_fft": 16, "hop_length": 5, "win_length": 12, "window": True},
    {"n_fft": 15, "center": False},
    {"n_fft": 16, "normalized": True, "onesided": False},
    {"n_fft": 8, "pad_mode": "constant"},
]


@pytest.mark.parametrize("name", WINDOWS)
def test_windows_against_torch(name):
    torch = torch_or_skip()
    for length in (0, 1, 2, 5, 8):
        for periodic in (True, False):
            mine = getattr(ember, name)(length, periodic, dtype=ember.float64)
            theirs = getattr(torch, name)(length, periodic, dtype=torch.float64)
            np.testing.assert_allclose(mine.numpy(), theirs.numpy(), atol=1e-12)
    assert ember.hann_window(4).dtype == ember.float32


def _args(lib, case):
    kwargs = dict(case)
    if kwargs.pop("window", False):
        kwargs["window"] = lib.hann_window(kwargs["win_length"], dtype=lib.float64)
    return kwargs


@pytest.mark.parametrize("case", STFT_CASES, ids=[str(c) for c in STFT_CASES])
def test_stft_istft_against_torch(case):
    torch = torch_or_skip()
    mine = ember.stft(ember.tensor(SIGNAL), return_complex=True, **_args(ember, case))
    theirs = torch.stft(torch.tensor(SIGNAL), return_complex=True, **_args(torch, case))
    assert tuple(mine.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(mine.numpy(), theirs.numpy(), atol=1e-10)
    inverse_args = {k: v for k, v in case.items() if k != "pad_mode"}
    back = ember.istft(mine, length=40, **_args(ember, inverse_args))
    back_t = torch.istft(theirs, length=40, **_args(torch, inverse_args))
    np.testing.assert_allclose(back.numpy(), back_t.numpy(), atol=1e-10)
    if case.get("center", True):
        np.testing.assert_allclose(back.numpy(), SIGNAL, atol=1e-10)


def test_stft_gradients():
    torch = torch_or_skip()
    x = ember.tensor(SIGNAL[0, :20].copy(), requires_grad=True)
    assert gradcheck(lambda t: ember.stft(t, 8, 3, return_complex=True).abs(), (x,))
    mine = ember.tensor(SIGNAL.copy(), requires_grad=True)
    theirs = torch.tensor(SIGNAL.copy(), requires_grad=True)
    window_e, window_t = (
        ember.hann_window(16, dtype=ember.float64),
        torch.hann_window(16, dtype=torch.float64),
    )
    spec = ember.stft(mine, 16, window=window_e, return_complex=True)
    (spec.abs() ** 2).sum().backward()
    spec_t = torch.stft(theirs, 16, window=window_t, return_complex=True)
    (spec_t.abs() ** 2).sum().backward()
    np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-9)
    round_trip = ember.istft(
        ember.stft(mine, 16, window=window_e, return_complex=True), 16, window=window_e, length=40
    )
    assert gradcheck(
        lambda t: ember.istft(
            ember.stft(t, 8, window=ember.hann_window(8, dtype=ember.float64), return_complex=True),
            8,
            window=ember.hann_window(8, dtype=ember.float64),
            length=20,
        ),
        (x,),
    )
    assert round_trip.shape == (2, 40)


def test_stft_errors_and_warnings():
    with pytest.raises(RuntimeError, match="return_complex"):
        ember.stft(ember.ones(32), 8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pairs = ember.stft(ember.ones(32), 8, return_complex=False)
    assert pairs.shape[-1] == 2 and caught
    with pytest.raises(RuntimeError, match="complex"):
        ember.istft(ember.ones(5, 4), 8)
