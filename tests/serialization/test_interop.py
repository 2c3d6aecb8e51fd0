"""Interop: the safetensors library reads ember files, ember reads safetensors and torch files,
and the restricted pickle reader refuses every malicious payload without running it."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import ember
from ember.serialization import SerializationError
from ember.serialization.torch_pickle import unpickle
from tests.helpers import torch_or_skip

torch = torch_or_skip(module=True)
pytestmark = pytest.mark.needs_torch
st_numpy = pytest.importorskip("safetensors.numpy")
st_torch = pytest.importorskip("safetensors.torch")


def ember_model():
    nn = ember.nn
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5))


def torch_model():
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5))


def test_safetensors_library_reads_ember_files(tmp_path):
    model = ember_model()
    path = str(tmp_path / "m.safetensors")
    ember.save(model.state_dict(), path)
    for name, array in st_numpy.load_file(path).items():
        np.testing.assert_array_equal(array, model.state_dict()[name].numpy())
    t_model = torch_model()
    t_model.load_state_dict(st_torch.load_file(path))  # strict: keys and shapes match exactly
    x = np.random.randn(2, 1, 6, 6).astype(np.float32)
    np.testing.assert_allclose(
        t_model(torch.from_numpy(x)).detach().numpy(),
        model(ember.from_numpy(x)).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


def test_nested_ember_checkpoint_is_still_valid_safetensors(tmp_path):
    path = str(tmp_path / "c.safetensors")
    ember.save(
        {
            "model": {"w": ember.ones(2, 2)},
            "opt": {"state": {0: {"m": ember.zeros(3)}}},
            "h": ember.tensor([1, 2], dtype=ember.bfloat16),
            "lr": 0.1,
        },
        path,
    )
    loaded = st_torch.load_file(path)
    assert set(loaded) == {"model.w", "opt.state.0.m", "h"} and loaded["h"].dtype == torch.bfloat16


def test_torch_safetensors_file_loads_into_ember_model(tmp_path):
    t_model = torch_model()
    path = str(tmp_path / "torch.safetensors")
    st_torch.save_file(t_model.state_dict(), path)
    model = ember_model()
    model.load_state_dict(ember.load(path))
    x = np.random.randn(2, 1, 6, 6).astype(np.float32)
    np.testing.assert_allclose(
        model(ember.from_numpy(x)).detach().numpy(),
        t_model(torch.from_numpy(x)).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


def test_torch_pt_checkpoints_load_through_the_restricted_reader(tmp_path):
    t_model = torch_model()
    opt = torch.optim.Adam(t_model.parameters(), lr=0.01)
    t_model(torch.randn(2, 1, 6, 6)).sum().backward()
    opt.step()
    base = torch.arange(12.0)
    obj = {
        "model": t_model.state_dict(),
        "opt": opt.state_dict(),
        "epoch": 3,
        "nested": {"list": [base[:4], (base.reshape(3, 4).t(), "x")], "scalar": torch.tensor(2.5)},
        "shared_a": base[2:6],
        "shared_b": base.view(3, 4),
        "p": torch.nn.Parameter(torch.ones(2)),
        "ints": torch.tensor([1, 2], dtype=torch.int64),
        "half": torch.ones(2, dtype=torch.float16),
    }
    path = tmp_path / "ckpt.pt"
    torch.save(obj, path)
    back = ember.load(path)
    model = ember_model()
    model.load_state_dict(back["model"])
    x = np.random.randn(2, 1, 6, 6).astype(np.float32)
    np.testing.assert_allclose(
        model(ember.from_numpy(x)).detach().numpy(),
        t_model(torch.from_numpy(x)).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )
    assert type(back["model"]) is OrderedDict and back["model"]._metadata[""] == {"version": 1}
    state = back["opt"]["state"][0]
    np.testing.assert_array_equal(state["exp_avg"].numpy(), opt.state_dict()["state"][0]["exp_avg"].numpy())
    assert back["opt"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert back["nested"]["scalar"].shape == () and back["nested"]["scalar"].item() == 2.5
    np.testing.assert_array_equal(back["nested"]["list"][1][0].numpy(), base.reshape(3, 4).t().numpy())
    assert back["epoch"] == 3 and back["ints"].dtype == ember.int64 and back["half"].dtype == ember.float16
    assert isinstance(back["p"], ember.nn.Parameter) and back["p"].requires_grad
    back["shared_b"][0, 3] = 100.0  # views of one storage stay views of one storage
    assert back["shared_a"][1].item() == 100.0
    assert ember.load(io.BytesIO(path.read_bytes()))["epoch"] == 3


def with_pickle(tmp_path, payload: bytes) -> str:
    """A real torch.save zip whose data.pkl is replaced by ``payload``."""
    src = tmp_path / "good.pt"
    torch.save({"w": torch.ones(2)}, src)
    dst = str(tmp_path / "evil.pt")
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = payload if info.filename.endswith("/data.pkl") else zin.read(info)
            zout.writestr(info, data)
    return dst


class Reduce:
    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def payloads(marker: str) -> dict:
    import subprocess

    cmd = f"touch {marker}"
    return {
        "os.system": (pickle.dumps(Reduce(os.system, cmd), protocol=2), "system"),
        "eval": (pickle.dumps(Reduce(eval, f"__import__('os').system({cmd!r})"), protocol=2), "eval"),
        "exec proto 5": (pickle.dumps(Reduce(exec, "import os"), protocol=5), "exec"),
        "popen in a dict": (
            pickle.dumps({"w": Reduce(subprocess.Popen, ["touch", marker])}, protocol=4),
            "Popen",
        ),
        "global nested in allowed call": (
            (
                b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(cbuiltins\ngetattr\n"
                b"X\x02\x00\x00\x00osX\x06\x00\x00\x00systemtR."
            ),
            "getattr",
        ),
        "dotted name": (b"\x80\x02ctorch._utils\nos.system\nX\x01\x00\x00\x00x\x85R.", "os.system"),
        "stack global": (b"\x80\x04\x8c\x08builtins\x8c\x04exec\x93\x8c\x01x\x85R.", "exec"),
        "reduce on a string": (b"\x80\x02X\x01\x00\x00\x00x)R.", "REDUCE"),
        "build sets class": (b"\x80\x02ccollections\nOrderedDict\n)R}X\t\x00\x00\x00__class__Nsb.", "BUILD"),
        "newobj": (b"\x80\x02ccollections\nOrderedDict\n)\x81.", "NEWOBJ"),
        "inst": (b"(ios\nsystem\nX\x01\x00\x00\x00x.", "INST"),
        "storage path traversal": (
            (
                b"\x80\x02(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x0c\x00\x00\x00../../passwd"
                b"X\x03\x00\x00\x00cpuK\x02tQ."
            ),
            "missing",
        ),
        "ordered dict with dict arg": (b"\x80\x02ccollections\nOrderedDict\n}\x85R.", "OrderedDict"),
    }


@pytest.mark.parametrize("name", list(payloads("m")))
def test_malicious_pickles_are_refused_without_running(tmp_path, name):
    marker = tmp_path / "pwned"
    payload, mention = payloads(str(marker))[name]
    with pytest.raises(SerializationError, match=mention) as info:
        ember.load(with_pickle(tmp_path, payload))
    assert "evil.pt" in str(info.value)
    assert not marker.exists()
    if "storage" not in name:  # the rest fail without any archive behind them
        with pytest.raises(SerializationError):
            unpickle(payload, lambda pid: None, lambda a, loc: ember.tensor(a))
        assert not marker.exists()


def test_legacy_pickle_checkpoint_is_refused(tmp_path):
    path = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(SerializationError, match="legacy"):
        ember.load(path)


def test_truncated_and_corrupt_zips_raise_serialization_error(tmp_path):
    path = tmp_path / "ok.pt"
    torch.save({"w": torch.ones(1000)}, path)
    blob = path.read_bytes()
    for cut in (10, len(blob) // 2, len(blob) - 30):
        bad = tmp_path / "cut.pt"
        bad.write_bytes(blob[:cut])
        with pytest.raises(SerializationError):
            ember.load(bad)


def test_unpickle_plain_data_matches_pickle():
    obj = {"a": [1, -2, 2**100, 1.5, None, True, False], "b": ("x", b"bytes", ()), 3: {"n": [[]]}}
    for protocol in (2, 3, 4, 5):
        assert unpickle(pickle.dumps(obj, protocol=protocol), None, None) == obj
