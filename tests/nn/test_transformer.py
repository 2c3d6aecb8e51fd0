"""Transformer encoder/decoder layers, stacks and the full Transformer against PyTorch in eval mode."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from tests.helpers import torch_or_skip


def _pair(torch, name: str, *args, **kwargs):
    t_mod = getattr(torch.nn, name)(*args, **kwargs).double().eval()
    e_mod = getattr(nn, name)(*args, **kwargs).double().eval()
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    e_mod.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_mod.state_dict().items()})
    return e_mod, t_mod


def _close(e, t, tol=1e-8):
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol)


def _check(torch, e_mod, t_mod, arrays, **masks):
    e_in = [ember.tensor(a, requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    e_masks = {k: ember.tensor(v) for k, v in masks.items()}
    t_masks = {k: torch.tensor(v) for k, v in masks.items()}
    e_out, t_out = e_mod(*e_in, **e_masks), t_mod(*t_in, **t_masks)
    _close(e_out, t_out)
    w = np.random.default_rng(5).standard_normal(tuple(t_out.shape))
    (e_out * ember.tensor(w)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()
    for e, t in zip(e_in, t_in):
        _close(e.grad, t.grad)
    for (_name, e_p), (_, t_p) in zip(e_mod.named_parameters(), t_mod.named_parameters()):
        _close(e_p.grad, t_p.grad)


def _masks(rng, length, source, batch):
    kpm = np.zeros((batch, source), bool)
    kpm[0, -1] = True
    causal = np.triu(np.ones((length, source), bool), 1)
    return kpm, causal


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("float_mask", [False, True])
def test_encoder_layer_matches_torch(norm_first, activation, float_mask):
    torch = torch_or_skip()
    e_mod, t_mod = _pair(torch, "TransformerEncoderLayer", 8, 2, 16, 0.1, activation, norm_first=norm_first)
    rng = np.random.default_rng(0)
    kpm, causal = _masks(rng, 5, 5, 3)
    mask = np.where(causal, -np.inf, 0.0) if float_mask else causal
    _check(torch, e_mod, t_mod, [rng.standard_normal((5, 3, 8))], src_mask=mask, src_key_padding_mask=kpm)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer_matches_torch(norm_first, batch_first):
    torch = torch_or_skip()
    e_mod, t_mod = _pair(
        torch,
        "TransformerDecoderLayer",
        8,
        2,
        16,
        0.0,
        "gelu",
        norm_first=norm_first,
        batch_first=batch_first,
    )
    rng = np.random.default_rng(1)
    kpm, causal = _masks(rng, 4, 4, 2)
    mem_kpm = np.zeros((2, 6), bool)
    mem_kpm[1, 4:] = True
    shapes = [(2, 4, 8), (2, 6, 8)] if batch_first else [(4, 2, 8), (6, 2, 8)]
    _check(
        torch,
        e_mod,
        t_mod,
        [rng.standard_normal(s) for s in shapes],
        tgt_mask=causal,
        tgt_key_padding_mask=kpm,
        memory_key_padding_mask=mem_kpm,
    )


def test_encoder_and_decoder_stacks_match_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(2)
    t_enc = (
        torch.nn.TransformerEncoder(
            torch.nn.TransformerEncoderLayer(8, 2, 16),
            2,
            norm=torch.nn.LayerNorm(8),
            enable_nested_tensor=False,
        )
        .double()
        .eval()
    )
    e_enc = (
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2, norm=nn.LayerNorm(8)).double().eval()
    )
    assert list(e_enc.state_dict()) == list(t_enc.state_dict())
    e_enc.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_enc.state_dict().items()})
    _check(torch, e_enc, t_enc, [rng.standard_normal((5, 2, 8))], mask=np.triu(np.full((5, 5), -np.inf), 1))
    t_dec = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(8, 2, 16), 2).double().eval()
    e_dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 2).double().eval()
    e_dec.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_dec.state_dict().items()})
    _check(torch, e_dec, t_dec, [rng.standard_normal((3, 2, 8)), rng.standard_normal((5, 2, 8))])


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_torch(norm_first):
    torch = torch_or_skip()
    kwargs = {
        "d_model": 8,
        "nhead": 2,
        "num_encoder_layers": 2,
        "num_decoder_layers": 1,
        "dim_feedforward": 16,
        "batch_first": True,
        "norm_first": norm_first,
    }
    e_mod, t_mod = _pair(torch, "Transformer", **kwargs)
    rng = np.random.default_rng(3)
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(4).numpy()
    np.testing.assert_array_equal(tgt_mask, torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())
    src_kpm = np.zeros((2, 5), bool)
    src_kpm[1, 3:] = True
    _check(
        torch,
        e_mod,
        t_mod,
        [rng.standard_normal((2, 5, 8)), rng.standard_normal((2, 4, 8))],
        tgt_mask=tgt_mask,
        src_key_padding_mask=src_kpm,
        memory_key_padding_mask=src_kpm,
    )


def test_custom_activation_and_reprs():
    torch = torch_or_skip()
    layer = nn.TransformerEncoderLayer(8, 2, 16, activation=nn.GELU())
    assert "(activation): GELU" in repr(layer)
    assert repr(nn.TransformerEncoderLayer(8, 2, 16)) == repr(torch.nn.TransformerEncoderLayer(8, 2, 16))
    assert repr(nn.TransformerDecoderLayer(8, 2, 16)) == repr(torch.nn.TransformerDecoderLayer(8, 2, 16))
    out = layer(ember.randn(3, 2, 8))
    assert tuple(out.shape) == (3, 2, 8)
    with pytest.raises(RuntimeError, match="d_model"):
        nn.Transformer(8, 2, 1, 1, 16)(ember.randn(5, 2, 8), ember.randn(4, 2, 6))


def test_dropout_is_active_in_training_only():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = ember.randn(4, 2, 8)
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())
    layer.train()
    assert not np.allclose(layer(x).detach().numpy(), layer(x).detach().numpy())
