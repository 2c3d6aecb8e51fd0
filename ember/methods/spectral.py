"""Short-time Fourier transforms (``stft``, ``istft``) and the window functions PyTorch has at
top level (``hann_window``, ``hamming_window``, ``blackman_window``, ``bartlett_window``,
``kaiser_window``). Built on ``ember.fft``, so they are differentiable.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ember import dtypes

FUNCTIONS = ["stft", "istft"]
__all__ = ["bartlett_window", "blackman_window", "hamming_window", "hann_window", "kaiser_window"]


# -- windows ------------------------------------------------------------------------------------
def _window(
    name: str, window_length: int, periodic: bool, shape, dtype, device, requires_grad: bool
):
    from ember.creation import tensor

    if window_length < 0:
        raise RuntimeError(
            f"{name} requires non-negative window_length, got window_length={window_length}"
        )
    dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    if not dtype.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dtype}")
    if window_length <= 1:
        values = np.ones(window_length)
    else:
        size = window_length + 1 if periodic else window_length
        values = shape(np.arange(size, dtype=np.float64), size)[:window_length]
    return tensor(values, dtype=dtype, device=device, requires_grad=requires_grad)


def hann_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
):
    """``0.5 - 0.5 cos(2 pi n / (N - 1))`` (periodic: one more point, dropped)."""
    return hamming_window(
        window_length, periodic, 0.5, 0.5, dtype=dtype, device=device, requires_grad=requires_grad
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
):
    """``alpha - beta cos(2 pi n / (N - 1))``."""

    def shape(n, size):
        return alpha - beta * np.cos(2 * math.pi * n / (size - 1))

    return _window("hamming_window", window_length, periodic, shape, dtype, device, requires_grad)


def blackman_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
):
    """``0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))``."""

    def shape(n, size):
        angle = 2 * math.pi * n / (size - 1)
        return 0.42 - 0.5 * np.cos(angle) + 0.08 * np.cos(2 * angle)

    return _window("blackman_window", window_length, periodic, shape, dtype, device, requires_grad)


def bartlett_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
):
    """The triangular window ``1 - |2n / (N - 1) - 1|``."""

    def shape(n, size):
        return 1 - np.abs(2 * n / (size - 1) - 1)

    return _window("bartlett_window", window_length, periodic, shape, dtype, device, requires_grad)


def kaiser_window(
    window_length: int,
    periodic: bool = True,
    beta: float = 12.0,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
):
    """``I0(beta sqrt(1 - ((n - N/2) / (N/2))^2)) / I0(beta)``."""

    def shape(n, size):
        half = (size - 1) / 2
        return np.i0(beta * np.sqrt(np.clip(1 - ((n - half) / half) ** 2, 0, None))) / np.i0(beta)

    return _window("kaiser_window", window_length, periodic, shape, dtype, device, requires_grad)


# -- short-time Fourier transform -----------------------------------------------------------------
def _full_window(window, n_fft: int, win_length: int, like):
    """The window (ones if None) centred in ``n_fft`` points, as PyTorch pads it."""
    from ember.methods.join import cat

    if window is None:
        window = like.new_ones((win_length,))
    if window.ndim != 1 or window.shape[0] != win_length:
        raise RuntimeError(
            f"stft: expected a 1D window tensor of size equal to win_length="
            f"{win_length}, but got window with size {list(window.shape)}"
        )
    left = (n_fft - win_length) // 2
    if left or n_fft - win_length - left:
        window = cat(
            [window.new_zeros((left,)), window, window.new_zeros((n_fft - win_length - left,))]
        )
    return window


def _pad_signal(x, pad: int, mode: str):
    from ember.methods.join import cat

    if mode == "constant":
        zeros = x.new_zeros(tuple(x.shape[:-1]) + (pad,))
        return cat([zeros, x, zeros], -1)
    if mode == "reflect":
        return cat([x[..., 1 : pad + 1].flip(-1), x, x[..., -pad - 1 : -1].flip(-1)], -1)
    if mode == "replicate":
        first, last = x[..., :1], x[..., -1:]
        shape = tuple(x.shape[:-1]) + (pad,)
        return cat([first.expand(shape), x, last.expand(shape)], -1)
    if mode == "circular":
        return cat([x[..., -pad:], x, x[..., :pad]], -1)
    raise RuntimeError(
        f"stft: pad_mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}"
    )


class SpectralMethods:
    __slots__ = ()

    def stft(
        self,
        n_fft: int,
        hop_length=None,
        win_length=None,
        window=None,
        center: bool = True,
        pad_mode: str = "reflect",
        normalized: bool = False,
        onesided=None,
        return_complex=None,
        align_to_window=None,
    ):
        """The short-time Fourier transform: ``(n_freq, n_frames)`` (batched for 2-D input)."""
        from ember import fft
        from ember.methods.complex import view_as_real

        if align_to_window:
            raise NotImplementedError("stft: align_to_window=True is not implemented in ember")
        x = self
        if return_complex is None:
            if not (x.is_complex() or (window is not None and window.is_complex())):
                raise RuntimeError(
                    "stft requires the return_complex parameter be given for real "
                    "inputs, and will further require that return_complex=True "
                    "in a future PyTorch release."
                )
            return_complex = True
        if x.ndim not in (1, 2):
            raise RuntimeError(f"stft: expected a 1D or 2D tensor, got shape {list(x.shape)}")
        hop = n_fft // 4 if hop_length is None else hop_length
        win = n_fft if win_length is None else win_length
        if not (0 < win <= n_fft) or hop <= 0:
            raise RuntimeError(
                f"stft: expected 0 < win_length <= n_fft and hop_length > 0, got "
                f"n_fft={n_fft}, hop_length={hop}, win_length={win}"
            )
        if center:
            x = _pad_signal(x, n_fft // 2, pad_mode)
        if x.shape[-1] < n_fft:
            raise RuntimeError(f"stft: input of length {x.shape[-1]} is shorter than n_fft={n_fft}")
        frames = x.unfold(-1, n_fft, hop) * _full_window(window, n_fft, win, x)
        complex_input = frames.is_complex()
        onesided = (not complex_input) if onesided is None else onesided
        norm = "ortho" if normalized else "backward"
        spectrum = fft.rfft(frames, norm=norm) if onesided else fft.fft(frames, norm=norm)
        spectrum = spectrum.transpose(-1, -2)
        if not return_complex:
            warnings.warn(
                "stft with return_complex=False is deprecated; use return_complex=True "
                "and torch.view_as_real",
                UserWarning,
                stacklevel=2,
            )
            return view_as_real(spectrum)
        return spectrum

    def istft(
        self,
        n_fft: int,
        hop_length=None,
        win_length=None,
        window=None,
        center: bool = True,
        normalized: bool = False,
        onesided=None,
        length=None,
        return_complex: bool = False,
    ):
        """The inverse of :meth:`stft` by windowed overlap-add."""
        from ember import fft

        spectrum = self
        if not spectrum.is_complex():
            raise RuntimeError("istft requires a complex-valued input tensor")
        hop = n_fft // 4 if hop_length is None else hop_length
        win = n_fft if win_length is None else win_length
        onesided = (spectrum.shape[-2] != n_fft) if onesided is None else onesided
        norm = "ortho" if normalized else "backward"
        columns = spectrum.transpose(-1, -2)  # (..., frames, bins)
        if onesided:
            frames = fft.irfft(columns, n=n_fft, norm=norm)
        else:
            frames = fft.ifft(columns, n=n_fft, norm=norm)
            frames = frames if return_complex else frames.real
        window_full = _full_window(
            window, n_fft, win, frames.real if frames.is_complex() else frames
        )
        frames = frames * window_full
        n_frames = frames.shape[-2]
        total = n_fft + hop * (n_frames - 1)
        signal = _overlap_add(frames, hop, total)
        envelope = _overlap_add((window_full * window_full).expand((n_frames, n_fft)), hop, total)
        start = n_fft // 2 if center else 0
        end = total - n_fft // 2 if center else total
        if length is not None:
            end = start + length
        envelope = envelope[start : min(end, total)]
        if bool((envelope.abs() < 1e-11).any()):
            raise RuntimeError(
                "istft: window overlap add min: 0; the window and hop_length do "
                "not satisfy the nonzero overlap-add (NOLA) condition"
            )
        signal = signal[..., start : min(end, total)] / envelope
        if end > total:
            from ember.methods.join import cat

            signal = cat([signal, signal.new_zeros(tuple(signal.shape[:-1]) + (end - total,))], -1)
        return signal


def _overlap_add(frames, hop: int, total: int):
    """``out[t * hop + k] += frames[..., t, k]``, differentiably (an index_add)."""
    xp = frames.xp
    n_frames, n_fft = frames.shape[-2], frames.shape[-1]
    positions = (xp.arange(n_frames)[:, None] * hop + xp.arange(n_fft)[None, :]).reshape(-1)
    flat = frames.reshape(tuple(frames.shape[:-2]) + (n_frames * n_fft,))
    out = flat.new_zeros(tuple(frames.shape[:-2]) + (total,))
    return out.index_add(-1, frames._wrap_like(positions), flat)
