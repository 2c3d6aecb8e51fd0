"""Short-time Fourier transforms (``stft``, ``istft``), built on ``ember.fft``, so they are
differentiable. The window functions are ``ember.windows``'."""

from __future__ import annotations

import warnings

from ember import fft
from ember.methods.complex import view_as_real
from ember.methods.join import cat

FUNCTIONS = ["stft", "istft"]
__all__: list[str] = []


# -- short-time Fourier transform -----------------------------------------------------------------
def _full_window(window, n_fft: int, win_length: int, like):
    """The window (ones if None) centred in ``n_fft`` points, as PyTorch pads it."""
    if window is None:
        window = like.new_ones((win_length,))
    if window.ndim != 1 or window.shape[0] != win_length:
        raise RuntimeError(
            f"stft: expected a 1D window tensor of size equal to win_length="
            f"{win_length}, but got window with size {list(window.shape)}"
        )
    left = (n_fft - win_length) // 2
    if left or n_fft - win_length - left:
        window = cat([window.new_zeros((left,)), window, window.new_zeros((n_fft - win_length - left,))])
    return window


def _pad_signal(x, pad: int, mode: str):
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
        window_full = _full_window(window, n_fft, win, frames.real if frames.is_complex() else frames)
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
