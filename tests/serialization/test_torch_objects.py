"""PyTorch files of whole models (``torch.save(model)``) through the restricted reader: mapped
onto ember's classes under weights_only=False, refused otherwise, never running the pickle."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest

import ember
from ember.serialization import SerializationError, WeightsOnlyError, clear_safe_globals, safe_globals
from tests.helpers import torch_or_skip


@pytest.fixture(autouse=True)
def _no_leftover_safe_globals():
    clear_safe_globals()
    yield
    clear_safe_globals()


def torch_bytes(obj) -> io.BytesIO:
    torch = torch_or_skip()
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return buf


def test_whole_torch_model_maps_onto_ember_classes():
    torch = torch_or_skip()
    tn = torch.nn
    model = tn.Sequential(
        tn.Conv2d(1, 3, 3, padding=1),
        tn.BatchNorm2d(3),
        tn.ReLU(),
        tn.MaxPool2d(2),
        tn.Flatten(),
        tn.Dropout(0.1),
        tn.Linear(48, 8),
        tn.LayerNorm(8),
        tn.GELU(),
    )
    model(torch.randn(4, 1, 8, 8))
    model.eval()
    back = ember.load(torch_bytes(model), weights_only=False)
    assert isinstance(back, ember.nn.Sequential) and isinstance(back[0], ember.nn.Conv2d)
    assert not back.training
    x = np.random.randn(2, 1, 8, 8).astype(np.float32)
    np.testing.assert_allclose(
        back(ember.from_numpy(x)).detach().numpy(),
        model(torch.from_numpy(x)).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.slow  # the first torch.optim import takes seconds
def test_torch_transformer_lstm_and_optimizer():
    torch = torch_or_skip()
    tn = torch.nn
    layer = tn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).eval()
    lstm = tn.LSTM(3, 4, batch_first=True)
    opt = torch.optim.SGD(lstm.parameters(), lr=0.1, momentum=0.9)
    lstm(torch.randn(2, 5, 3))[0].sum().backward()
    opt.step()
    back = ember.load(torch_bytes({"layer": layer, "lstm": lstm, "opt": opt}), weights_only=False)
    x = np.random.randn(2, 5, 8).astype(np.float32)
    np.testing.assert_allclose(
        back["layer"].eval()(ember.from_numpy(x)).detach().numpy(),
        layer(torch.from_numpy(x)).detach().numpy(),
        rtol=1e-5,
        atol=1e-5,
    )
    x = np.random.randn(2, 5, 3).astype(np.float32)
    np.testing.assert_allclose(
        back["lstm"](ember.from_numpy(x))[0].detach().numpy(),
        lstm(torch.from_numpy(x))[0].detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )
    assert isinstance(back["opt"], ember.optim.SGD)
    assert back["opt"].param_groups[0]["params"][0] is back["lstm"].weight_ih_l0


def test_weights_only_refuses_torch_models_with_both_remedies():
    torch = torch_or_skip()
    buf = torch_bytes(torch.nn.Linear(2, 2))
    with pytest.raises(WeightsOnlyError, match="torch.nn.modules.linear.Linear") as info:
        ember.load(buf)
    assert "state_dict()" in str(info.value) and "weights_only=False" in str(info.value)
    assert isinstance(info.value, pickle.UnpicklingError)
    with safe_globals([ember.nn.Linear]):  # what `torch.serialization.add_safe_globals` does
        buf.seek(0)
        assert isinstance(ember.load(buf), ember.nn.Linear)


class UserNet(ember.nn.Module):
    """The ember twin of a user's PyTorch class."""

    def forward(self, x):
        return self.fc(x) * self.scale


def test_user_classes_need_add_safe_globals():
    torch = torch_or_skip()

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(3, 2)
            self.scale = 2.0

        def forward(self, x):
            return self.fc(x) * self.scale

    TorchNet.__module__, TorchNet.__qualname__ = "__main__", "Net"
    import __main__

    __main__.Net = TorchNet
    try:
        net = TorchNet()
        buf = torch_bytes(net)
    finally:
        del __main__.Net
    with pytest.raises(SerializationError, match=r"'__main__\.Net'.*add_safe_globals"):
        ember.load(buf, weights_only=False)
    with safe_globals([(UserNet, "__main__.Net")]):
        buf.seek(0)
        back = ember.load(buf, weights_only=False)
    x = np.random.randn(4, 3).astype(np.float32)
    assert type(back) is UserNet and back.scale == 2.0
    np.testing.assert_allclose(
        back(ember.from_numpy(x)).detach().numpy(),
        net(torch.from_numpy(x)).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


def _pickle_zip(payload: bytes) -> io.BytesIO:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", payload)
    buf.seek(0)
    return buf


class _Call:
    """Pickles as a call of ``func`` (what a malicious ``__reduce__`` does)."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize(
    "payload",
    [
        pickle.dumps(_Call(print, "pwned"), protocol=2),
        pickle.dumps({"m": _Call(ember.nn.Linear, 2, 2)}, protocol=2),  # a class called through REDUCE
        pickle.dumps(_Call(getattr, ember.nn.Linear, "__init__"), protocol=2),
    ],
)
@pytest.mark.parametrize("weights_only", [True, False])
def test_crafted_pickles_call_nothing_outside_the_allow_list(payload, weights_only, capsys):
    payload = payload.replace(b"ember.nn.modules.linear", b"torch.nn.modules.linear")
    with pytest.raises(SerializationError):
        ember.load(_pickle_zip(payload), weights_only=weights_only)
    assert "pwned" not in capsys.readouterr().out


def test_build_only_sets_state_on_objects_the_reader_made():
    # an OrderedDict (allowed) given arbitrary attributes through BUILD is refused
    from collections import OrderedDict

    class Evil(OrderedDict):
        def __reduce__(self):
            return OrderedDict, (), {"__class__": "x", "keys": 1}

    with pytest.raises(SerializationError, match="BUILD"):
        ember.load(_pickle_zip(pickle.dumps(Evil(), protocol=2)), weights_only=False)


def test_numpy_values_and_argparse_namespace_in_torch_files():
    torch = torch_or_skip()
    import argparse

    obj = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "i": np.array([1, -2], np.int64),
        "best": np.float64(2.5),
        "n": np.int64(7),
        "flag": np.bool_(True),
        "e": np.zeros((0, 3)),
        "f": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "t": torch.ones(2),
    }
    back = ember.load(torch_bytes(obj))  # plain data: allowed under weights_only=True
    for key in ("a", "i", "e", "f"):
        assert type(back[key]) is np.ndarray and back[key].dtype == obj[key].dtype
        np.testing.assert_array_equal(back[key], obj[key])
    assert back["best"] == 2.5 and back["n"] == 7 and back["flag"] is np.True_
    back["a"][0, 0] = 9.0  # writable
    args = argparse.Namespace(lr=0.1, name="run")
    buf = torch_bytes({"args": args})
    with pytest.raises(WeightsOnlyError, match="argparse.Namespace"):
        ember.load(buf)
    buf.seek(0)
    assert ember.load(buf, weights_only=False)["args"] == args


@pytest.mark.parametrize(
    "payload",
    [
        pickle.dumps(np.array([object()], dtype=object), protocol=2),
        pickle.dumps(np.dtype([("a", "f4")]), protocol=2),
        pickle.dumps(np.arange(3).astype(">i4"), protocol=2),
    ],
)
def test_numpy_pickles_other_than_plain_numbers_are_refused(payload):
    with pytest.raises(SerializationError):
        ember.load(_pickle_zip(payload), weights_only=False)


def test_get_unsafe_globals_in_torch_checkpoints():
    torch = torch_or_skip()
    from ember.serialization import get_unsafe_globals_in_checkpoint

    buf = torch_bytes({"m": torch.nn.Sequential(torch.nn.Linear(2, 2)), "w": torch.ones(2)})
    assert get_unsafe_globals_in_checkpoint(buf) == [
        "torch.nn.modules.container.Sequential",
        "torch.nn.modules.linear.Linear",
    ]
    assert get_unsafe_globals_in_checkpoint(torch_bytes({"w": torch.ones(2), "n": 3})) == []
    evil = _pickle_zip(pickle.dumps(_Call(print, "pwned"), protocol=2))
    assert get_unsafe_globals_in_checkpoint(evil) in (["builtins.print"], ["__builtin__.print"])
