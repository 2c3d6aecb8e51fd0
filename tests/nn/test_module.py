"""nn.Module, Parameter and the containers, checked against PyTorch where it is installed."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import ember
from ember import nn
from tests.helpers import torch_or_skip


def _to_ember(state):
    return OrderedDict((k, ember.tensor(v.detach().numpy())) for k, v in state.items())


def _same_repr(ember_module, torch_module):
    def plain(text):  # ember names tensor types as PyTorch does ('torch.FloatTensor')
        return text.replace("ember.", "").replace("torch.", "")

    assert plain(repr(ember_module)) == plain(repr(torch_module))


def _nested(lib):
    return lib.nn.Sequential(
        lib.nn.Linear(4, 8),
        lib.nn.Sequential(lib.nn.Linear(8, 8), lib.nn.Identity()),
        lib.nn.ModuleList([lib.nn.Linear(8, 3), lib.nn.Linear(8, 3)]),
        lib.nn.ModuleDict({"head": lib.nn.Bilinear(3, 3, 2), "flat": lib.nn.Flatten()}),
    )


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.register_buffer("steps", ember.zeros(1))
        self.register_buffer("scratch", ember.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc(x)


# -- Parameter ------------------------------------------------------------------------------
def test_parameter_shares_data_and_is_a_tensor():
    t = ember.zeros(3)
    p = nn.Parameter(t)
    assert isinstance(p, ember.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and not t.requires_grad
    p.data.add_(1.0)
    assert t.tolist() == [1.0, 1.0, 1.0]
    assert not nn.Parameter(ember.zeros(2), requires_grad=False).requires_grad


def test_parameter_repr_deepcopy_pickle():
    torch = torch_or_skip()
    p = nn.Parameter(ember.tensor([1.0, 2.0]))
    assert repr(p) == repr(torch.nn.Parameter(torch.tensor([1.0, 2.0])))
    p.grad = ember.ones(2)
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q is not p and q.requires_grad
    assert q.tolist() == [1.0, 2.0] and q.grad.tolist() == [1.0, 1.0]
    q.data.add_(1.0)
    assert p.tolist() == [1.0, 2.0]
    r = pickle.loads(pickle.dumps(p))
    assert type(r) is nn.Parameter and r.tolist() == [1.0, 2.0]


# -- registration and attributes ------------------------------------------------------------
def test_registration_by_assignment():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["fc.weight", "fc.bias"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "scratch"]
    assert list(net.state_dict()) == ["steps", "fc.weight", "fc.bias"]
    assert [n for n, _ in net.named_modules()] == ["", "fc"]
    assert list(net.children()) == [net.fc]
    net.extra = nn.Parameter(ember.ones(1))
    assert "extra" in net._parameters
    net.extra = None
    assert net._parameters["extra"] is None
    net.steps = ember.ones(1)
    assert net._buffers["steps"].tolist() == [1.0]
    net.buf2 = nn.Buffer(ember.ones(2), persistent=False)
    assert "buf2" in net._buffers and "buf2" not in net.state_dict()
    del net.fc
    assert "fc" not in net._modules


def test_getattr_error_message():
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'wieght'"):
        _ = nn.Linear(2, 2).wieght


def test_assignment_type_errors():
    net = Net()
    net.extra = nn.Parameter(ember.ones(1))
    with pytest.raises(TypeError, match="cannot assign 'torch.FloatTensor' as parameter 'extra'"):
        net.extra = ember.ones(1)
    with pytest.raises(TypeError, match="child module 'fc'"):
        net.fc = 3
    with pytest.raises(KeyError, match="contain"):
        net.register_buffer("a.b", ember.ones(1))
    with pytest.raises(KeyError, match="already exists"):
        net.register_parameter("forward", None)
    with pytest.raises(TypeError, match="cannot assign 'torch.FloatTensor' object to parameter 'w'"):
        net.register_parameter("w", ember.ones(1))

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ember.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_get_submodule_parameter_buffer():
    net = _nested(ember)
    assert net.get_submodule("1.0") is net[1][0]
    assert net.get_parameter("2.1.bias") is net[2][1].bias
    assert net.get_submodule("") is net
    with pytest.raises(AttributeError, match="has no attribute `9`"):
        net.get_submodule("9")
    with pytest.raises(AttributeError, match="is not an nn.Parameter"):
        Net().get_parameter("steps")
    assert Net().get_buffer("steps").shape == (1,)


def test_named_modules_memo_and_duplicates():
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, shared)
    assert len(list(seq.modules())) == 2
    assert len(list(seq.named_modules(remove_duplicate=False))) == 3
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4
    assert [n for n, _ in seq.named_parameters(prefix="m")] == ["m.0.weight", "m.0.bias"]
    assert list(seq.parameters(recurse=False)) == []


def test_dir_lists_registered_names():
    names = dir(Net())
    assert "fc" in names and "steps" in names and "forward" in names


# -- state_dict -----------------------------------------------------------------------------
def test_state_dict_keys_match_torch():
    torch = torch_or_skip()
    e, t = _nested(ember), _nested(torch)
    assert list(e.state_dict()) == list(t.state_dict())
    assert isinstance(e.state_dict(), OrderedDict)
    sd = e.state_dict()
    assert not any(v.requires_grad for v in sd.values())
    kept = e.state_dict(keep_vars=True)
    assert kept["0.weight"] is e[0].weight
    assert next(iter(e.state_dict(prefix="net."))) == "net.0.weight"


def test_load_state_dict_from_torch():
    torch = torch_or_skip()
    e, t = _nested(ember), _nested(torch)
    result = e.load_state_dict(_to_ember(t.state_dict()))
    assert result.missing_keys == [] and result.unexpected_keys == []
    weight = e[0].weight
    np.testing.assert_array_equal(weight.detach().numpy(), t[0].weight.detach().numpy())
    assert e[0].weight is weight  # copied in place


def test_load_state_dict_errors_like_torch():
    net = Net()
    good = net.state_dict()
    bad = OrderedDict(good)
    bad["fc.weight"] = ember.zeros(4, 4)
    bad["extra"] = ember.zeros(1)
    del bad["steps"]
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(bad)
    msg = str(info.value)
    assert msg.startswith("Error(s) in loading state_dict for Net:")
    assert 'Missing key(s) in state_dict: "steps".' in msg
    assert 'Unexpected key(s) in state_dict: "extra".' in msg
    assert (
        "size mismatch for fc.weight: copying a param with shape [4, 4] from checkpoint, "
        "the shape in current model is [3, 4]."
    ) in msg
    del bad["fc.weight"]
    result = net.load_state_dict(bad, strict=False)
    assert result.missing_keys == ["steps", "fc.weight"] and result.unexpected_keys == ["extra"]


def test_load_state_dict_assign():
    net = Net()
    sd = {k: v.clone() for k, v in Net().state_dict().items()}
    net.load_state_dict(sd, assign=True)
    assert isinstance(net.fc.weight, nn.Parameter) and net.fc.weight.requires_grad
    assert net.fc.bias.data_ptr() == sd["fc.bias"].data_ptr()


# -- modes, grads, dtype ----------------------------------------------------------------------
def test_train_eval_apply_requires_grad():
    net = _nested(ember)
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Sequential" and seen[0] == "Linear"
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_zero_grad():
    net = Net()
    net(ember.ones(2, 4)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert net.fc.weight.grad.abs().sum().item() == 0
    net.zero_grad()
    assert net.fc.weight.grad is None


def test_to_dtype_keeps_parameter_objects():
    net = Net()
    weight = net.fc.weight
    net(ember.ones(2, 4)).sum().backward()
    grad = weight.grad
    net.to(ember.float64)
    assert net.fc.weight is weight and weight.dtype == ember.float64
    assert weight.grad is grad and grad.dtype == ember.float64
    assert net.steps.dtype == ember.float64
    net.float()
    assert weight.dtype == ember.float32
    net.half()
    assert weight.dtype == ember.float16
    net.to("cpu", ember.float32)
    net.to(ember.zeros(1, dtype=ember.float64))
    assert weight.dtype == ember.float64
    with pytest.raises(TypeError, match="floating point"):
        net.to(ember.int64)
    assert net.cpu() is net and net.share_memory() is net


# -- hooks ------------------------------------------------------------------------------------
def test_forward_hooks():
    fc = nn.Linear(3, 2)
    calls = []
    h1 = fc.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    h2 = fc.register_forward_hook(
        lambda m, args, out: calls.append(("post", args[0].sum().item())) or out + 1
    )
    fc.register_forward_pre_hook(lambda m, args: calls.append("first"), prepend=True)
    x = ember.ones(1, 3)
    out = fc(x)
    expected = nn.functional.linear(x * 2, fc.weight, fc.bias) + 1
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy())
    assert calls == ["first", ("post", 6.0)]
    h1.remove()
    h2.remove()
    np.testing.assert_allclose(
        fc(x).detach().numpy(), nn.functional.linear(x, fc.weight, fc.bias).detach().numpy()
    )


def test_forward_hooks_with_kwargs():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    m = Scale()
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"factor": 3.0}), with_kwargs=True)
    seen = {}
    m.register_forward_hook(lambda mod, args, kwargs, out: seen.update(kwargs), with_kwargs=True)
    assert m(ember.ones(1)).item() == 3.0 and seen == {"factor": 3.0}


def test_full_backward_hooks_match_torch():
    torch = torch_or_skip()
    t_fc = torch.nn.Linear(3, 2)
    e_fc = nn.Linear(3, 2)
    e_fc.load_state_dict(_to_ember(t_fc.state_dict()))
    records = {"torch": [], "ember": []}
    for lib, fc, key in ((torch, t_fc, "torch"), (ember, e_fc, "ember")):
        fc.register_full_backward_pre_hook(lambda m, go, key=key: records[key].append(("pre", go)))
        fc.register_full_backward_hook(lambda m, gi, go, key=key: records[key].append(("post", gi, go)))
        x = lib.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
        (fc(x) ** 2).sum().backward()
    assert [r[0] for r in records["ember"]] == ["pre", "post"]
    for (_, tg_in, tg_out), (_, eg_in, eg_out) in [(records["torch"][1], records["ember"][1])]:
        assert len(eg_in) == len(tg_in) == 1 and len(eg_out) == len(tg_out) == 1
        np.testing.assert_allclose(eg_in[0].numpy(), tg_in[0].numpy(), rtol=1e-5)
        np.testing.assert_allclose(eg_out[0].numpy(), tg_out[0].numpy(), rtol=1e-5)


def test_backward_hook_replaces_grad_input_and_no_grad_inputs():
    fc = nn.Linear(3, 2)
    fc.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0,))
    x = ember.ones(2, 3, requires_grad=True)
    fc(x).sum().backward()
    assert x.grad.abs().sum().item() == 0 and fc.weight.grad is not None
    seen = []
    fc2 = nn.Linear(3, 2)
    fc2.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go[0].shape)))
    fc2(ember.ones(2, 3)).sum().backward()
    assert seen == [((None,), (2, 2))]


def test_backward_pre_hook_replaces_grad_output():
    fc = nn.Linear(3, 2)
    fc.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
    x = ember.ones(1, 3, requires_grad=True)
    fc(x).sum().backward()
    expected = (fc.weight.detach().sum(0) * 2).numpy()
    np.testing.assert_allclose(x.grad.numpy()[0], expected, rtol=1e-6)


# -- reprs and containers ---------------------------------------------------------------------
def test_reprs_match_torch():
    torch = torch_or_skip()
    _same_repr(_nested(ember), _nested(torch))
    _same_repr(nn.Sequential(), torch.nn.Sequential())
    _same_repr(nn.ModuleList(), torch.nn.ModuleList())
    _same_repr(nn.Unflatten(1, (2, 3)), torch.nn.Unflatten(1, (2, 3)))
    _same_repr(nn.Linear(2, 3, bias=False), torch.nn.Linear(2, 3, bias=False))
    ml = [
        lib.nn.ModuleList([lib.nn.Linear(2, 2), lib.nn.Linear(2, 2), lib.nn.Identity(), lib.nn.Linear(2, 2)])
        for lib in (ember, torch)
    ]
    _same_repr(*ml)
    pl = [
        lib.nn.ParameterList([lib.zeros(2, 3), lib.nn.Parameter(lib.zeros(2)), 3]) for lib in (ember, torch)
    ]
    _same_repr(*pl)
    pd = [
        lib.nn.ParameterDict({"b": lib.zeros(2), "a": lib.nn.Parameter(lib.zeros(2, 3))})
        for lib in (ember, torch)
    ]
    _same_repr(*pd)
    assert list(pd[0].keys()) == list(pd[1].keys())


def test_sequential_ops():
    a, b, c = nn.Linear(2, 2), nn.Identity(), nn.Linear(2, 2)
    seq = nn.Sequential(a, b, c)
    assert seq[-1] is c and len(seq) == 3 and list(seq) == [a, b, c]
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c] and list(sub._modules) == ["1", "2"]
    seq[0] = nn.Identity()
    assert isinstance(seq[0], nn.Identity)
    del seq[0]
    assert list(seq._modules) == ["0", "1"] and seq[0] is b
    seq.append(a).insert(0, nn.Flatten())
    assert [type(m).__name__ for m in seq] == ["Flatten", "Identity", "Linear", "Linear"]
    assert seq.pop(0).__class__ is nn.Flatten and len(seq) == 3
    seq.extend([nn.Identity()])
    assert len(seq + nn.Sequential(nn.Identity())) == 5
    named = nn.Sequential(OrderedDict([("enc", nn.Linear(2, 3)), ("act", nn.Identity())]))
    assert list(named.state_dict()) == ["enc.weight", "enc.bias"]
    assert named(ember.ones(1, 2)).shape == (1, 3)
    with pytest.raises(IndexError):
        seq[10]


def test_modulelist_moduledict():
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.Identity())
    ml += [nn.Identity()]
    ml.insert(0, nn.Flatten())
    assert len(ml) == 4 and isinstance(ml[0], nn.Flatten) and isinstance(ml[-1], nn.Identity)
    del ml[0]
    assert list(ml._modules) == ["0", "1", "2"]
    assert isinstance(ml[:2], nn.ModuleList) and len(ml[:2]) == 2
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.Identity()
    md.update([("c", nn.Identity())])
    assert list(md) == ["a", "b", "c"] and "b" in md
    assert md.pop("b").__class__ is nn.Identity and len(md) == 2
    assert list(md.state_dict()) == ["a.weight", "a.bias"]


def test_parameterlist_parameterdict():
    pl = nn.ParameterList([ember.zeros(2)])
    pl.append(nn.Parameter(ember.ones(3)))
    assert isinstance(pl[0], nn.Parameter) and len(pl) == 2
    assert list(pl.state_dict()) == ["0", "1"] and len(list(pl.parameters())) == 2
    pd = nn.ParameterDict({"w": ember.zeros(2)})
    pd["v"] = ember.ones(1)
    assert isinstance(pd["v"], nn.Parameter) and list(pd.keys()) == ["w", "v"]
    assert list(pd.state_dict()) == ["w", "v"]
    assert pd.pop("w").shape == (2,) and len(pd) == 1
    with pytest.raises(RuntimeError, match="should not be called"):
        pd()


def test_module_extras_set_submodule_to_empty_compile_and_legacy_hooks():
    net = nn.Sequential(nn.Sequential(nn.Linear(2, 2)))
    net.set_submodule("0.0", nn.Tanh())
    assert isinstance(net[0][0], nn.Tanh)
    with pytest.raises(AttributeError, match="has no attribute"):
        net.set_submodule("0.1", nn.Tanh(), strict=True)
    layer = nn.Linear(2, 3)
    weight = layer.weight
    assert layer.to_empty(device="cpu") is layer and layer.weight is weight
    assert layer.compile() is None
    calls = []
    layer.register_backward_hook(lambda module, grad_in, grad_out: calls.append(len(grad_out)))
    layer(ember.ones(1, 2, requires_grad=True)).sum().backward()
    assert calls == [1]
    with pytest.raises(RuntimeError, match="XPU"):
        layer.xpu()
    assert sum(1 for _ in net.modules(remove_duplicate=False)) == 3
