"""Convolution glue for 2-D convolutions: im2col and col2im as single device kernels.

``ops/conv.py`` builds columns on the CPU through strided window views and row copies, and sums
them back (col2im) with one strided addition per kernel offset; on CUDA each of those is a
separate launch over a strided view. Here each is one kernel: im2col writes every column element
from its input pixel (zero in the padding), and col2im *gathers*, one thread per input pixel
summing the column elements that read it, so it needs no atomics and its sums are
deterministic. Layouts are those of ``ops/conv.py``: columns (C*kh*kw, N*Ho*Wo), rows in (c, i,
j) order, columns in (n, ho, wo) order. ``geometry`` is ``(kernel, out_hw, stride, padding,
dilation)``, each a pair.
"""

from __future__ import annotations

from ember.backend import xp_of

__all__ = ["build_col2im", "build_im2col", "col2im", "im2col"]


def _windows(xp, x, geometry):
    """The padded input's windows as a (C, kh, kw, N, Ho, Wo) strided view."""
    kernel, out_hw, stride, padding, dilation = geometry
    n, c, h, w = x.shape
    (ph, pw) = padding
    padded = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), x.dtype)
    padded[:, :, ph : ph + h, pw : pw + w] = x
    s_n, s_c, s_h, s_w = padded.strides
    strides = (s_c, s_h * dilation[0], s_w * dilation[1], s_n, s_h * stride[0], s_w * stride[1])
    return xp.lib.stride_tricks.as_strided(padded, shape=(c, *kernel, n, *out_hw), strides=strides)


def im2col(x, geometry):
    """``x`` (N, C, H, W) as columns (C*kh*kw, N*Ho*Wo)."""
    xp = xp_of(x)
    kernel, out_hw = geometry[:2]
    n, c = x.shape[:2]
    rows = c * kernel[0] * kernel[1]
    return xp.ascontiguousarray(_windows(xp, x, geometry)).reshape(rows, n * out_hw[0] * out_hw[1])


def col2im(cols, batch: int, channels: int, in_hw, geometry):
    """The adjoint of ``im2col``: columns (C*kh*kw, N*Ho*Wo) summed into (N, C, H, W)."""
    xp = xp_of(cols)
    kernel, out_hw, stride, padding, dilation = geometry
    (h, w), (ph, pw) = in_hw, padding
    out = xp.zeros((batch, channels, h + 2 * ph, w + 2 * pw), cols.dtype)
    blocks = cols.reshape(channels, kernel[0], kernel[1], batch, out_hw[0], out_hw[1])
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            top, left = i * dilation[0], j * dilation[1]
            rows = slice(top, top + stride[0] * (out_hw[0] - 1) + 1, stride[0])
            columns = slice(left, left + stride[1] * (out_hw[1] - 1) + 1, stride[1])
            out[:, :, rows, columns] += blocks[:, i, j].swapaxes(0, 1)
    return xp.ascontiguousarray(out[:, :, ph : ph + h, pw : pw + w])


_IM2COL = """
const ptrdiff_t pixels = ho * wo, columns = batch * pixels;
const ptrdiff_t row = i / columns, column = i % columns;
const ptrdiff_t c = row / (kh * kw), ki = (row / kw) % kh, kj = row % kw;
const ptrdiff_t img = column / pixels, oy = (column / wo) % ho, ox = column % wo;
const ptrdiff_t y = oy * sh - ph + ki * dh, x_ = ox * sw - pw + kj * dw;
cols = (y >= 0 && y < h && x_ >= 0 && x_ < w) ? x[((img * channels + c) * h + y) * w + x_] : T(0);
"""

_COL2IM = """
const ptrdiff_t x_ = i % w, y = (i / w) % h, c = (i / (w * h)) % channels;
const ptrdiff_t img = i / (w * h * channels);
const ptrdiff_t columns = batch * ho * wo;
T sum = T(0);
for (ptrdiff_t ki = 0; ki < kh; ++ki) {
    const ptrdiff_t ty = y + ph - ki * dh;
    if (ty < 0 || ty % sh != 0 || ty / sh >= ho) continue;
    for (ptrdiff_t kj = 0; kj < kw; ++kj) {
        const ptrdiff_t tx = x_ + pw - kj * dw;
        if (tx < 0 || tx % sw != 0 || tx / sw >= wo) continue;
        const ptrdiff_t row = (c * kh + ki) * kw + kj;
        sum += cols[row * columns + (img * ho + ty / sh) * wo + tx / sw];
    }
}
out = sum;
"""

_SIZES = (
    "int64 batch, int64 channels, int64 h, int64 w, int64 ho, int64 wo, int64 kh, int64 kw, "
    "int64 sh, int64 sw, int64 ph, int64 pw, int64 dh, int64 dw"
)


def _sizes(batch, channels, in_hw, geometry):
    kernel, out_hw, stride, padding, dilation = geometry
    return (batch, channels, *in_hw, *out_hw, *kernel, *stride, *padding, *dilation)


def build_im2col(cupy):
    """The CUDA kernel of ``im2col``: one thread per column element."""
    kernel = cupy.ElementwiseKernel("raw T x, " + _SIZES, "T cols", _IM2COL, "ember_im2col")

    def run(x, geometry):
        x = cupy.ascontiguousarray(x)
        n, c, h, w = x.shape
        (kh, kw), (ho, wo) = geometry[:2]
        cols = cupy.empty((c * kh * kw, n * ho * wo), x.dtype)
        kernel(x, *_sizes(n, c, (h, w), geometry), cols)
        return cols

    return run


def build_col2im(cupy):
    """The CUDA kernel of ``col2im``: one thread per input pixel, gathering (no atomics)."""
    kernel = cupy.ElementwiseKernel("raw T cols, " + _SIZES, "T out", _COL2IM, "ember_col2im")

    def run(cols, batch, channels, in_hw, geometry):
        out = cupy.empty((batch, channels, *in_hw), cols.dtype)
        kernel(cupy.ascontiguousarray(cols), *_sizes(batch, channels, in_hw, geometry), out)
        return out

    return run
