"""``ember.fft``: PyTorch's ``torch.fft`` on the backend's ``xp.fft``, with autograd.

Transforms take ``n`` (1-D) or ``s`` (n-D) to zero-pad or trim the signal, ``dim`` and
``norm`` ('backward', the default: no scaling forward and ``1/n`` inverse; 'ortho':
``1/sqrt(n)`` both ways; 'forward': ``1/n`` forward). Results of complex transforms are
complex64/complex128 tensors; gradients follow PyTorch's convention for real losses.

>>> import ember
>>> ember.fft.rfft(ember.tensor([1.0, 0.0, 0.0, 0.0]))
tensor([1.+0.j, 1.+0.j, 1.+0.j])
"""

from __future__ import annotations

from ember import dtypes
from ember.creation import arange
from ember.methods._out import add_out_to, with_out
from ember.methods.join import cat
from ember.ops.fft import C2C, C2R, DUAL_NORM, R2C

__all__ = [
    "fft",
    "fft2",
    "fftfreq",
    "fftn",
    "fftshift",
    "hfft",
    "hfft2",
    "hfftn",
    "ifft",
    "ifft2",
    "ifftn",
    "ifftshift",
    "ihfft",
    "ihfft2",
    "ihfftn",
    "irfft",
    "irfft2",
    "irfftn",
    "rfft",
    "rfft2",
    "rfftfreq",
    "rfftn",
]


# -- arguments ---------------------------------------------------------------------------------
def _norm(op: str, norm):
    if norm is None:
        return "backward"
    if norm not in DUAL_NORM:
        raise ValueError(
            f"{op}: Invalid normalization mode: {norm!r}; expected 'backward', 'ortho' or 'forward'"
        )
    return norm


def _dims_and_sizes(op: str, x, s, dim):
    """PyTorch's defaults: all dims, or the last ``len(s)``; ``-1`` in ``s`` keeps a size."""
    ndim = x.ndim
    if dim is None:
        dims = list(range(ndim - len(s), ndim)) if s is not None else list(range(ndim))
    else:
        dims = [dim] if isinstance(dim, int) else list(dim)
    for d in dims:
        if not -ndim <= d < ndim:
            raise IndexError(f"{op}: dim {d} is out of range for a tensor of shape {list(x.shape)}")
    dims = [d % ndim for d in dims]
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"{op}: dims must be unique, got {dim}")
    if s is None:
        sizes = [x.shape[d] for d in dims]
    else:
        if len(s) != len(dims):
            raise RuntimeError(
                f"{op}: When given, dim and shape arguments must have the same "
                f"length, got s={list(s)} and dim={dims}"
            )
        sizes = [x.shape[d] if n == -1 else int(n) for d, n in zip(dims, s)]
    for n in sizes:
        if n < 1:
            raise RuntimeError(f"{op}: Invalid number of data points ({n}) specified")
    return dims, sizes


def _resized(x, dims, sizes):
    """``x`` trimmed or zero-padded at the end of each of ``dims`` to ``sizes``."""
    for d, n in zip(dims, sizes):
        have = x.shape[d]
        if n < have:
            x = x.narrow(d, 0, n)
        elif n > have:
            shape = list(x.shape)
            shape[d] = n - have
            x = cat([x, x.new_zeros(tuple(shape))], d)
    return x


def _as_complex(x):
    if x.is_complex():
        return x
    if x._data.dtype.kind != "f":
        x = x._cast(dtypes.get_default_dtype().np)
    return x._cast(dtypes.from_numpy_dtype(x._data.dtype).to_complex().np)


def _as_real(op: str, x):
    if x.is_complex():
        raise RuntimeError(f"{op} expects a real input tensor, but got {x.dtype} (shape {list(x.shape)})")
    if x._data.dtype.kind != "f":
        return x._cast(dtypes.get_default_dtype().np)
    return x


def _one(n, dim):
    return (None if n is None else (n,)), (dim,)


# -- complex to complex ------------------------------------------------------------------------
def fftn(input, s=None, dim=None, norm=None):
    """The n-dimensional discrete Fourier transform."""
    return _c2c("fftn", input, s, dim, norm, True)


def ifftn(input, s=None, dim=None, norm=None):
    """The n-dimensional inverse discrete Fourier transform."""
    return _c2c("ifftn", input, s, dim, norm, False)


def _c2c(op, x, s, dim, norm, forward):
    norm = _norm(op, norm)
    dims, sizes = _dims_and_sizes(op, x, s, dim)
    x = _resized(_as_complex(x), dims, sizes)
    if not dims:
        return x.clone()
    return C2C.apply(x, tuple(dims), norm, forward)


def fft(input, n=None, dim=-1, norm=None):
    """The one-dimensional discrete Fourier transform along ``dim``."""
    return fftn(input, *_one(n, dim), norm)


def ifft(input, n=None, dim=-1, norm=None):
    """The one-dimensional inverse discrete Fourier transform along ``dim``."""
    return ifftn(input, *_one(n, dim), norm)


def fft2(input, s=None, dim=(-2, -1), norm=None):
    """The two-dimensional discrete Fourier transform."""
    return fftn(input, s, dim, norm)


def ifft2(input, s=None, dim=(-2, -1), norm=None):
    """The two-dimensional inverse discrete Fourier transform."""
    return ifftn(input, s, dim, norm)


# -- real input, onesided output ---------------------------------------------------------------
def rfftn(input, s=None, dim=None, norm=None):
    """The n-dimensional transform of a real input; the last dim keeps ``n // 2 + 1`` bins."""
    norm = _norm("rfftn", norm)
    x = _as_real("rfftn", input)
    dims, sizes = _dims_and_sizes("rfftn", x, s, dim)
    if not dims:
        raise RuntimeError("rfftn must transform at least one axis")
    return R2C.apply(_resized(x, dims, sizes), tuple(dims), norm)


def rfft(input, n=None, dim=-1, norm=None):
    """The one-dimensional transform of a real input (``n // 2 + 1`` bins)."""
    return rfftn(input, *_one(n, dim), norm)


def rfft2(input, s=None, dim=(-2, -1), norm=None):
    """The two-dimensional transform of a real input."""
    return rfftn(input, s, dim, norm)


def irfftn(input, s=None, dim=None, norm=None):
    """The inverse of :func:`rfftn`: real output, ``2 * (bins - 1)`` last-dim points by default."""
    norm = _norm("irfftn", norm)
    x = _as_complex(input)
    dims, sizes = _dims_and_sizes("irfftn", x, s, dim)
    if not dims:
        raise RuntimeError("irfftn must transform at least one axis")
    if s is None or s[-1] == -1:
        sizes[-1] = 2 * (x.shape[dims[-1]] - 1)
    last = sizes[-1]
    if last < 1:
        raise RuntimeError(f"irfftn: Invalid number of data points ({last}) specified")
    x = _resized(x, dims, sizes[:-1] + [last // 2 + 1])
    return C2R.apply(x, tuple(dims), norm, last)


def irfft(input, n=None, dim=-1, norm=None):
    """The inverse of :func:`rfft`: ``n`` real points (default ``2 * (bins - 1)``)."""
    return irfftn(input, *_one(n, dim), norm)


def irfft2(input, s=None, dim=(-2, -1), norm=None):
    """The inverse of :func:`rfft2`."""
    return irfftn(input, s, dim, norm)


# -- Hermitian input ---------------------------------------------------------------------------
def hfftn(input, s=None, dim=None, norm=None):
    """The transform of a Hermitian-symmetric signal given by its onesided half: real output."""
    return irfftn(_as_complex(input).conj(), s, dim, DUAL_NORM[_norm("hfftn", norm)])


def hfft(input, n=None, dim=-1, norm=None):
    """The one-dimensional :func:`hfftn`."""
    return hfftn(input, *_one(n, dim), norm)


def hfft2(input, s=None, dim=(-2, -1), norm=None):
    """The two-dimensional :func:`hfftn`."""
    return hfftn(input, s, dim, norm)


def ihfftn(input, s=None, dim=None, norm=None):
    """The inverse of :func:`hfftn`: the onesided half of a real signal's inverse transform."""
    return rfftn(input, s, dim, DUAL_NORM[_norm("ihfftn", norm)]).conj()


def ihfft(input, n=None, dim=-1, norm=None):
    """The one-dimensional :func:`ihfftn`."""
    return ihfftn(input, *_one(n, dim), norm)


def ihfft2(input, s=None, dim=(-2, -1), norm=None):
    """The two-dimensional :func:`ihfftn`."""
    return ihfftn(input, s, dim, norm)


# -- helpers -----------------------------------------------------------------------------------
def fftfreq(
    n: int,
    d: float = 1.0,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
):
    """The sample frequencies ``[0, 1, ..., n/2-1, -n/2, ..., -1] / (d * n)``.

    ``pin_memory`` is accepted and ignored (as by ember's other factories: no pinned memory).
    """
    positive = (n - 1) // 2 + 1
    index = arange(n, dtype=dtype or dtypes.get_default_dtype(), device=device)
    freqs = (index - (index >= positive).to(index.dtype) * n) / (d * n)
    return freqs.requires_grad_(requires_grad)


def rfftfreq(
    n: int,
    d: float = 1.0,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
):
    """The non-negative sample frequencies ``[0, 1, ..., n // 2] / (d * n)`` (see :func:`fftfreq`)."""
    freqs = arange(n // 2 + 1, dtype=dtype or dtypes.get_default_dtype(), device=device) / (d * n)
    return freqs.requires_grad_(requires_grad)


def _shift_dims(x, dim):
    if dim is None:
        return list(range(x.ndim))
    return [dim] if isinstance(dim, int) else list(dim)


def fftshift(input, dim=None):
    """Move the zero frequency to the centre (a roll by ``n // 2`` along each dim)."""
    dims = _shift_dims(input, dim)
    return input.roll(tuple(input.shape[d] // 2 for d in dims), tuple(dims))


def ifftshift(input, dim=None):
    """The inverse of :func:`fftshift`."""
    dims = _shift_dims(input, dim)
    return input.roll(tuple(-(input.shape[d] // 2) for d in dims), tuple(dims))


add_out_to(globals(), [n for n in __all__ if not n.endswith(("freq", "shift"))])
# factories: out= gives its dtype and device, as for ember.arange
fftfreq, rfftfreq = with_out(fftfreq, factory=True), with_out(rfftfreq, factory=True)
