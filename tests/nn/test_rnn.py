"""RNN / LSTM / GRU, their cells and nn.utils.rnn against PyTorch (same weights via state_dict)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd.numerical import gradcheck, gradgradcheck
from ember.nn._functional import rnn as F_rnn
from ember.nn.utils import rnn as rnn_utils
from tests.helpers import torch_or_skip


def _pair(torch, name: str, *args, **kwargs):
    """The same layer in both libraries, float64, ember loaded from torch's state_dict."""
    t_mod = getattr(torch.nn, name)(*args, **kwargs).double()
    e_mod = getattr(nn, name)(*args, **kwargs).double()
    t_keys = list(t_mod.state_dict())
    assert list(e_mod.state_dict()) == t_keys
    e_mod.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_mod.state_dict().items()})
    return e_mod, t_mod


def _leaf(torch, array):
    return ember.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def _close(e, t, tol=1e-9):
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol)


def _flatten(out):
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _flatten(o)]
    if hasattr(out, "data") and hasattr(out, "batch_sizes"):
        return [out.data]
    return [out] if out is not None else []


def _check_grads(e_mod, t_mod, e_outs, t_outs, e_inputs, t_inputs):
    e_outs, t_outs = _flatten(e_outs), _flatten(t_outs)
    assert len(e_outs) == len(t_outs)
    weights = np.random.default_rng(1)
    e_loss, t_loss = 0, 0
    for e, t in zip(e_outs, t_outs):
        _close(e, t)
        w = weights.standard_normal(tuple(t.shape))
        e_loss = e_loss + (e * ember.tensor(w)).sum()
        t_loss = t_loss + (t * torch_tensor(t, w)).sum()
    e_loss.backward()
    t_loss.backward()
    for (_name, e_p), (_, t_p) in zip(e_mod.named_parameters(), t_mod.named_parameters()):
        _close(e_p.grad, t_p.grad)
    for e, t in zip(e_inputs, t_inputs):
        _close(e.grad, t.grad)


def torch_tensor(like, array):
    import torch

    return torch.tensor(array, dtype=like.dtype)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize(
    "num_layers,bidirectional,batch_first",
    [(1, False, False), (2, False, True), (1, True, False), (2, True, True)],
)
def test_sequence_layers_match_torch(name, num_layers, bidirectional, batch_first):
    torch = torch_or_skip()
    e_mod, t_mod = _pair(
        torch, name, 3, 5, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first
    )
    x = np.random.randn(*((2, 4, 3) if batch_first else (4, 2, 3)))
    directions = 2 if bidirectional else 1
    h0 = np.random.randn(num_layers * directions, 2, 5)
    ex, tx = _leaf(torch, x)
    eh, th = _leaf(torch, h0)
    if name == "LSTM":
        ec, tc = _leaf(torch, np.random.randn(num_layers * directions, 2, 5))
        e_out, t_out = e_mod(ex, (eh, ec)), t_mod(tx, (th, tc))
        _check_grads(e_mod, t_mod, e_out, t_out, [ex, eh, ec], [tx, th, tc])
    else:
        e_out, t_out = e_mod(ex, eh), t_mod(tx, th)
        _check_grads(e_mod, t_mod, e_out, t_out, [ex, eh], [tx, th])


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_proj_size_matches_torch(bidirectional):
    torch = torch_or_skip()
    e_mod, t_mod = _pair(torch, "LSTM", 3, 6, num_layers=2, proj_size=2, bidirectional=bidirectional)
    ex, tx = _leaf(torch, np.random.randn(5, 2, 3))
    _check_grads(e_mod, t_mod, e_mod(ex), t_mod(tx), [ex], [tx])


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_unbatched_and_no_bias_match_torch(name):
    torch = torch_or_skip()
    e_mod, t_mod = _pair(torch, name, 3, 4, bias=False, bidirectional=True)
    ex, tx = _leaf(torch, np.random.randn(6, 3))
    e_out, t_out = e_mod(ex), t_mod(tx)
    assert tuple(e_out[0].shape) == (6, 8)
    _check_grads(e_mod, t_mod, e_out, t_out, [ex], [tx])


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_sequences_match_torch(name, enforce_sorted):
    torch = torch_or_skip()
    e_mod, t_mod = _pair(torch, name, 3, 4, num_layers=2, bidirectional=True)
    lengths = [5, 3, 2] if enforce_sorted else [2, 5, 3]
    x = np.random.randn(5, 3, 3)
    ex, tx = _leaf(torch, x)
    e_packed = rnn_utils.pack_padded_sequence(ex, lengths, enforce_sorted=enforce_sorted)
    t_packed = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, enforce_sorted=enforce_sorted)
    e_out, e_state = e_mod(e_packed)
    t_out, t_state = t_mod(t_packed)
    e_pad, e_len = rnn_utils.pad_packed_sequence(e_out)
    t_pad, t_len = torch.nn.utils.rnn.pad_packed_sequence(t_out)
    assert e_len.tolist() == t_len.tolist()
    _check_grads(e_mod, t_mod, (e_pad, e_state), (t_pad, t_state), [ex], [tx])


def test_packed_lstm_with_initial_state_matches_torch():
    torch = torch_or_skip()
    e_mod, t_mod = _pair(torch, "LSTM", 2, 3)
    seqs = [np.random.randn(n, 2) for n in (2, 4, 3)]
    e_seqs = [ember.tensor(s) for s in seqs]
    t_seqs = [torch.tensor(s) for s in seqs]
    eh, th = _leaf(torch, np.random.randn(1, 3, 3))
    ec, tc = _leaf(torch, np.random.randn(1, 3, 3))
    e_out = e_mod(rnn_utils.pack_sequence(e_seqs, enforce_sorted=False), (eh, ec))
    t_out = t_mod(torch.nn.utils.rnn.pack_sequence(t_seqs, enforce_sorted=False), (th, tc))
    _check_grads(e_mod, t_mod, e_out, t_out, [eh, ec], [th, tc])


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("RNNCell", {}),
        ("RNNCell", {"nonlinearity": "relu"}),
        ("LSTMCell", {}),
        ("GRUCell", {}),
        ("GRUCell", {"bias": False}),
    ],
)
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(name, kwargs, batched):
    torch = torch_or_skip()
    e_mod, t_mod = _pair(torch, name, 3, 4, **kwargs)
    ex, tx = _leaf(torch, np.random.randn(*((2, 3) if batched else (3,))))
    eh, th = _leaf(torch, np.random.randn(*((2, 4) if batched else (4,))))
    if name == "LSTMCell":
        ec, tc = _leaf(torch, np.random.randn(*((2, 4) if batched else (4,))))
        _check_grads(e_mod, t_mod, e_mod(ex, (eh, ec)), t_mod(tx, (th, tc)), [ex, eh, ec], [tx, th, tc])
    else:
        _check_grads(e_mod, t_mod, e_mod(ex, eh), t_mod(tx, th), [ex, eh], [tx, th])


def test_reprs_and_defaults_match_torch():
    torch = torch_or_skip()
    cases = [
        ("LSTM", (3, 4), {"num_layers": 2, "proj_size": 2, "bidirectional": True, "batch_first": True}),
        ("RNN", (3, 4), {"nonlinearity": "relu", "bias": False}),
        ("GRU", (3, 4), {"dropout": 0.5, "num_layers": 2}),
        ("GRUCell", (3, 4), {"bias": False}),
        ("RNNCell", (3, 4), {"nonlinearity": "relu"}),
        ("LSTMCell", (3, 4), {}),
    ]
    for name, args, kwargs in cases:
        assert repr(getattr(nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))
    bound = 1 / np.sqrt(4)
    for p in nn.LSTM(3, 4).parameters():
        assert np.abs(p.detach().numpy()).max() <= bound


def test_fused_lstm_layer_matches_composite():
    rng = np.random.default_rng(0)
    for reverse in (False, True):
        arrays = [rng.standard_normal(s) for s in [(5, 3, 16), (3, 4), (3, 4), (16, 4)]]
        results = []
        for fused in (True, False):
            inputs = [ember.tensor(a, requires_grad=True) for a in arrays]
            out, h, c = F_rnn._direction(
                "LSTM", inputs[0], None, inputs[1], inputs[2], inputs[3], None, None, reverse, fused=fused
            )
            loss = (out * out.detach().cos()).sum() + (2 * h).sum() + (3 * c).sum()
            loss.backward()
            results.append([out, h, c] + [t.grad for t in inputs])
        for a, b in zip(*results):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_fused_lstm_layer_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(0)
    shapes = [(3, 2, 8), (2, 2), (2, 2), (8, 2)]
    inputs = tuple(ember.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes)

    def layer(gates, h0, c0, w_hh):
        return F_rnn._direction("LSTM", gates, None, h0, c0, w_hh, None, None, True)

    assert gradcheck(layer, inputs)
    assert gradgradcheck(layer, inputs)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("reverse", [False, True])
def test_fused_gru_layer_matches_composite(reverse, bias):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in [(5, 3, 12), (3, 4), (12, 4), (12,)]]
    results = []
    for fused in (True, False):
        inputs = [ember.tensor(a, requires_grad=True) for a in arrays]
        b_hh = inputs[3] if bias else None
        out, h, _ = F_rnn._direction(
            "GRU", inputs[0], None, inputs[1], None, inputs[2], b_hh, None, reverse, fused
        )
        assert (type(out.grad_fn).__name__ == "GRULayerBackward0") == fused
        loss = (out * out.detach().cos()).sum() + (2 * h).sum()
        loss.backward()
        results.append([out, h] + [t.grad for t in inputs[: 3 + bias]])
    for a, b in zip(*results):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_fused_gru_layer_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(0)
    shapes = [(3, 2, 6), (2, 2), (6, 2), (6,)]
    inputs = tuple(ember.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes)

    def layer(gates, h0, w_hh, b_hh):
        return F_rnn._direction("GRU", gates, None, h0, None, w_hh, b_hh, None, True)[:2]

    assert gradcheck(layer, inputs)
    assert gradgradcheck(layer, inputs)


@pytest.mark.parametrize("cell", ["lstm_cell", "gru_cell", "rnn_tanh_cell"])
def test_cell_gradcheck(cell):
    rng = np.random.default_rng(0)
    gates = {"lstm_cell": 4, "gru_cell": 3, "rnn_tanh_cell": 1}[cell] * 3
    x, h, c = (ember.tensor(rng.standard_normal(s), requires_grad=True) for s in [(2, 2), (2, 3), (2, 3)])
    w_ih, w_hh, b_ih, b_hh = (
        ember.tensor(rng.standard_normal(s), requires_grad=True)
        for s in [(gates, 2), (gates, 3), (gates,), (gates,)]
    )
    fn = getattr(nn.functional, cell)
    if cell == "lstm_cell":
        assert gradcheck(lambda *a: fn(a[0], (a[1], a[2]), *a[3:]), (x, h, c, w_ih, w_hh, b_ih, b_hh))
    else:
        assert gradcheck(fn, (x, h, w_ih, w_hh, b_ih, b_hh))


def test_dropout_between_layers_only_in_training():
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = ember.randn(5, 2, 3)
    lstm.eval()
    a, b = lstm(x)[0], lstm(x)[0]
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_errors_name_the_layer_and_shapes():
    lstm = nn.LSTM(3, 4)
    with pytest.raises(
        RuntimeError, match=r"LSTM: input.size\(-1\) must be equal to input_size. Expected 3, got 5"
    ):
        lstm(ember.zeros(2, 1, 5))
    with pytest.raises(RuntimeError, match=r"LSTM: Expected hidden\[0\] size \(1, 2, 4\), got \[1, 3, 4\]"):
        lstm(ember.zeros(6, 2, 3), (ember.zeros(1, 3, 4), ember.zeros(1, 3, 4)))
    with pytest.raises(ValueError, match="proj_size"):
        nn.RNNBase("GRU", 3, 4, proj_size=2)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        rnn_utils.pack_padded_sequence(ember.zeros(3, 2, 1), [1, 3])


def test_utils_rnn_match_torch():
    torch = torch_or_skip()
    seqs = [np.random.randn(n, 3) for n in (2, 5, 3)]
    e_seqs, t_seqs = zip(*(_leaf(torch, s) for s in seqs))
    for batch_first in (False, True):
        for side in ("right", "left"):
            _close(
                rnn_utils.pad_sequence(e_seqs, batch_first, -1.0, side),
                torch.nn.utils.rnn.pad_sequence(t_seqs, batch_first, -1.0, side),
            )
        e_packed = rnn_utils.pack_padded_sequence(
            rnn_utils.pad_sequence(e_seqs, batch_first), [2, 5, 3], batch_first, enforce_sorted=False
        )
        t_packed = torch.nn.utils.rnn.pack_padded_sequence(
            torch.nn.utils.rnn.pad_sequence(t_seqs, batch_first), [2, 5, 3], batch_first, enforce_sorted=False
        )
        for e, t in zip(e_packed, t_packed):
            _close(e, t)
        e_pad, e_len = rnn_utils.pad_packed_sequence(e_packed, batch_first, 7.0, total_length=6)
        t_pad, t_len = torch.nn.utils.rnn.pad_packed_sequence(t_packed, batch_first, 7.0, total_length=6)
        _close(e_pad, t_pad)
        assert e_len.tolist() == t_len.tolist()
        (e_pad * e_pad).sum().backward()
        (t_pad * t_pad).sum().backward()
        for e, t in zip(e_seqs, t_seqs):
            _close(e.grad, t.grad)
            e.grad, t.grad = None, None
    unpacked = rnn_utils.unpack_sequence(rnn_utils.pack_sequence(list(e_seqs), enforce_sorted=False))
    for e, s in zip(unpacked, seqs):
        np.testing.assert_array_equal(e.detach().numpy(), s)


def test_lstm_learns_a_toy_sequence_task():
    """Predict the running parity of a bit stream: the loss must fall well below chance."""
    ember.manual_seed(0)
    rng = np.random.default_rng(0)
    lstm, head = nn.LSTM(1, 16, batch_first=True), nn.Linear(16, 1)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = ember.optim.Adam(params, lr=0.03)
    bits = rng.integers(0, 2, (32, 6)).astype(np.float32)
    x = ember.tensor(bits[..., None])
    y = ember.tensor((np.cumsum(bits, 1) % 2)[..., None])
    losses = []
    for _ in range(60):
        out, _ = lstm(x)
        logits = head(out)
        p = logits.sigmoid().clamp(1e-6, 1 - 1e-6)
        loss = -(y * p.log() + (1 - y) * (1 - p).log()).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_rnn_argument_checks_match_torch():
    torch = torch_or_skip()
    for lib in (ember, torch):
        lstm = lib.nn.LSTM(3, 4, num_layers=2, batch_first=True, proj_size=2)
        x = lib.ones(5, 7, 3)
        lstm.check_forward_args(x, (lib.zeros(2, 5, 2), lib.zeros(2, 5, 4)), None)
        assert tuple(lstm.get_expected_hidden_size(x, None)) == (2, 5, 2)
        assert tuple(lstm.get_expected_cell_size(x, None)) == (2, 5, 4)
        with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(2, 5, 2\)"):
            lstm.check_forward_args(x, (lib.zeros(2, 5, 4), lib.zeros(2, 5, 4)), None)
        gru = lib.nn.GRU(3, 4)
        with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 5, 4\), got \[1, 4, 4\]"):
            gru.check_forward_args(lib.ones(7, 5, 3), lib.zeros(1, 4, 4), None)
        with pytest.raises(RuntimeError, match="input_size"):
            gru.check_input(lib.ones(7, 5, 2), None)
        permuted = gru.permute_hidden(lib.arange(6.0).reshape(1, 3, 2), lib.tensor([2, 0, 1]))
        assert permuted.tolist() == [[[4.0, 5.0], [0.0, 1.0], [2.0, 3.0]]]
