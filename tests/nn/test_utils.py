"""nn.utils: gradient clipping, parameter vectors, weight and spectral norm, against PyTorch."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn.utils import parametrizations, parametrize
from tests.helpers import torch_or_skip


def _pair(torch, shapes, scale=1.0):
    """The same parameters with the same grads, in torch and in ember."""
    rng = np.random.default_rng(0)
    e_params, t_params = [], []
    for shape in shapes:
        value = rng.standard_normal(shape).astype(np.float32)
        grad = (rng.standard_normal(shape) * scale).astype(np.float32)
        ep, tp = nn.Parameter(ember.tensor(value)), torch.nn.Parameter(torch.tensor(value))
        ep.grad, tp.grad = ember.tensor(grad), torch.tensor(grad)
        e_params.append(ep)
        t_params.append(tp)
    return e_params, t_params


def _to_ember(state):
    return {k: ember.tensor(v.detach().numpy()) for k, v in state.items()}


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, 0.5])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch = torch_or_skip()
    e_params, t_params = _pair(torch, [(3, 4), (4,), (2, 2, 2)])
    e_total = nn.utils.clip_grad_norm_(e_params, max_norm, norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(t_params, max_norm, norm_type)
    assert isinstance(e_total, ember.Tensor) and e_total.shape == ()
    assert e_total.item() == pytest.approx(t_total.item(), rel=1e-5)
    for e, t in zip(e_params, t_params):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_single_tensor_and_no_grads():
    p = nn.Parameter(ember.zeros(2))
    assert nn.utils.clip_grad_norm_(p, 1.0).item() == 0.0
    p.grad = ember.tensor([3.0, 4.0])
    assert nn.utils.clip_grad_norm_(p, 10.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.numpy(), [3.0, 4.0], rtol=1e-6)


def test_clip_grad_norm_nonfinite():
    p = nn.Parameter(ember.zeros(2))
    p.grad = ember.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    p.grad = ember.tensor([float("nan"), 1.0])
    total = nn.utils.clip_grad_norm_([p], 1.0, norm_type=math.inf)
    assert math.isnan(total.item())


def test_clip_grad_value_matches_torch():
    torch = torch_or_skip()
    e_params, t_params = _pair(torch, [(5, 3), (7,)], scale=3.0)
    nn.utils.clip_grad_value_(e_params, 1.5)
    torch.nn.utils.clip_grad_value_(t_params, 1.5)
    for e, t in zip(e_params, t_params):
        np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())


def test_parameters_vector_roundtrip():
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    vec = nn.utils.parameters_to_vector(net.parameters())
    assert vec.shape == (11,)
    np.testing.assert_array_equal(vec[:6].detach().numpy(), net[0].weight.detach().numpy().ravel())
    new = ember.arange(11.0)
    weight = net[0].weight
    nn.utils.vector_to_parameters(new, net.parameters())
    assert net[0].weight is weight
    np.testing.assert_array_equal(net[1].bias.detach().numpy(), [10.0])
    with pytest.raises(TypeError, match="expected ember.Tensor"):
        nn.utils.vector_to_parameters([1.0], net.parameters())


def test_weight_norm_parametrization_matches_torch():
    torch = torch_or_skip()
    t_m = torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(4, 3))
    e_m = parametrizations.weight_norm(nn.Linear(4, 3))
    assert list(e_m.state_dict()) == list(t_m.state_dict())
    assert {k: tuple(v.shape) for k, v in e_m.state_dict().items()} == {
        k: tuple(v.shape) for k, v in t_m.state_dict().items()
    }
    e_m.load_state_dict(_to_ember(t_m.state_dict()))
    np.testing.assert_allclose(e_m.weight.detach().numpy(), t_m.weight.detach().numpy(), rtol=1e-6)
    x = np.random.randn(5, 4).astype(np.float32)
    (e_m(ember.tensor(x)) ** 2).sum().backward()
    (t_m(torch.tensor(x)) ** 2).sum().backward()
    for name in ("original0", "original1"):
        e_p = getattr(e_m.parametrizations.weight, name)
        t_p = getattr(t_m.parametrizations.weight, name)
        np.testing.assert_allclose(e_p.grad.numpy(), t_p.grad.numpy(), rtol=1e-4, atol=1e-6)
    assert repr(e_m).replace("ember.", "") == repr(t_m).replace("torch.", "")


def test_spectral_norm_parametrization_matches_torch():
    torch = torch_or_skip()
    t_m = torch.nn.utils.parametrizations.spectral_norm(torch.nn.Linear(5, 3))
    e_m = parametrizations.spectral_norm(nn.Linear(5, 3))
    assert list(e_m.state_dict()) == list(t_m.state_dict())
    e_m.load_state_dict(_to_ember(t_m.state_dict()))
    x = np.random.randn(2, 5).astype(np.float32)
    for _ in range(2):  # training mode: one power iteration per forward
        e_out, t_out = e_m(ember.tensor(x)), t_m(torch.tensor(x))
        np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    e_out.sum().backward()
    t_out.sum().backward()
    np.testing.assert_allclose(
        e_m.parametrizations.weight.original.grad.numpy(),
        t_m.parametrizations.weight.original.grad.numpy(),
        rtol=1e-4,
        atol=1e-6,
    )
    e_m.eval()
    sigma = np.linalg.svd(e_m.parametrizations.weight.original.detach().numpy(), compute_uv=False)[0]
    for _ in range(30):
        e_m.train()(ember.tensor(x))
    e_m.eval()
    top = np.linalg.svd(e_m.weight.detach().numpy(), compute_uv=False)[0]
    assert top == pytest.approx(1.0, rel=1e-3) and sigma > 0


def test_hook_weight_norm_and_spectral_norm_match_torch():
    torch = torch_or_skip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_w = torch.nn.utils.weight_norm(torch.nn.Linear(4, 3))
        e_w = nn.utils.weight_norm(nn.Linear(4, 3))
    t_s = torch.nn.utils.spectral_norm(torch.nn.Linear(4, 3))
    e_s = nn.utils.spectral_norm(nn.Linear(4, 3))
    x = np.random.randn(2, 4).astype(np.float32)
    for e_m, t_m in ((e_w, t_w), (e_s, t_s)):
        assert list(e_m.state_dict()) == list(t_m.state_dict())
        e_m.load_state_dict(_to_ember(t_m.state_dict()))
        np.testing.assert_allclose(
            e_m(ember.tensor(x)).detach().numpy(), t_m(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6
        )
    nn.utils.remove_weight_norm(e_w)
    nn.utils.remove_spectral_norm(e_s)
    assert list(e_w.state_dict()) == ["bias", "weight"] and isinstance(e_w.weight, nn.Parameter)
    assert sorted(e_s.state_dict()) == ["bias", "weight"]
    with pytest.raises(ValueError, match="not found"):
        nn.utils.remove_weight_norm(e_w)


def test_register_and_remove_parametrization():
    class Double(nn.Module):
        def forward(self, x):
            return x * 2

        def right_inverse(self, x):
            return x / 2

    m = nn.Linear(3, 3)
    original = m.weight.detach().numpy().copy()
    parametrize.register_parametrization(m, "weight", Double())
    assert type(m).__name__ == "ParametrizedLinear" and parametrize.is_parametrized(m, "weight")
    np.testing.assert_allclose(m.weight.detach().numpy(), original, rtol=1e-6)
    assert parametrize.type_before_parametrizations(m) is nn.Linear
    m.weight = ember.ones(3, 3)
    np.testing.assert_allclose(m.parametrizations.weight.original.detach().numpy(), 0.5)
    with parametrize.cached():
        assert m.weight is m.weight
    parametrize.remove_parametrizations(m, "weight")
    assert type(m) is nn.Linear and isinstance(m.weight, nn.Parameter)
    np.testing.assert_allclose(m.weight.detach().numpy(), 1.0)
    assert list(m.state_dict()) == ["bias", "weight"]  # as in PyTorch


@pytest.mark.parametrize("transpose", [False, True])
def test_fuse_conv_bn_eval_matches_the_pair(transpose):
    ember.manual_seed(0)
    conv = (nn.ConvTranspose2d if transpose else nn.Conv2d)(3, 4, 3, dtype=ember.float64).eval()
    bn = nn.BatchNorm2d(4, dtype=ember.float64).eval()
    bn.running_mean.normal_()
    bn.running_var.uniform_(0.5, 2.0)
    with ember.no_grad():
        bn.weight.normal_()
        bn.bias.normal_()
    fused = nn.utils.fuse_conv_bn_eval(conv, bn, transpose=transpose)
    x = ember.randn(2, 3, 5, 5, dtype=ember.float64)
    np.testing.assert_allclose(fused(x).detach().numpy(), bn(conv(x)).detach().numpy(), atol=1e-12)
    assert isinstance(fused.weight, nn.Parameter) and fused is not conv
    with pytest.raises(AssertionError, match="eval"):
        nn.utils.fuse_conv_bn_eval(conv.train(), bn)


def test_fuse_linear_bn_eval_and_weights_match_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    w, b, rm, rv, bw, bb = (rng.standard_normal(s) for s in [(4, 3), 4, 4, 4, 4, 4])
    rv = np.abs(rv) + 0.5
    e = nn.utils.fuse_linear_bn_weights(
        *(ember.tensor(a) for a in (w, b, rm, rv)), 1e-5, ember.tensor(bw), ember.tensor(bb)
    )
    t = torch.nn.utils.fuse_linear_bn_weights(
        *(torch.tensor(a) for a in (w, b, rm, rv)), 1e-5, torch.tensor(bw), torch.tensor(bb)
    )
    for ea, ta in zip(e, t):
        np.testing.assert_allclose(ea.detach().numpy(), ta.detach().numpy(), rtol=1e-12)
    lin, bn = nn.Linear(3, 4).eval(), nn.BatchNorm1d(4).eval()
    x = ember.randn(5, 3)
    fused = nn.utils.fuse_linear_bn_eval(lin, bn)
    np.testing.assert_allclose(fused(x).detach().numpy(), bn(lin(x)).detach().numpy(), atol=1e-6)


def test_skip_init_memory_format_and_module_utils():
    from ember.nn.modules.utils import _pair, _reverse_repeat_tuple, _triple

    assert nn.utils.skip_init(nn.Linear, 3, 2, device="cpu").weight.shape == (2, 3)
    with pytest.raises(RuntimeError, match="device"):
        nn.utils.skip_init(nn.ReLU)
    conv = nn.Conv2d(1, 1, 1)
    assert nn.utils.convert_conv2d_weight_memory_format(conv, None) is conv
    assert _pair(3) == (3, 3) and _triple((1, 2, 3)) == (1, 2, 3)
    assert _reverse_repeat_tuple((1, 2), 2) == (2, 2, 1, 1)
    assert nn.factory_kwargs({"device": "cpu", "factory_kwargs": {"dtype": None}}) == {
        "device": "cpu",
        "dtype": None,
    }
    with pytest.raises(TypeError, match="unexpected"):
        nn.factory_kwargs({"bias": True})
    with pytest.warns(FutureWarning, match="Container"):
        container = nn.Container(fc=nn.Linear(2, 2))
    assert list(dict(container.named_children())) == ["fc"]


def test_functional_compat_names():
    from ember.nn import functional as F

    assert not F.has_torch_function((ember.ones(1),)) and not F.has_torch_function_unary(1)
    assert F.handle_torch_function(lambda x: x + 1, (), 1) == 2
    pick = F.boolean_dispatch(
        "flag", 1, False, lambda x, flag=True: "yes", lambda x, flag=False: "no", func_name="pick"
    )
    assert (pick(0), pick(0, True), pick(0, flag=True)) == ("no", "yes", "yes")
    assert pick.__name__ == "pick"
    with pytest.raises(AssertionError, match="size"):
        F.assert_int_or_pair([1, 2, 3], "size", "{} must be an int or a pair")
    assert F.Tensor is ember.Tensor and isinstance(F.reproducibility_notes, dict)


@pytest.mark.parametrize(
    "shape,orthogonal_map",
    [
        ((4, 4), None),
        ((4, 4), "cayley"),
        ((4, 4), "householder"),
        ((5, 3), None),
        ((3, 5), None),
        ((5, 3), "matrix_exp"),
        ((3, 5), "cayley"),
    ],
    ids=str,
)
def test_orthogonal_parametrization_matches_torch(shape, orthogonal_map):
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    e_layer = nn.Linear(shape[1], shape[0], dtype=ember.float64)
    t_layer = torch.nn.Linear(shape[1], shape[0], dtype=torch.float64)
    w = rng.standard_normal(shape)
    with ember.no_grad():
        e_layer.weight.copy_(ember.tensor(w))
    with torch.no_grad():
        t_layer.weight.copy_(torch.tensor(w))
    parametrizations.orthogonal(e_layer, orthogonal_map=orthogonal_map)
    torch.nn.utils.parametrizations.orthogonal(t_layer, orthogonal_map=orthogonal_map)
    np.testing.assert_allclose(e_layer.weight.detach().numpy(), t_layer.weight.detach().numpy(), atol=1e-12)
    # a trained state: the same unconstrained X (diagonal -1 for the Householder map) and base
    tall = max(shape), min(shape)
    x = np.tril(rng.standard_normal(tall), -1) * 0.3 - np.eye(*tall)
    x = x if shape[0] >= shape[1] else x.T
    e_param, t_param = e_layer.parametrizations.weight, t_layer.parametrizations.weight
    e_param[0].base = ember.tensor(t_param[0].base.numpy())
    with ember.no_grad():
        e_param.original.copy_(ember.tensor(x))
    with torch.no_grad():
        t_param.original.copy_(torch.tensor(x))
    e_w, t_w = e_layer.weight, t_layer.weight
    np.testing.assert_allclose(e_w.detach().numpy(), t_w.detach().numpy(), atol=1e-10)
    q = e_w.detach().numpy()
    gram = q.T @ q if shape[0] >= shape[1] else q @ q.T
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-10)
    g = rng.standard_normal(shape)
    (e_w * ember.tensor(g)).sum().backward()
    (t_w * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(e_param.original.grad.numpy(), t_param.original.grad.numpy(), atol=1e-10)


def test_orthogonal_errors():
    with pytest.raises(ValueError, match="matrix"):
        parametrizations.orthogonal(nn.Linear(2, 2), "bias")
    with pytest.raises(ValueError, match="orthogonal_map"):
        parametrizations.orthogonal(nn.Linear(2, 2), orthogonal_map="qr")
