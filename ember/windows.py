"""Window functions (``ember.hann_window`` and friends), computed in float64 and then cast.

``periodic=True`` (PyTorch's default) gives the window of length ``N + 1`` without its last
sample, the form spectral analysis wants; ``periodic=False`` the symmetric window.
"""

from __future__ import annotations

import numpy as np

from ember import dtypes

__all__ = ["bartlett_window", "blackman_window", "hamming_window", "hann_window", "kaiser_window"]


def _window(op: str, length: int, periodic: bool, samples, dtype, device, requires_grad):
    from ember.creation import tensor

    if length < 0:
        raise RuntimeError(f"{op} requires non-negative window_length, got window_length={length}")
    dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    if not dtype.is_floating_point:
        raise RuntimeError(f"{op} expects floating point dtypes, got: {dtype}")
    if length <= 1:
        values = np.ones(length)
    else:
        n = length + 1 if periodic else length
        values = samples(np.arange(n), n)[:length]
    return tensor(values, dtype=dtype, device=device, requires_grad=requires_grad)


def _cosine_sum(*coefficients):
    def samples(k, n):
        phase = 2 * np.pi * k / (n - 1)
        return sum(c * np.cos(i * phase) * (-1) ** i for i, c in enumerate(coefficients))

    return samples


def hann_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
):
    """``0.5 - 0.5 cos(2 pi n / (N - 1))``."""
    return _window(
        "hann_window", window_length, periodic, _cosine_sum(0.5, 0.5), dtype, device, requires_grad
    )


def hamming_window(
    window_length: int,
    periodic: bool = True,
    alpha: float = 0.54,
    beta: float = 0.46,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
):
    """``alpha - beta cos(2 pi n / (N - 1))``."""
    return _window(
        "hamming_window", window_length, periodic, _cosine_sum(alpha, beta), dtype, device, requires_grad
    )


def blackman_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
):
    """``0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))``."""
    return _window(
        "blackman_window", window_length, periodic, _cosine_sum(0.42, 0.5, 0.08), dtype, device, requires_grad
    )


def bartlett_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
):
    """The triangular window ``1 - |2n / (N - 1) - 1|``."""
    return _window(
        "bartlett_window",
        window_length,
        periodic,
        lambda k, n: 1 - np.abs(2 * k / (n - 1) - 1),
        dtype,
        device,
        requires_grad,
    )


def kaiser_window(
    window_length: int,
    periodic: bool = True,
    beta: float = 12.0,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
):
    """``I0(beta sqrt(1 - (2n / (N - 1) - 1)^2)) / I0(beta)``."""

    def samples(k, n):
        return np.i0(beta * np.sqrt(1 - (2 * k / (n - 1) - 1) ** 2)) / np.i0(beta)

    return _window("kaiser_window", window_length, periodic, samples, dtype, device, requires_grad)


def _with_out():
    from ember.methods._out import with_out

    for name in __all__:
        globals()[name] = with_out(globals()[name], factory=True)


_with_out()
