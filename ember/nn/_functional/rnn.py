"""nn.functional: recurrent cells and the multi-layer, bidirectional recurrence behind RNN/LSTM/GRU.

A layer and direction first projects its whole input at once (one ``x @ W_ih^T`` for every time
step); the time loop then does only the recurrent product ``h @ W_hh^T`` and the gate arithmetic.
Packed sequences run the same loop with a batch that shrinks (forward) or grows (reverse) as
sequences end, so padding is never computed.
"""

from __future__ import annotations

from collections.abc import Sequence

from ember import functions as _fn
from ember.amp.autocast_mode import autocast, is_autocast_enabled
from ember.dtypes import float32
from ember.nn._functional.linear import linear
from ember.ops import gru as _gru_ops
from ember.ops import rnn as _ops
from ember.tensor import Tensor

__all__ = ["gru_cell", "lstm_cell", "rnn_relu_cell", "rnn_tanh_cell"]

MODES = ("RNN_TANH", "RNN_RELU", "LSTM", "GRU")
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _recurrent(h: Tensor, w_hh_t: Tensor, b_hh: Tensor | None) -> Tensor:
    out = h.matmul(w_hh_t)
    return out if b_hh is None else out + b_hh


def _step(
    mode: str,
    gates_x: Tensor,
    h: Tensor,
    c: Tensor | None,
    w_hh_t: Tensor,
    b_hh: Tensor | None,
    w_hr_t: Tensor | None,
) -> tuple[Tensor, Tensor | None]:
    """One time step given the input projection ``gates_x`` (input bias included)."""
    if mode == "GRU":
        x_r, x_z, x_n = gates_x.chunk(3, 1)
        h_r, h_z, h_n = _recurrent(h, w_hh_t, b_hh).chunk(3, 1)
        r = (x_r + h_r).sigmoid()
        z = (x_z + h_z).sigmoid()
        n = (x_n + r * h_n).tanh()
        return n + z * (h - n), None
    pre = gates_x + _recurrent(h, w_hh_t, b_hh)
    if mode == "RNN_TANH":
        return pre.tanh(), None
    if mode == "RNN_RELU":
        return pre.relu(), None
    i, f, g, o = pre.chunk(4, 1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    return (h if w_hr_t is None else h.matmul(w_hr_t)), c


def _check_cell(name: str, input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor) -> None:
    if input.dim() != 2 or input.shape[1] != w_ih.shape[1]:
        raise RuntimeError(
            f"{name}: input of shape {list(input.shape)} does not fit weight_ih of shape "
            f"{list(w_ih.shape)}: expected (batch, {w_ih.shape[1]})"
        )
    if hx.dim() != 2 or hx.shape[0] != input.shape[0] or hx.shape[1] != w_hh.shape[1]:
        raise RuntimeError(
            f"{name}: hidden state of shape {list(hx.shape)} does not fit input of shape "
            f"{list(input.shape)} and weight_hh of shape {list(w_hh.shape)}: expected "
            f"({input.shape[0]}, {w_hh.shape[1]})"
        )


def _input_gates(input: Tensor, w_ih: Tensor, b_ih: Tensor | None) -> Tensor:
    out = input.matmul(w_ih.t())
    return out if b_ih is None else out + b_ih


def _elman_pre(input, hx, w_ih, w_hh, b_ih, b_hh) -> Tensor:
    """``x W_ih^T + b_ih + h W_hh^T + b_hh`` as two affine maps, as PyTorch composes its Elman
    cells (so under CPU autocast both products, and the cell, run in the low dtype)."""
    return linear(input, w_ih, b_ih) + linear(hx, w_hh, b_hh)


def rnn_tanh_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """One Elman step ``tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` for 2-D ``input`` and ``hx``.

    >>> import ember
    >>> rnn_tanh_cell(ember.ones(2, 3), ember.zeros(2, 4), ember.ones(4, 3), ember.ones(4, 4)).shape
    ember.Size([2, 4])
    """
    _check_cell("rnn_tanh_cell", input, hx, w_ih, w_hh)
    return _elman_pre(input, hx, w_ih, w_hh, b_ih, b_hh).tanh()


def rnn_relu_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """One Elman step ``relu(x W_ih^T + b_ih + h W_hh^T + b_hh)`` for 2-D ``input`` and ``hx``.

    >>> import ember
    >>> rnn_relu_cell(ember.ones(2, 3), ember.zeros(2, 4), ember.ones(4, 3), ember.ones(4, 4)).shape
    ember.Size([2, 4])
    """
    _check_cell("rnn_relu_cell", input, hx, w_ih, w_hh)
    return _elman_pre(input, hx, w_ih, w_hh, b_ih, b_hh).relu()


def lstm_cell(
    input: Tensor,
    hx: Sequence[Tensor],
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One LSTM step (gate order i, f, g, o); ``hx`` is ``(h, c)``; returns ``(h', c')``.

    >>> import ember
    >>> h, c = lstm_cell(ember.ones(2, 3), (ember.zeros(2, 4), ember.zeros(2, 4)),
    ...                  ember.ones(16, 3), ember.ones(16, 4))
    >>> h.shape, c.shape
    (ember.Size([2, 4]), ember.Size([2, 4]))
    """
    h, c = hx
    _check_cell("lstm_cell", input, h, w_ih, w_hh)
    h, c = _step("LSTM", _input_gates(input, w_ih, b_ih), h, c, w_hh.t(), b_hh, None)
    return h, c


def gru_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """One GRU step (gate order r, z, n; ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``).

    >>> import ember
    >>> gru_cell(ember.ones(2, 3), ember.zeros(2, 4), ember.ones(12, 3), ember.ones(12, 4)).shape
    ember.Size([2, 4])
    """
    _check_cell("gru_cell", input, hx, w_ih, w_hh)
    return _step("GRU", _input_gates(input, w_ih, b_ih), hx, None, w_hh.t(), b_hh, None)[0]


# -- the multi-layer recurrence ---------------------------------------------------------------
def _project(mode: str, x: Tensor, w_ih: Tensor, b_ih: Tensor | None, b_hh: Tensor | None):
    """``x @ W_ih^T`` for all steps at once; RNN and LSTM fold ``b_hh`` in here too (GRU cannot:
    its ``b_hn`` sits inside ``r * (...)``). Returns the projection and the per-step bias left."""
    if mode == "GRU":
        bias, step_bias = b_ih, b_hh
    else:
        bias = b_ih if b_hh is None else (b_hh if b_ih is None else b_ih + b_hh)
        step_bias = None
    return linear(x, w_ih, bias), step_bias


def _direction(
    mode: str,
    proj: Tensor,
    batch_sizes: list[int] | None,
    h0: Tensor,
    c0: Tensor | None,
    w_hh: Tensor,
    step_bias: Tensor | None,
    w_hr: Tensor | None,
    reverse: bool,
    fused: bool = True,
):
    """Run one direction of one layer; returns (outputs, h_n, c_n) with outputs like ``proj``.

    ``step_bias`` is the bias still to add at each step (GRU's ``b_hh``). A plain LSTM or GRU
    over a uniform batch takes the fused ``ops.rnn.LSTMLayer`` / ``ops.gru.GRULayer`` unless
    ``fused`` is False (the tests compare the two).
    """
    if fused and batch_sizes is None and mode == "LSTM" and w_hr is None and step_bias is None:
        return _ops.LSTMLayer.apply(proj, h0, c0, w_hh, reverse)
    if fused and batch_sizes is None and mode == "GRU":
        out, h_n = _gru_ops.GRULayer.apply(proj, h0, w_hh, step_bias, reverse)
        return out, h_n, None
    w_hh_t = w_hh.t()
    w_hr_t = None if w_hr is None else w_hr.t()
    steps = proj.unbind(0) if batch_sizes is None else proj.split(batch_sizes, 0)
    sizes = [proj.shape[1]] * len(steps) if batch_sizes is None else batch_sizes
    order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
    outputs: list = [None] * len(steps)
    first = sizes[order[0]]
    h = h0 if first == h0.shape[0] else h0[:first]
    c = None if c0 is None else (c0 if first == c0.shape[0] else c0[:first])
    done_h, done_c = [], []  # (forward, packed) rows whose sequence has ended, last rows first
    for t in order:
        size, current = sizes[t], h.shape[0]
        if size < current:
            done_h.append(h[size:])
            h = h[:size]
            if c is not None:
                done_c.append(c[size:])
                c = c[:size]
        elif size > current:
            h = _fn.cat([h, h0[current:size]])
            if c is not None:
                c = _fn.cat([c, c0[current:size]])
        h, c = _step(mode, steps[t], h, c, w_hh_t, step_bias, w_hr_t)
        outputs[t] = h
    out = _fn.stack(outputs) if batch_sizes is None else _fn.cat(outputs)
    h_n = _fn.cat([h] + done_h[::-1]) if done_h else h
    c_n = None if c is None else (_fn.cat([c] + done_c[::-1]) if done_c else c)
    return out, h_n, c_n


def rnn_layers(
    mode: str,
    input: Tensor,
    batch_sizes: list[int] | None,
    h0: Tensor,
    c0: Tensor | None,
    weights: Sequence[tuple],
    num_layers: int,
    bidirectional: bool,
    dropout: float = 0.0,
    training: bool = False,
):
    """The recurrence of ``nn.RNN/LSTM/GRU`` on time-major input.

    ``input`` is (T, B, I), or packed data (sum(batch_sizes), I) with ``batch_sizes`` a list of
    ints; ``h0``/``c0`` are (num_layers * directions, B, ·); ``weights`` holds one tuple
    ``(w_ih, w_hh, b_ih, b_hh, w_hr)`` per layer and direction (None where absent).
    Returns ``(output, h_n, c_n)``; ``c_n`` is None except for LSTM.

    >>> import ember
    >>> w = (ember.ones(4, 3), ember.ones(4, 4), None, None, None)
    >>> out, h_n, _ = rnn_layers("RNN_TANH", ember.ones(5, 2, 3), None, ember.zeros(1, 2, 4), None,
    ...                          [w], 1, False)
    >>> out.shape, h_n.shape
    (ember.Size([5, 2, 4]), ember.Size([1, 2, 4]))
    """
    if mode not in MODES:
        raise ValueError(f"rnn_layers: unknown mode {mode!r}; expected one of {MODES}")
    if mode == "GRU" and input.dtype == float32 and is_autocast_enabled("cpu"):
        # PyTorch's CPU GRU is on no autocast list and runs its parts outside the region: float32
        with autocast("cpu", enabled=False):
            return rnn_layers(
                mode, input, batch_sizes, h0, c0, weights, num_layers, bidirectional, dropout, training
            )
    directions = 2 if bidirectional else 1
    x, h_all, c_all = input, [], []
    for layer in range(num_layers):
        outs = []
        for d in range(directions):
            index = layer * directions + d
            w_ih, w_hh, b_ih, b_hh, w_hr = weights[index]
            proj, step_bias = _project(mode, x, w_ih, b_ih, b_hh)
            out, h_n, c_n = _direction(
                mode,
                proj,
                batch_sizes,
                h0[index],
                None if c0 is None else c0[index],
                w_hh,
                step_bias,
                w_hr,
                reverse=d == 1,
            )
            outs.append(out)
            h_all.append(h_n)
            c_all.append(c_n)
        x = outs[0] if directions == 1 else _fn.cat(outs, -1)
        if dropout > 0 and training and layer < num_layers - 1:
            from ember.nn._functional.dropout import dropout as _dropout

            x = _dropout(x, dropout, True)
    return x, _fn.stack(h_all), (None if c0 is None else _fn.stack(c_all))
