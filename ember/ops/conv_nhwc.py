"""Channels-last GEMMs for CPU convolutions: the long dimension (batch x pixels) on the rows.

The NCHW paths of ``ops/conv.py`` multiply ``(O, K) @ (K, P)``: with O = 16-64 output channels
OpenBLAS runs those at under half its speed on large squares. Here the input is copied once into
a zero-padded channels-last grid, the products are ``(rows, K) @ (K, O)`` with rows = N*pixels,
and the (rows, O) result is transposed once into the NCHW array the caller sees (activations
between layers stay NCHW: transposing there costs under a tenth of a GEMM at these sizes).

Two ways to form the left-hand side (groups = 1 only):

* ``columns``: full channels-last im2col, one ``(N*Ho*Wo, kh*kw*C)`` matrix in (i, j, c) order,
  copied from the padded grid's windows (records of ``kw*C`` elements when dilation is 1).
* ``shifted``: stride 1 only. Output pixel (h, w) is computed at padded-grid position
  ``r = (n*Hp + h)*Wp + w``, whose kernel row i reads grid rows ``r + i*dh*Wp + j*dw``. One
  ``(R, kw*C)`` matrix holds, per grid position, the ``kw`` neighbours of its row; kernel row i
  is then the same matrix shifted by ``i*dh*Wp`` rows, so the convolution is ``kh`` GEMMs over
  contiguous row ranges, summed. The copy is ``kw*C`` wide instead of ``kh*kw*C``; the price is
  computing the ``Hp*Wp - Ho*Wo`` positions that fall on the padding (1.13x the work on 32x32,
  1.56x on 8x8), which ``ops/conv.py`` weighs in its choice.

See ``BENCHMARKS.md`` ("Convolutions, second attempt") for the per-layer measurements.
"""

from __future__ import annotations

from ember import backend


def _copy(xp, dst, src):
    backend.for_xp(xp).copy_rows(dst, src)


def _padded_grid(xp, x, padding, spare: int):
    """x (N, C, H, W) as a zero-padded channels-last grid, flat (N*Hp*Wp + spare, C)."""
    n, c, h, w = x.shape
    ph, pw = padding
    hp, wp = h + 2 * ph, w + 2 * pw
    size = n * hp * wp
    flat = xp.empty((size + spare, c), x.dtype)
    grid = flat[:size].reshape(n, hp, wp, c)
    # zero only the border and the spare rows: the interior is overwritten below
    for part in (grid[:, :ph], grid[:, ph + h :], grid[:, ph : ph + h, :pw], grid[:, ph : ph + h, pw + w :]):
        part.fill(0)
    flat[size:].fill(0)
    grid[:, ph : ph + h, pw : pw + w, :] = x.transpose(0, 2, 3, 1)
    return flat, (hp, wp)


def _as_strided(xp, a, shape, strides):
    return xp.lib.stride_tricks.as_strided(a, shape=shape, strides=strides)


def _weight_rows(w):
    """(O, C, kh, kw) -> (kh, kw*C, O): per kernel row, the right-hand side in (j, c) order."""
    kh = w.shape[2]
    return w.transpose(2, 3, 1, 0).reshape(kh, -1, w.shape[0])


def _to_nchw(xp, grid_out, b, out_hw):
    """The (N, Hg, Wg, O) channels-last result's top-left (Ho, Wo) corner, plus b, as NCHW."""
    n, o = grid_out.shape[0], grid_out.shape[3]
    ho, wo = out_hw
    src = grid_out[:, :ho, :wo, :].transpose(0, 3, 1, 2)
    out = xp.empty((n, o, ho, wo), grid_out.dtype)
    if b is None:
        out[...] = src
    else:
        xp.add(src, b.reshape(-1, 1, 1), out=out)
    return out


def shifted_rows(xp, x, geo):
    """The ``kw`` row neighbours of every padded-grid position: (rows, kw*C), with the grid
    size (Hp, Wp) and the number of output rows m = N*Hp*Wp (``rows`` adds the shift of the
    last kernel row)."""
    (kh, kw), (dh, dw) = geo.kernel, geo.dilation
    c = x.shape[1]
    wp = geo.in_hw[1] + 2 * geo.padding[1]
    row_shift = (kh - 1) * dh * wp
    flat, (hp, wp) = _padded_grid(xp, x, geo.padding, row_shift + (kw - 1) * dw)
    m = x.shape[0] * hp * wp
    rows = m + row_shift
    s_row, s_item = flat.strides
    out = xp.empty((rows, kw * c), x.dtype)
    if dw == 1:  # the kw neighbours of a position are one contiguous run of kw*C elements
        _copy(xp, out, _as_strided(xp, flat, (rows, kw * c), (s_row, s_item)))
    else:
        windows = _as_strided(xp, flat, (rows, kw, c), (s_row, dw * s_row, s_item))
        _copy(xp, out.reshape(rows, kw, c), windows)
    return out, m, (hp, wp)


def forward_shifted(xp, x, w, b, geo):
    """conv2d (stride 1, groups 1) as ``kh`` GEMMs over shifted rows; returns NCHW."""
    rows, m, (hp, wp) = shifted_rows(xp, x, geo)
    w_rows = _weight_rows(w)
    out = xp.matmul(rows[:m], w_rows[0])
    for i in range(1, geo.kernel[0]):
        start = i * geo.dilation[0] * wp
        out += xp.matmul(rows[start : start + m], w_rows[i])
    return _to_nchw(xp, out.reshape(x.shape[0], hp, wp, w.shape[0]), b, geo.out_hw)


def columns_last(xp, x, geo):
    """Channels-last im2col: (N*Ho*Wo, kh*kw*C), each row a window in (i, j, c) order."""
    (kh, kw), (sh, sw), (dh, dw) = geo.kernel, geo.stride, geo.dilation
    n, c = x.shape[:2]
    ho, wo = geo.out_hw
    flat, (hp, wp) = _padded_grid(xp, x, geo.padding, 0)
    s_c = flat.strides[1]
    s_w, s_h, s_n = c * s_c, wp * c * s_c, hp * wp * c * s_c
    out = xp.empty((n, ho, wo, kh, kw * c) if dw == 1 else (n, ho, wo, kh, kw, c), x.dtype)
    if dw == 1:
        shape, strides = out.shape, (s_n, sh * s_h, sw * s_w, dh * s_h, s_c)
    else:
        shape, strides = out.shape, (s_n, sh * s_h, sw * s_w, dh * s_h, dw * s_w, s_c)
    _copy(xp, out, _as_strided(xp, flat, shape, strides))
    return out.reshape(n * ho * wo, kh * kw * c)


def forward_columns(xp, x, w, b, geo):
    """conv2d (groups 1) as one GEMM ``(N*P, K) @ (K, O)`` on channels-last columns; NCHW out."""
    cols = columns_last(xp, x, geo)
    o = w.shape[0]
    out = xp.matmul(cols, w.transpose(2, 3, 1, 0).reshape(-1, o))
    return _to_nchw(xp, out.reshape((x.shape[0],) + geo.out_hw + (o,)), b, geo.out_hw)
