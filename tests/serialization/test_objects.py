"""ember.save of whole objects (modules, optimizers, schedulers), NumPy arrays and plain data:
never a pickle, refused under weights_only=True with both remedies, rebuilt under False."""

from __future__ import annotations

import io
import json
import sys

import numpy as np
import pytest

import ember
from ember import nn
from ember.serialization import (
    SerializationError,
    WeightsOnlyError,
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
    safetensors,
)


class Net(nn.Module):
    """A user-defined module with a plain attribute, a buffer, a shared submodule and a function."""

    def __init__(self, hidden: int = 5):
        super().__init__()
        self.hidden = hidden
        self.config = {"name": "net", "scale": 0.5, "sizes": (4, hidden)}
        self.body = nn.Sequential(nn.Linear(4, hidden), nn.Tanh(), nn.Linear(hidden, 3))
        self.alias = self.body[0]  # the same submodule twice
        self.heads = nn.ModuleList([nn.Linear(3, 2), nn.Linear(3, 2)])
        self.act = nn.functional.relu
        self.register_buffer("offset", ember.arange(3.0))

    def forward(self, x):
        y = self.act(self.body(x) * self.config["scale"] + self.offset)
        return self.heads[0](y) + self.heads[1](y)


def save_load(obj, **load_args):
    buf = io.BytesIO()
    ember.save(obj, buf)
    buf.seek(0)
    return ember.load(buf, **load_args)


def structure_of(buf: bytes) -> list:
    _, meta = safetensors.read(io.BytesIO(buf))
    return json.loads(meta["ember.structure"])


@pytest.fixture(autouse=True)
def _no_leftover_safe_globals():
    clear_safe_globals()
    yield
    clear_safe_globals()


def test_numpy_arrays_numbers_and_containers_roundtrip_without_objects(tmp_path):
    obj = {
        "a": np.arange(6, dtype=np.int32).reshape(2, 3),
        "f": np.float32(1.5),
        "n": 3,
        "nested": [(np.ones((2, 2)), "s", None, True), {"t": ember.ones(2), "x": np.zeros(0)}],
        "set": {1, 2},
        "view": np.arange(10.0)[::3],
    }
    path = tmp_path / "data.pt"
    ember.save(obj, path)
    back = ember.load(path)  # weights_only=True: plain data only
    assert type(back["a"]) is np.ndarray and back["a"].dtype == np.int32
    np.testing.assert_array_equal(back["a"], obj["a"])
    np.testing.assert_array_equal(back["view"], [0.0, 3.0, 6.0, 9.0])
    assert back["f"] == 1.5 and back["n"] == 3 and back["set"] == {1, 2}
    assert type(back["nested"][0]) is tuple and back["nested"][0][1:] == ("s", None, True)
    assert isinstance(back["nested"][1]["t"], ember.Tensor)
    with pytest.raises(SerializationError, match="complex128"):
        ember.save({"c": np.ones(2, complex)}, tmp_path / "c.pt")


def test_whole_module_is_refused_by_default_with_both_remedies():
    net = Net()
    buf = io.BytesIO()
    ember.save(net, buf)
    assert b"\x80\x02" not in buf.getvalue()[:2]  # a safetensors file, not a pickle
    buf.seek(0)
    with pytest.raises(WeightsOnlyError) as info:
        ember.load(buf)
    message = str(info.value)
    assert "state_dict()" in message and "weights_only=False" in message
    assert "tests.serialization.test_objects.Net" in message
    import pickle

    assert isinstance(info.value, pickle.UnpicklingError) and isinstance(info.value, SerializationError)


def test_user_module_rebuilds_and_computes_the_same():
    net = Net()
    back = save_load(net, weights_only=False)
    assert type(back) is Net and back.hidden == 5 and back.config == net.config
    assert back.alias is back.body[0] and back.act is nn.functional.relu
    assert [n for n, _ in back.named_parameters()] == [n for n, _ in net.named_parameters()]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in back.parameters())
    x = ember.randn(7, 4)
    np.testing.assert_array_equal(back(x).detach().numpy(), net(x).detach().numpy())
    back(x).sum().backward()  # still trains
    assert back.body[0].weight.grad is not None


def test_entries_are_named_like_state_dict_keys():
    net = Net()
    buf = io.BytesIO()
    ember.save(net, buf)
    arrays, _ = safetensors.read(io.BytesIO(buf.getvalue()))
    assert set(arrays) == {k for k in net.state_dict() if not k.startswith("alias.")}


def test_sequential_of_layers_and_containers():
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Dropout(0.2), nn.Linear(8, 3)
    )
    model(ember.randn(4, 1, 4, 4))  # moves the running statistics
    model.eval()
    back = save_load(model, weights_only=False)
    assert not back.training and not back[4].training
    x = ember.randn(3, 1, 4, 4)
    np.testing.assert_array_equal(back(x).detach().numpy(), model(x).detach().numpy())
    tree = {"list": nn.ModuleList([nn.Linear(2, 2)]), "dict": nn.ModuleDict({"a": nn.GELU()})}
    back = save_load(tree, weights_only=False)
    assert isinstance(back["list"], nn.ModuleList) and isinstance(back["dict"]["a"], nn.GELU)


def test_optimizer_and_scheduler_with_state_continue_identically():
    def run(model, opt, sched, steps):
        for _ in range(steps):
            opt.zero_grad()
            model(ember.ones(2, 4)).pow(2).sum().backward()
            opt.step()
            sched.step()

    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))
    opt = ember.optim.Adam(model.parameters(), lr=0.05)
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    run(model, opt, sched, 3)
    back = save_load({"model": model, "opt": opt, "sched": sched}, weights_only=False)
    assert back["opt"].param_groups[0]["params"][0] is back["model"][0].weight
    assert back["sched"].optimizer is back["opt"]
    assert back["sched"].get_last_lr() == sched.get_last_lr()
    run(model, opt, sched, 3)
    run(back["model"], back["opt"], back["sched"], 3)
    for a, b in zip(model.parameters(), back["model"].parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_safe_globals_allow_listed_classes_under_weights_only():
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    buf = io.BytesIO()
    ember.save(net, buf)
    with safe_globals([nn.Sequential, nn.Linear]):
        buf.seek(0)
        with pytest.raises(WeightsOnlyError, match="ReLU") as info:
            ember.load(buf)
        assert "Linear" not in str(info.value)
    assert get_safe_globals() == []
    add_safe_globals([nn.Sequential, nn.Linear, nn.ReLU])
    assert set(get_safe_globals()) == {nn.Sequential, nn.Linear, nn.ReLU}
    buf.seek(0)
    back = ember.load(buf)
    np.testing.assert_array_equal(back[0].weight.detach().numpy(), net[0].weight.detach().numpy())


def test_map_location_applies_to_module_tensors(tmp_path):
    net = Net()
    path = tmp_path / "net.pt"
    ember.save(net, path)
    seen = []

    def where(t, location):
        seen.append(location)

    back = ember.load(path, map_location=where, weights_only=False)
    assert seen and set(seen) == {"cpu"} and back.offset.device.type == "cpu"
    # a checkpoint whose tensors claim to live on cuda:0 loads on the CPU when asked
    arrays, meta = safetensors.read(path)
    meta["ember.structure"] = meta["ember.structure"].replace(
        '"parameter":true', '"parameter":true,"device":"cuda:0"'
    )
    moved = tmp_path / "moved.pt"
    with open(moved, "wb") as f:
        safetensors.write(f, list(arrays.items()), meta)
    back = ember.load(moved, map_location="cpu", weights_only=False)
    assert all(p.device.type == "cpu" for p in back.parameters())
    back = ember.load(moved, map_location={"cuda:0": "cpu"}, weights_only=False)
    x = ember.randn(2, 4)
    np.testing.assert_array_equal(back(x).detach().numpy(), net(x).detach().numpy())


def crafted(structure: list, arrays=()) -> io.BytesIO:
    buf = io.BytesIO()
    safetensors.write(buf, list(arrays), {"format": "pt", "ember.structure": json.dumps(structure)})
    buf.seek(0)
    return buf


@pytest.mark.parametrize(
    "node",
    [
        ["obj", "os:system", 0, ["d", []]],
        ["g", "builtins:eval"],
        ["dd", ["g", "os:getcwd"], []],
        ["l", [["obj", "tests.serialization._never_imported:Boom", 0, ["d", []]]]],
    ],
)
def test_crafted_files_cannot_import_or_call_under_weights_only(node):
    before = set(sys.modules)
    with pytest.raises(WeightsOnlyError):
        ember.load(crafted(node))
    assert "tests.serialization._never_imported" not in sys.modules
    assert set(sys.modules) - before == set()


def test_local_classes_and_lambdas_are_refused_at_save():
    class Local(nn.Module):
        pass

    with pytest.raises(SerializationError, match="local classes"):
        ember.save(Local(), io.BytesIO())
    net = nn.Linear(2, 2)
    net.register_forward_hook(lambda *args: None)
    with pytest.raises(SerializationError, match="_forward_hooks"):
        ember.save(net, io.BytesIO())


@pytest.mark.parametrize(
    "node",
    [
        ["obj", "builtins:int", 0, ["d", []]],
        ["obj", "builtins:dict", 0, ["d", [["a", 1]]]],
        ["obj", "builtins:list", 0, ["l", []]],
        ["ref", 3],
        ["dd", ["g", "builtins:len"], []],
        ["dd", None, "x"],
        ["A", "missing"],
        ["set", [["l", []]]],
    ],
)
def test_malformed_object_nodes_raise_serialization_errors(node):
    with pytest.raises(SerializationError):
        ember.load(crafted(node), weights_only=False)


def test_get_unsafe_globals_in_checkpoint_names_without_loading():
    from ember.serialization import get_unsafe_globals_in_checkpoint

    buf = io.BytesIO()
    ember.save({"model": Net(), "w": ember.ones(2)}, buf)
    buf.seek(0)
    names = get_unsafe_globals_in_checkpoint(buf)
    assert "tests.serialization.test_objects.Net" in names
    assert "ember.nn.modules.linear.Linear" in names and "ember.nn._functional.activation.relu" in names
    with safe_globals([nn.Linear]):
        buf.seek(0)
        assert "ember.nn.modules.linear.Linear" not in get_unsafe_globals_in_checkpoint(buf)
    buf = io.BytesIO()
    ember.save({"w": ember.ones(2), "a": np.ones(2)}, buf)
    buf.seek(0)
    assert get_unsafe_globals_in_checkpoint(buf) == []
