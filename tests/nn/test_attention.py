"""F.scaled_dot_product_attention and nn.MultiheadAttention against PyTorch, plus gradchecks."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd.numerical import gradcheck
from tests.helpers import torch_or_skip


def _close(e, t, tol=1e-9):
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol)


def _leaves(torch, *arrays):
    return [ember.tensor(a, requires_grad=True) for a in arrays], [
        torch.tensor(a, requires_grad=True) for a in arrays
    ]


def _backward_both(torch, e_out, t_out):
    w = np.random.default_rng(3).standard_normal(tuple(t_out.shape))
    (e_out * ember.tensor(w)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()


@pytest.mark.parametrize("mask_kind", [None, "bool", "float", "causal"])
@pytest.mark.parametrize("scale", [None, 0.3])
def test_sdpa_matches_torch(mask_kind, scale):
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    q, k, v = (
        rng.standard_normal((2, 3, 4, 5)),
        rng.standard_normal((2, 3, 6, 5)),
        rng.standard_normal((2, 3, 6, 7)),
    )
    (eq, ek, ev), (tq, tk, tv) = _leaves(torch, q, k, v)
    kwargs_e, kwargs_t = {"scale": scale}, {"scale": scale}
    if mask_kind == "bool":
        mask = rng.random((4, 6)) > 0.3
        mask[:, 0] = True  # every query sees at least one key
        kwargs_e["attn_mask"], kwargs_t["attn_mask"] = ember.tensor(mask), torch.tensor(mask)
    elif mask_kind == "float":
        mask = rng.standard_normal((2, 1, 4, 6))
        kwargs_e["attn_mask"], kwargs_t["attn_mask"] = ember.tensor(mask), torch.tensor(mask)
    elif mask_kind == "causal":
        kwargs_e["is_causal"] = kwargs_t["is_causal"] = True
    e_out = nn.functional.scaled_dot_product_attention(eq, ek, ev, **kwargs_e)
    t_out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **kwargs_t)
    _close(e_out, t_out)
    _backward_both(torch, e_out, t_out)
    for e, t in zip((eq, ek, ev), (tq, tk, tv)):
        _close(e.grad, t.grad)


def test_sdpa_gqa_and_fully_masked_rows_match_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(1)
    q, k, v = (
        rng.standard_normal((1, 4, 3, 2)),
        rng.standard_normal((1, 2, 5, 2)),
        rng.standard_normal((1, 2, 5, 2)),
    )
    e_out = nn.functional.scaled_dot_product_attention(*map(ember.tensor, (q, k, v)), enable_gqa=True)
    t_out = torch.nn.functional.scaled_dot_product_attention(*map(torch.tensor, (q, k, v)), enable_gqa=True)
    _close(e_out, t_out)
    mask = np.ones((3, 5), bool)
    mask[1] = False
    e_out = nn.functional.scaled_dot_product_attention(
        *map(ember.tensor, (q, q, q)), attn_mask=ember.tensor(mask[:, :3])
    )
    assert np.isfinite(e_out.detach().numpy()).all()
    assert np.all(e_out.detach().numpy()[:, :, 1] == 0)


def test_sdpa_gradcheck():
    rng = np.random.default_rng(0)
    inputs = tuple(
        ember.tensor(rng.standard_normal(s), requires_grad=True) for s in [(2, 3, 2), (2, 4, 2), (2, 4, 3)]
    )
    mask = ember.tensor(rng.standard_normal((3, 4)))
    assert gradcheck(
        lambda q, k, v: nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask), inputs
    )
    assert gradcheck(
        lambda q, k, v: nn.functional.scaled_dot_product_attention(q, k[:, :3], v[:, :3], is_causal=True),
        inputs,
    )


def _mha_pair(torch, *args, **kwargs):
    t_mod = torch.nn.MultiheadAttention(*args, **kwargs).double().eval()
    e_mod = nn.MultiheadAttention(*args, **kwargs).double().eval()
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    e_mod.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_mod.state_dict().items()})
    return e_mod, t_mod


def _run_mha(torch, e_mod, t_mod, shapes, **kwargs):
    rng = np.random.default_rng(2)
    (eq, ek, ev), (tq, tk, tv) = _leaves(torch, *(rng.standard_normal(s) for s in shapes))
    e_kwargs = {k: (ember.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    t_kwargs = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    e_out, e_w = e_mod(eq, ek, ev, **e_kwargs)
    t_out, t_w = t_mod(tq, tk, tv, **t_kwargs)
    _close(e_out, t_out)
    if t_w is None:
        assert e_w is None
    else:
        _close(e_w, t_w)
    _backward_both(torch, e_out, t_out)
    for e, t in zip((eq, ek, ev), (tq, tk, tv)):
        _close(e.grad, t.grad)
    for (_name, e_p), (_, t_p) in zip(e_mod.named_parameters(), t_mod.named_parameters()):
        _close(e_p.grad, t_p.grad)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_mha_matches_torch(batch_first, need_weights, average):
    torch = torch_or_skip()
    e_mod, t_mod = _mha_pair(torch, 8, 2, batch_first=batch_first)
    shapes = [(2, 4, 8), (2, 5, 8), (2, 5, 8)] if batch_first else [(4, 2, 8), (5, 2, 8), (5, 2, 8)]
    _run_mha(torch, e_mod, t_mod, shapes, need_weights=need_weights, average_attn_weights=average)


@pytest.mark.parametrize(
    "mask", ["key_padding_bool", "key_padding_float", "attn_bool", "attn_float", "attn_3d", "both", "causal"]
)
def test_mha_masks_match_torch(mask):
    torch = torch_or_skip()
    e_mod, t_mod = _mha_pair(torch, 6, 3)
    rng = np.random.default_rng(4)
    kpm = np.zeros((2, 5), bool)
    kpm[0, 3:] = True
    kwargs = {}
    if mask in ("key_padding_bool", "both"):
        kwargs["key_padding_mask"] = kpm
    if mask == "key_padding_float":
        kwargs["key_padding_mask"] = rng.standard_normal((2, 5))
    if mask in ("attn_bool", "both"):
        attn = rng.random((4, 5)) > 0.6
        attn[:, 0] = False
        kwargs["attn_mask"] = attn
    if mask == "attn_float":
        kwargs["attn_mask"] = rng.standard_normal((4, 5))
    if mask == "attn_3d":
        kwargs["attn_mask"] = rng.standard_normal((6, 4, 5))
    if mask == "causal":
        kwargs["attn_mask"] = np.triu(np.ones((4, 5), bool), 1)
        kwargs["is_causal"] = True
        kwargs["need_weights"] = False
    _run_mha(torch, e_mod, t_mod, [(4, 2, 6), (5, 2, 6), (5, 2, 6)], **kwargs)


@pytest.mark.parametrize(
    "kwargs", [{"kdim": 3, "vdim": 5}, {"bias": False}, {"add_bias_kv": True}, {"add_zero_attn": True}]
)
def test_mha_options_match_torch(kwargs):
    torch = torch_or_skip()
    e_mod, t_mod = _mha_pair(torch, 4, 2, **kwargs)
    shapes = [(3, 2, 4), (5, 2, kwargs.get("kdim", 4)), (5, 2, kwargs.get("vdim", 4))]
    kpm = np.zeros((2, 5), bool)
    kpm[1, 4] = True
    _run_mha(torch, e_mod, t_mod, shapes, key_padding_mask=kpm)


def test_mha_unbatched_matches_torch():
    torch = torch_or_skip()
    e_mod, t_mod = _mha_pair(torch, 4, 2)
    _run_mha(torch, e_mod, t_mod, [(3, 4), (5, 4), (5, 4)], key_padding_mask=np.array([False] * 4 + [True]))


def test_mha_repr_and_init():
    torch = torch_or_skip()
    assert repr(nn.MultiheadAttention(8, 2)) == repr(torch.nn.MultiheadAttention(8, 2))
    mha = nn.MultiheadAttention(8, 2, kdim=3, vdim=5)
    assert mha.in_proj_weight is None and tuple(mha.k_proj_weight.shape) == (8, 3)
    assert np.all(nn.MultiheadAttention(8, 2).in_proj_bias.detach().numpy() == 0)
    with pytest.raises(AssertionError, match="divisible"):
        nn.MultiheadAttention(7, 2)


def test_mha_gradcheck():
    ember.set_default_dtype(ember.float64)
    mha = nn.MultiheadAttention(4, 2)
    rng = np.random.default_rng(0)
    q, kv = (ember.tensor(rng.standard_normal(s), requires_grad=True) for s in [(2, 1, 4), (3, 1, 4)])
    mask = ember.tensor([[False, False, True], [False, True, False]])
    assert gradcheck(lambda a, b: mha(a, b, b, attn_mask=mask)[0], (q, kv))


def _switches(lib):
    cuda = lib.backends.cuda
    return (cuda.flash_sdp_enabled(), cuda.mem_efficient_sdp_enabled(), cuda.math_sdp_enabled())


def _sdpa_kernel_states(lib):
    from importlib import import_module

    attention = import_module(f"{lib.__name__}.nn.attention")
    states = [_switches(lib)]
    with attention.sdpa_kernel(attention.SDPBackend.MATH):
        states.append(_switches(lib))
    with attention.sdpa_kernel(
        [attention.SDPBackend.FLASH_ATTENTION, attention.SDPBackend.EFFICIENT_ATTENTION]
    ):
        states.append(_switches(lib))
        q = lib.ones(1, 2, 3, 4)
        states.append(tuple(lib.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True).shape))
    states.append(_switches(lib))
    states.append([(name, int(b)) for name, b in attention.SDPBackend.__members__.items()])
    return states


def test_sdpa_kernel_sets_and_restores_the_switches():
    states = _sdpa_kernel_states(ember)
    assert states[0] == states[4] == (True, True, True)
    assert states[1] == (False, False, True)
    assert states[2] == (True, True, False)
    with pytest.raises(AssertionError, match="Backend must be an instance of SDPBackend"):
        with ember.nn.attention.sdpa_kernel("math"):
            pass


def test_sdpa_kernel_matches_pytorch():
    torch = torch_or_skip()
    assert _sdpa_kernel_states(ember) == _sdpa_kernel_states(torch)
