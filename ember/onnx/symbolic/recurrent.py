"""``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` as ONNX's recurrent operators, one per layer.

PyTorch's gate order differs from ONNX's: LSTM (i, f, g, o) -> (i, o, f, c), GRU (r, z, n) ->
(z, r, h) with ``linear_before_reset=1``, which is PyTorch's GRU.
"""

from __future__ import annotations

import numpy as np

from ember.onnx.registry import symbolic

_GATE_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN_TANH": (0,), "RNN_RELU": (0,)}


def _reorder(array, mode, hidden):
    chunks = [array[i * hidden : (i + 1) * hidden] for i in range(len(_GATE_ORDER[mode]))]
    return np.concatenate([chunks[i] for i in _GATE_ORDER[mode]], axis=0)


def _layer_weights(module, layer, directions):
    mode, hidden = module.mode, module.hidden_size
    ws, rs, bs = [], [], []
    for direction in range(directions):
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        w = getattr(module, "weight_ih" + suffix).detach().cpu().numpy()
        r = getattr(module, "weight_hh" + suffix).detach().cpu().numpy()
        ws.append(_reorder(w, mode, hidden))
        rs.append(_reorder(r, mode, hidden))
        if module.bias:
            b_ih = getattr(module, "bias_ih" + suffix).detach().cpu().numpy()
            b_hh = getattr(module, "bias_hh" + suffix).detach().cpu().numpy()
            bs.append(np.concatenate([_reorder(b_ih, mode, hidden), _reorder(b_hh, mode, hidden)]))
        else:
            bs.append(np.zeros(2 * w.shape[0], w.dtype))
    return np.stack(ws), np.stack(rs), np.stack(bs)


@symbolic("RNN", "LSTM", "GRU")
def _recurrent(g):
    module = g.step.target
    if module.proj_size:
        raise g.error("LSTM with proj_size has no ONNX operator")
    args = g.step.args
    x = args[0]
    if not hasattr(x, "_data"):
        raise g.error("packed sequences cannot be exported; pass a padded tensor")
    if x.ndim != 3:
        raise g.error("an unbatched (2-D) input cannot be exported; add the batch dimension")
    hx = args[1] if len(args) > 1 else None
    mode, hidden = module.mode, module.hidden_size
    directions = 2 if module.bidirectional else 1
    seq = g.arg(0)
    if module.batch_first:
        seq = g.op("Transpose", seq, perm=[1, 0, 2])
    h0 = c0 = None
    if hx is not None:
        h0, c0 = hx if mode == "LSTM" else (hx, None)
        h0 = g.name_of(h0)
        c0 = g.name_of(c0) if c0 is not None else None
    onnx_op = {"LSTM": "LSTM", "GRU": "GRU"}.get(mode, "RNN")
    extra = {}
    if onnx_op == "GRU":
        extra["linear_before_reset"] = 1
    if onnx_op == "RNN":
        act = "Tanh" if mode == "RNN_TANH" else "Relu"
        extra["activations"] = [act] * directions
    direction = "bidirectional" if directions == 2 else "forward"
    h_last, c_last = [], []
    for layer in range(module.num_layers):
        w, r, b = _layer_weights(module, layer, directions)
        inputs = [seq, g.const(w), g.const(r), g.const(b), ""]
        lo, hi = layer * directions, (layer + 1) * directions
        if h0 is not None:
            inputs.append(g.op("Slice", h0, g.i64([lo]), g.i64([hi]), g.i64([0])))
        if c0 is not None:
            inputs.append(g.op("Slice", c0, g.i64([lo]), g.i64([hi]), g.i64([0])))
        outputs = 3 if onnx_op == "LSTM" else 2
        result = g.op(onnx_op, *inputs, outputs=outputs, hidden_size=hidden, direction=direction, **extra)
        y = result[0]
        h_last.append(result[1])
        if onnx_op == "LSTM":
            c_last.append(result[2])
        # Y is (seq, directions, batch, hidden): to (seq, batch, directions * hidden)
        seq = g.op("Reshape", g.op("Transpose", y, perm=[0, 2, 1, 3]), g.i64([0, 0, -1]))
    output = g.op("Transpose", seq, perm=[1, 0, 2]) if module.batch_first else seq
    h_n = h_last[0] if len(h_last) == 1 else g.op("Concat", *h_last, axis=0)
    if onnx_op == "LSTM":
        c_n = c_last[0] if len(c_last) == 1 else g.op("Concat", *c_last, axis=0)
        return output, h_n, c_n
    return output, h_n
