"""Normalization layers against PyTorch (outputs, gradients, running statistics, state_dict keys),
finite differences, and the fused ``Normalize`` primitive against its composite form."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd.numerical import gradcheck, gradgradcheck
from ember.nn import functional as F
from ember.ops.norm import Normalize, standardize
from tests.helpers import torch_or_skip


def _load(e_module, t_module):
    e_module.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t_module.state_dict().items()})


def _randomize_affine(t_module, torch):
    with torch.no_grad():
        for p in t_module.parameters():
            p.copy_(torch.randn(p.shape))


def _check_step(e_module, t_module, x, torch, rtol=1e-4, atol=1e-5):
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    t_out, e_out = t_module(tx), e_module(ex)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=rtol, atol=atol)
    g = np.random.randn(*t_out.shape).astype(np.float32)
    t_out.backward(torch.tensor(g))
    e_out.backward(ember.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=atol)
    for (name, ep), (_, tp) in zip(e_module.named_parameters(), t_module.named_parameters()):
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)
    for (name, eb), (_, tb) in zip(e_module.named_buffers(), t_module.named_buffers()):
        np.testing.assert_allclose(eb.numpy(), tb.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


LAYERS = [
    ("BatchNorm1d", (3,), {}, (5, 3)),
    ("BatchNorm1d", (3,), {"affine": False}, (4, 3, 6)),
    ("BatchNorm2d", (4,), {}, (3, 4, 5, 5)),
    ("BatchNorm2d", (4,), {"momentum": None}, (3, 4, 2, 3)),
    ("BatchNorm2d", (4,), {"track_running_stats": False}, (3, 4, 2, 3)),
    ("BatchNorm3d", (2,), {}, (2, 2, 3, 3, 2)),
    ("InstanceNorm1d", (3,), {}, (2, 3, 7)),
    ("InstanceNorm1d", (3,), {"affine": True}, (3, 7)),
    ("InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True}, (2, 3, 4, 4)),
    ("InstanceNorm3d", (2,), {}, (2, 2, 3, 3, 3)),
    ("LayerNorm", (6,), {}, (4, 6)),
    ("LayerNorm", ((3, 4),), {}, (2, 5, 3, 4)),
    ("LayerNorm", (6,), {"bias": False}, (4, 6)),
    ("LayerNorm", (6,), {"elementwise_affine": False}, (4, 6)),
    ("GroupNorm", (2, 6), {}, (3, 6, 4)),
    ("GroupNorm", (3, 6), {"affine": False}, (2, 6, 2, 2)),
    ("GroupNorm", (1, 4), {}, (2, 4)),
    ("RMSNorm", (6,), {}, (4, 6)),
    ("RMSNorm", ((2, 3),), {"eps": 1e-3}, (4, 2, 3)),
    ("LocalResponseNorm", (3,), {}, (2, 5, 4)),
    ("LocalResponseNorm", (2,), {"k": 2.0}, (2, 6, 3, 3)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", LAYERS, ids=[f"{n}{a}{k}{s}" for n, a, k, s in LAYERS])
def test_layer_matches_torch_in_train_and_eval(name, args, kwargs, shape):
    torch = torch_or_skip()
    t_layer, e_layer = getattr(torch.nn, name)(*args, **kwargs), getattr(nn, name)(*args, **kwargs)
    assert repr(e_layer) == repr(t_layer)
    assert list(e_layer.state_dict()) == list(t_layer.state_dict())
    _randomize_affine(t_layer, torch)
    _load(e_layer, t_layer)
    for _ in range(3):
        x = (np.random.randn(*shape) * 2 + 0.5).astype(np.float32)
        e_layer.zero_grad()
        t_layer.zero_grad()
        _check_step(e_layer, t_layer, x, torch)
    e_layer.eval()
    t_layer.eval()
    _check_step(e_layer, t_layer, (np.random.randn(*shape)).astype(np.float32), torch)


@pytest.mark.parametrize("momentum", [0.1, None, 0.5])
def test_batchnorm_running_stats_after_several_steps(momentum):
    torch = torch_or_skip()
    t_bn, e_bn = torch.nn.BatchNorm2d(3, momentum=momentum), nn.BatchNorm2d(3, momentum=momentum)
    for _ in range(5):
        x = (np.random.randn(4, 3, 2, 2) * 3 + 1).astype(np.float32)
        t_bn(torch.tensor(x))
        e_bn(ember.tensor(x))
    for key, value in t_bn.state_dict().items():
        np.testing.assert_allclose(e_bn.state_dict()[key].numpy(), value.numpy(), rtol=1e-5, err_msg=key)
    assert e_bn.num_batches_tracked.dtype == ember.int64 and e_bn.num_batches_tracked.item() == 5


def test_batchnorm_eval_uses_running_stats_and_does_not_update_them():
    bn = nn.BatchNorm1d(2)
    bn.running_mean.copy_(ember.tensor([1.0, -1.0]))
    bn.running_var.copy_(ember.tensor([4.0, 9.0]))
    bn.eval()
    out = bn(ember.tensor([[3.0, 2.0]]))
    np.testing.assert_allclose(
        out.detach().numpy(), [[2.0 / np.sqrt(4 + 1e-5), 3.0 / np.sqrt(9 + 1e-5)]], rtol=1e-6
    )
    assert bn.num_batches_tracked.item() == 0
    np.testing.assert_allclose(bn.running_mean.numpy(), [1.0, -1.0])


def _norm_inputs(shape, wshape):
    x = ember.tensor(np.random.randn(*shape) * 2 + 1, requires_grad=True)
    w = None if wshape is None else ember.tensor(np.random.randn(*wshape), requires_grad=True)
    b = None if wshape is None else ember.tensor(np.random.randn(*wshape), requires_grad=True)
    return x, w, b


FUSED_CASES = [
    ((4, 3, 2), (0, 2), (1, 3, 1)),
    ((3, 5), (1,), (5,)),
    ((2, 3, 4), (1, 2), (3, 4)),
    ((2, 4, 3), (2,), None),
    ((2, 2, 3, 2), (2, 3), (1, 2, 3, 1)),
]


@pytest.mark.parametrize("shape,dims,wshape", FUSED_CASES)
def test_fused_normalize_matches_composite_to_second_order(shape, dims, wshape):
    x, w, b = _norm_inputs(shape, wshape)

    def fused(x, *wb):
        return Normalize.apply(x, *(wb or (None, None)), dims, 1e-5)[0]

    def composite(x, *wb):
        xhat, _ = standardize(x, dims, 1e-5)
        return xhat * wb[0] + wb[1] if wb else xhat

    inputs = (x,) if w is None else (x, w, b)
    np.testing.assert_allclose(
        fused(*inputs).detach().numpy(), composite(*inputs).detach().numpy(), rtol=1e-12
    )
    g = ember.tensor(np.random.randn(*shape))
    for a, c in zip(
        ember.autograd.grad(fused(*inputs), inputs, g), ember.autograd.grad(composite(*inputs), inputs, g)
    ):
        np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-10, atol=1e-12)
    assert gradcheck(fused, inputs)
    assert gradgradcheck(fused, inputs)


FUNCTIONAL = [
    (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (4, 3, 2), (3,)),
    (lambda x, w, b: F.layer_norm(x, (2, 3), w, b), (4, 2, 3), (2, 3)),
    (lambda x, w, b: F.group_norm(x, 2, w, b), (3, 4, 3), (4,)),
    (lambda x, w, b: F.instance_norm(x, weight=w, bias=b), (2, 3, 4), (3,)),
    (lambda x, w, b: F.rms_norm(x, (3,), w) + b, (4, 3), (3,)),
    (lambda x, w, b: F.local_response_norm(x * w.reshape(1, 3, 1) + b.reshape(1, 3, 1), 2), (2, 3, 4), (3,)),
    (lambda x, w, b: F.normalize(x * w + b, p=3, dim=1), (2, 3), (3,)),
    (lambda x, w, b: F.batch_norm(x, w.abs(), b.abs() + 1, w, b, training=False), (4, 3), (3,)),
]


@pytest.mark.parametrize("fn,shape,wshape", FUNCTIONAL)
def test_functional_gradcheck_float64(fn, shape, wshape):
    x, w, b = _norm_inputs(shape, wshape)
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


def test_functional_forms_match_torch():
    torch = torch_or_skip()
    x = np.random.randn(4, 6, 5).astype(np.float32)
    ex, tx = ember.tensor(x), torch.tensor(x)
    pairs = [
        (F.normalize(ex, dim=-1), torch.nn.functional.normalize(tx, dim=-1)),
        (F.normalize(ex, p=1, dim=0), torch.nn.functional.normalize(tx, p=1, dim=0)),
        (F.rms_norm(ex, (5,)), torch.nn.functional.rms_norm(tx, (5,))),
        (
            F.local_response_norm(ex, 4, 0.1, 0.5, 2.0),
            torch.nn.functional.local_response_norm(tx, 4, 0.1, 0.5, 2.0),
        ),
    ]
    for e, t in pairs:
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-5, atol=1e-6)
    rm_e, rv_e = ember.zeros(6), ember.ones(6)
    rm_t, rv_t = torch.zeros(6), torch.ones(6)
    F.instance_norm(ex, rm_e, rv_e, momentum=0.3)
    torch.nn.functional.instance_norm(tx, rm_t, rv_t, momentum=0.3)
    np.testing.assert_allclose(rm_e.numpy(), rm_t.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(rv_e.numpy(), rv_t.numpy(), rtol=1e-5)


def test_rms_norm_default_eps_is_finfo_eps():
    x = ember.zeros(2, 3, dtype=ember.float64)
    out = F.rms_norm(x + 1e-9, (3,))
    expected = 1e-9 / np.sqrt(1e-18 + np.finfo(np.float64).eps)
    np.testing.assert_allclose(out.numpy(), np.full((2, 3), expected), rtol=1e-6)


def test_errors_name_shapes():
    with pytest.raises(RuntimeError, match=r"normalized_shape=\[5\].*\[\*, 5\].*\[2, 3\]"):
        nn.LayerNorm(5)(ember.randn(2, 3))
    with pytest.raises(ValueError, match=r"BatchNorm2d.*4D.*3D"):
        nn.BatchNorm2d(3)(ember.randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"BatchNorm1d.*3 channels.*got 4"):
        nn.BatchNorm1d(3)(ember.randn(2, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(ember.randn(1, 3))
    with pytest.raises(RuntimeError, match=r"divisible by num_groups.*\[2, 6\].*num_groups=4"):
        F.group_norm(ember.randn(2, 6), 4)
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(4, 6)
    with pytest.raises(RuntimeError, match="evaluation mode"):
        F.batch_norm(ember.randn(2, 3), None, None)


# The fused primitive's backward on arrays (the usual case) against its Tensor-op backward (the
# create_graph case) and PyTorch: each of batch / layer / group / instance norm, float32 and float64,
# with weight and bias, bias only, or neither.

NORMS = {
    "batch": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (6, 3, 4, 5), (3,)),
    "batch1d": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (8, 3), (3,)),
    "layer": (lambda x, w, b: F.layer_norm(x, (4, 5), w, b), (3, 2, 4, 5), (4, 5)),
    "group": (lambda x, w, b: F.group_norm(x, 2, w, b), (3, 4, 5, 2), (4,)),
    "instance": (lambda x, w, b: F.instance_norm(x, weight=w, bias=b), (2, 3, 6, 2), (3,)),
}
AFFINE = ["weight_bias", "bias", "none"]


def _affine_inputs(kind, shape, wshape, dtype, affine):
    rng = np.random.default_rng(sum(map(ord, kind + affine)))
    x = ember.tensor((rng.standard_normal(shape) * 2 + 1).astype(dtype), requires_grad=True)
    w = ember.tensor(rng.standard_normal(wshape).astype(dtype), requires_grad=True)
    b = ember.tensor(rng.standard_normal(wshape).astype(dtype), requires_grad=True)
    g = ember.tensor(rng.standard_normal(shape).astype(dtype))
    w, b = {"weight_bias": (w, b), "bias": (None, b), "none": (None, None)}[affine]
    return x, w, b, g


def _grads(fn, x, w, b, g, create_graph):
    inputs = [t for t in (x, w, b) if t is not None]
    out = fn(x, w, b)
    return out, ember.autograd.grad(out, inputs, g, create_graph=create_graph)


@pytest.mark.parametrize("affine", AFFINE)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", list(NORMS))
def test_array_backward_matches_tensor_op_backward(kind, dtype, affine):
    fn, shape, wshape = NORMS[kind]
    x, w, b, g = _affine_inputs(kind, shape, wshape, dtype, affine)
    _, fast = _grads(fn, x, w, b, g, create_graph=False)
    _, recorded = _grads(fn, x, w, b, g, create_graph=True)
    assert recorded[0].requires_grad and not fast[0].requires_grad  # the two paths ran
    tol = {"rtol": 2e-4, "atol": 2e-5} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}
    for a, r, t in zip(fast, recorded, [t for t in (x, w, b) if t is not None]):
        assert a.shape == t.shape and a.dtype == t.dtype
        np.testing.assert_allclose(a.numpy(), r.detach().numpy(), **tol)


TORCH_NORMS = {
    "batch": lambda F, x, w, b: F.batch_norm(x, None, None, w, b, training=True),
    "batch1d": lambda F, x, w, b: F.batch_norm(x, None, None, w, b, training=True),
    "layer": lambda F, x, w, b: F.layer_norm(x, (4, 5), w, b),
    "group": lambda F, x, w, b: F.group_norm(x, 2, w, b),
    "instance": lambda F, x, w, b: F.instance_norm(x, weight=w, bias=b),
}


@pytest.mark.parametrize("affine", AFFINE)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", list(NORMS))
def test_array_backward_matches_torch(kind, dtype, affine):
    torch = torch_or_skip()
    fn, shape, wshape = NORMS[kind]
    x, w, b, g = _affine_inputs(kind, shape, wshape, dtype, affine)
    out, grads = _grads(fn, x, w, b, g, create_graph=False)
    t_inputs = [
        None if t is None else torch.tensor(t.detach().numpy(), requires_grad=True) for t in (x, w, b)
    ]
    t_weight = t_inputs[1]
    if affine == "bias":  # torch's group_norm fails on a bias without weight; ones are the same map
        t_weight = torch.ones(wshape, dtype=t_inputs[0].dtype)
    t_out = TORCH_NORMS[kind](torch.nn.functional, t_inputs[0], t_weight, t_inputs[2])
    t_grads = torch.autograd.grad(t_out, [t for t in t_inputs if t is not None], torch.tensor(g.numpy()))
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-9, "atol": 1e-11}
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), **tol)
    for a, t in zip(grads, t_grads):
        np.testing.assert_allclose(a.numpy(), t.numpy(), **tol)


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(NORMS))
def test_gradgradcheck_without_affine_and_with_bias_only(kind):
    fn, shape, wshape = NORMS[kind]
    for affine in ("none", "bias"):
        x, _, b, _ = _affine_inputs(kind, shape, wshape, np.float64, affine)
        inputs = (x,) if b is None else (x, b)
        assert gradcheck(lambda x, *b: fn(x, None, b[0] if b else None), inputs)
        assert gradgradcheck(lambda x, *b: fn(x, None, b[0] if b else None), inputs)


def test_array_backward_with_only_some_inputs_needing_gradients():
    fn, shape, wshape = NORMS["layer"]
    x, w, b, g = _affine_inputs("layer", shape, wshape, np.float64, "weight_bias")
    _, (gx_all, gw_all, gb_all) = _grads(fn, x, w, b, g, create_graph=False)
    for needs in [(True, False, False), (False, True, False), (False, False, True), (False, True, True)]:
        tensors = [t.detach().requires_grad_(need) for t, need in zip((x, w, b), needs)]
        grads = ember.autograd.grad(fn(*tensors), [t for t in tensors if t.requires_grad], g)
        expected = [e for e, need in zip((gx_all, gw_all, gb_all), needs) if need]
        for a, e in zip(grads, expected):
            np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=1e-12)


def test_array_backward_on_non_contiguous_input_and_gradient():
    # the fallback sums (NumPy's) instead of BLAS: transposed input, broadcast (stride-0) gradient
    for kind in ("batch", "layer"):
        fn, shape, wshape = NORMS[kind]
        x, w, b, _ = _affine_inputs(kind, shape, wshape, np.float64, "weight_bias")
        xt = ember.tensor(x.detach().numpy().swapaxes(0, 1)).transpose(0, 1).detach().requires_grad_()
        assert not xt._data.flags.c_contiguous
        for inputs in [(x, w, b), (xt, w, b)]:
            fast = ember.autograd.grad(fn(*inputs).sum(), inputs)
            recorded = ember.autograd.grad(fn(*inputs).sum(), inputs, create_graph=True)
            for a, r in zip(fast, recorded):
                np.testing.assert_allclose(a.numpy(), r.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_normalize_leaves_its_input_alone_when_a_reduced_dim_has_size_one():
    data = np.random.randn(4, 1)
    data.flags.writeable = False
    x = ember.tensor(data, requires_grad=True)
    out = F.layer_norm(x, (1,))
    np.testing.assert_array_equal(out.detach().numpy(), np.zeros((4, 1)))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((4, 1)))


def test_sync_batch_norm_is_batch_norm_on_one_process():
    torch = torch_or_skip()
    x = np.random.default_rng(0).standard_normal((4, 3, 2, 5)).astype(np.float32)
    e, t = nn.SyncBatchNorm(3, momentum=0.3), torch.nn.SyncBatchNorm(3, momentum=0.3)
    e_out, t_out = e(ember.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(e.running_var.numpy(), t.running_var.numpy(), atol=1e-6)
    assert repr(e) == repr(t)
    with pytest.raises(ValueError, match="at least 2D"):
        e(ember.ones(3))


def test_convert_sync_batchnorm_shares_state():
    net = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3), nn.Sequential(nn.BatchNorm1d(3)))
    bn_weight = net[1].weight
    net[1].eval()
    out = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert type(out[1]) is nn.SyncBatchNorm and type(out[2][0]) is nn.SyncBatchNorm
    assert out[1].weight is bn_weight and not out[1].training
    assert nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm1d(2)).num_features == 2


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 9])
def test_cross_map_lrn2d_forward_matches_torch(size):
    torch = torch_or_skip()
    x = np.random.default_rng(size).standard_normal((2, 7, 3, 4))
    e = nn.CrossMapLRN2d(size, 0.1, 0.75, 2)(ember.tensor(x))
    t = torch.nn.CrossMapLRN2d(size, 0.1, 0.75, 2)(torch.tensor(x))
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-12)
    assert repr(nn.CrossMapLRN2d(size)) == repr(torch.nn.CrossMapLRN2d(size))


def test_cross_map_lrn2d_gradcheck_and_rank_error():
    x = ember.tensor(np.random.default_rng(0).standard_normal((1, 4, 2, 2)), requires_grad=True)
    assert gradcheck(lambda x: nn.CrossMapLRN2d(3, 0.5, 0.75, 1.0)(x), (x,))
    with pytest.raises(ValueError, match="4D"):
        nn.CrossMapLRN2d(3)(ember.ones(2, 3, 4))


def test_rms_norm_forward_takes_x_by_keyword():
    assert nn.RMSNorm(3)(x=ember.ones(2, 3)).shape == (2, 3)
