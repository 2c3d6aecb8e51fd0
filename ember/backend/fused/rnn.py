"""Fused recurrent gate kernels: one LSTM or GRU time step's pointwise work in one pass.

The recurrent layers (``ops/rnn.py``, ``ops/gru.py``) compute each step's two matmuls themselves
(cuBLAS) and hand the gate arithmetic to these kernels: forward, the nonlinearities, the new cell
and hidden state; backward, every gate's gradient. Arrays are (B, G*H) for gates and (B, H) for
states; outputs are written into the arrays passed in, so the layers can hand slices of their
per-sequence buffers. Gates are contiguous rows ``[gate 0 | gate 1 | ...]`` of width H.
"""

from __future__ import annotations

from ember.backend import xp_of

__all__ = [
    "build_gru_gates",
    "build_gru_gates_backward",
    "build_lstm_gates",
    "build_lstm_gates_backward",
    "gru_gates",
    "gru_gates_backward",
    "lstm_gates",
    "lstm_gates_backward",
]


def _sigmoid(xp, x):
    return 1 / (1 + xp.exp(-x))


# -- LSTM (gate order i, f, g, o) --------------------------------------------------------------
def lstm_gates(gates_x, gates_h, c_prev, acts, c, tanh_c, h):
    """One LSTM step: ``acts`` <- (sigmoid i, sigmoid f, tanh g, sigmoid o) of
    ``gates_x + gates_h``; ``c`` <- f c_prev + i g; ``tanh_c`` <- tanh(c); ``h`` <- o tanh(c)."""
    xp = xp_of(gates_x)
    hidden = c_prev.shape[-1]
    pre = gates_x + gates_h
    acts[...] = _sigmoid(xp, pre)
    acts[:, 2 * hidden : 3 * hidden] = xp.tanh(pre[:, 2 * hidden : 3 * hidden])
    i, f, g, o = (acts[:, k * hidden : (k + 1) * hidden] for k in range(4))
    c[...] = f * c_prev + i * g
    tanh_c[...] = xp.tanh(c)
    h[...] = o * tanh_c
    return h


def lstm_gates_backward(dh, dc, acts, tanh_c, c_prev, dgates):
    """One LSTM step backward: ``dgates`` <- the pre-activation gradients; ``dc`` <- the gradient
    reaching ``c_prev`` through the cell (``dh`` is the total gradient of this step's h)."""
    hidden = dh.shape[-1]
    i, f, g, o = (acts[:, k * hidden : (k + 1) * hidden] for k in range(4))
    dc_total = dc + dh * o * (1 - tanh_c * tanh_c)
    dgates[:, :hidden] = dc_total * g * i * (1 - i)
    dgates[:, hidden : 2 * hidden] = dc_total * c_prev * f * (1 - f)
    dgates[:, 2 * hidden : 3 * hidden] = dc_total * i * (1 - g * g)
    dgates[:, 3 * hidden :] = dh * tanh_c * o * (1 - o)
    dc[...] = dc_total * f
    return dgates


_SIGMOID = "__device__ inline T_ sig(T_ x) { return T_(1) / (T_(1) + exp(-x)); }"


def _preamble():
    return "template <typename T_> " + _SIGMOID


def build_lstm_gates(cupy):
    """The CUDA kernel of ``lstm_gates``: one thread per (row, unit)."""
    step = cupy.ElementwiseKernel(
        "raw T gx, raw T gh, T c_prev, int64 hidden",
        "raw T acts, T c, T tanh_c, T h",
        """
        const ptrdiff_t row = i / hidden, unit = i % hidden, base = row * 4 * hidden + unit;
        const T gi = sig(gx[base] + gh[base]);
        const T gf = sig(gx[base + hidden] + gh[base + hidden]);
        const T gg = tanh(gx[base + 2 * hidden] + gh[base + 2 * hidden]);
        const T go = sig(gx[base + 3 * hidden] + gh[base + 3 * hidden]);
        acts[base] = gi; acts[base + hidden] = gf; acts[base + 2 * hidden] = gg;
        acts[base + 3 * hidden] = go;
        c = gf * c_prev + gi * gg;
        tanh_c = tanh(c);
        h = go * tanh_c;
        """,
        "ember_lstm_gates",
        preamble=_preamble(),
    )

    def run(gates_x, gates_h, c_prev, acts, c, tanh_c, h):
        contiguous = cupy.ascontiguousarray
        step(contiguous(gates_x), contiguous(gates_h), c_prev, c_prev.shape[-1], acts, c, tanh_c, h)
        return h

    return run


def build_lstm_gates_backward(cupy):
    """The CUDA kernel of ``lstm_gates_backward``."""
    step = cupy.ElementwiseKernel(
        "T dh, raw T acts, T tanh_c, T c_prev, int64 hidden",
        "T dc, raw T dgates",
        """
        const ptrdiff_t row = i / hidden, unit = i % hidden, base = row * 4 * hidden + unit;
        const T gi = acts[base], gf = acts[base + hidden];
        const T gg = acts[base + 2 * hidden], go = acts[base + 3 * hidden];
        const T dct = dc + dh * go * (T(1) - tanh_c * tanh_c);
        dgates[base] = dct * gg * gi * (T(1) - gi);
        dgates[base + hidden] = dct * c_prev * gf * (T(1) - gf);
        dgates[base + 2 * hidden] = dct * gi * (T(1) - gg * gg);
        dgates[base + 3 * hidden] = dh * tanh_c * go * (T(1) - go);
        dc = dct * gf;
        """,
        "ember_lstm_gates_backward",
    )

    def run(dh, dc, acts, tanh_c, c_prev, dgates):
        step(dh, cupy.ascontiguousarray(acts), tanh_c, c_prev, dh.shape[-1], dc, dgates)
        return dgates

    return run


# -- GRU (gate order r, z, n; n = tanh(x_n + r * (W_hn h + b_hn))) -------------------------------
def gru_gates(gates_x, gates_h, h_prev, acts, h):
    """One GRU step: ``acts`` <- (r, z, n); ``h`` <- n + z (h_prev - n). ``gates_h`` is
    ``h_prev @ W_hh^T + b_hh`` (its n part is multiplied by r, so it stays apart from x's)."""
    xp = xp_of(gates_x)
    hidden = h_prev.shape[-1]
    two = 2 * hidden
    acts[:, :two] = _sigmoid(xp, gates_x[:, :two] + gates_h[:, :two])
    r, z = acts[:, :hidden], acts[:, hidden:two]
    acts[:, two:] = xp.tanh(gates_x[:, two:] + r * gates_h[:, two:])
    n = acts[:, two:]
    h[...] = n + z * (h_prev - n)
    return h


def gru_gates_backward(dh, acts, gates_h, h_prev, dgates_x, dgates_h, dh_prev):
    """One GRU step backward from ``dh``, the total gradient of this step's h: ``dgates_x`` and
    ``dgates_h`` <- the gradients of the input and recurrent pre-activations; ``dh_prev`` <- the
    direct part ``dh z`` (the caller adds ``dgates_h @ W_hh``)."""
    hidden = dh.shape[-1]
    two = 2 * hidden
    r, z, n = acts[:, :hidden], acts[:, hidden:two], acts[:, two:]
    d_n = dh * (1 - z) * (1 - n * n)
    d_r = d_n * gates_h[:, two:] * r * (1 - r)
    d_z = dh * (h_prev - n) * z * (1 - z)
    dgates_x[:, :hidden] = d_r
    dgates_x[:, hidden:two] = d_z
    dgates_x[:, two:] = d_n
    dgates_h[:, :two] = dgates_x[:, :two]
    dgates_h[:, two:] = d_n * r
    dh_prev[...] = dh * z
    return dh_prev


def build_gru_gates(cupy):
    """The CUDA kernel of ``gru_gates``."""
    step = cupy.ElementwiseKernel(
        "raw T gx, raw T gh, T h_prev, int64 hidden",
        "raw T acts, T h",
        """
        const ptrdiff_t row = i / hidden, unit = i % hidden, base = row * 3 * hidden + unit;
        const T r = sig(gx[base] + gh[base]);
        const T z = sig(gx[base + hidden] + gh[base + hidden]);
        const T n = tanh(gx[base + 2 * hidden] + r * gh[base + 2 * hidden]);
        acts[base] = r; acts[base + hidden] = z; acts[base + 2 * hidden] = n;
        h = n + z * (h_prev - n);
        """,
        "ember_gru_gates",
        preamble=_preamble(),
    )

    def run(gates_x, gates_h, h_prev, acts, h):
        contiguous = cupy.ascontiguousarray
        step(contiguous(gates_x), contiguous(gates_h), h_prev, h_prev.shape[-1], acts, h)
        return h

    return run


def build_gru_gates_backward(cupy):
    """The CUDA kernel of ``gru_gates_backward``."""
    step = cupy.ElementwiseKernel(
        "T dh, raw T acts, raw T gh, T h_prev, int64 hidden",
        "raw T dgx, raw T dgh, T dh_prev",
        """
        const ptrdiff_t row = i / hidden, unit = i % hidden, base = row * 3 * hidden + unit;
        const T r = acts[base], z = acts[base + hidden], n = acts[base + 2 * hidden];
        const T d_n = dh * (T(1) - z) * (T(1) - n * n);
        const T d_r = d_n * gh[base + 2 * hidden] * r * (T(1) - r);
        const T d_z = dh * (h_prev - n) * z * (T(1) - z);
        dgx[base] = d_r; dgx[base + hidden] = d_z; dgx[base + 2 * hidden] = d_n;
        dgh[base] = d_r; dgh[base + hidden] = d_z; dgh[base + 2 * hidden] = d_n * r;
        dh_prev = dh * z;
        """,
        "ember_gru_gates_backward",
    )

    def run(dh, acts, gates_h, h_prev, dgates_x, dgates_h, dh_prev):
        contiguous = cupy.ascontiguousarray
        step(dh, contiguous(acts), contiguous(gates_h), h_prev, dh.shape[-1], dgates_x, dgates_h, dh_prev)
        return dh_prev

    return run
