"""ember.save / ember.load round trips: containers, scalars, sharing, map_location, mmap."""

from __future__ import annotations

import io
import json
import math
import struct
from collections import OrderedDict

import numpy as np
import pytest

import ember
from ember.serialization import SerializationError


def roundtrip(obj, tmp_path, **load_args):
    path = tmp_path / "ckpt.safetensors"
    ember.save(obj, path)
    return ember.load(path, **load_args)


def header_of(path) -> dict:
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n])


def test_nested_containers_keep_types_and_values(tmp_path):
    obj = {
        "ints": {0: 1, -3: 2**70},
        "floats": [0.5, -0.0, math.inf, -math.inf, 1e-300],
        "tuple": (1, ("a", None), True),
        "str": "é ü 🙂",
        "none": None,
        "bool": False,
        "dtype": ember.float16,
        "device": ember.device("cpu"),
        "size": ember.Size([2, 3]),
        (1, "k"): "tuple key",
        2.5: "float key",
        None: "none key",
    }
    back = roundtrip(obj, tmp_path)
    assert back == obj
    assert type(back["tuple"]) is tuple and type(back["tuple"][1]) is tuple
    assert type(back["size"]) is ember.Size
    assert math.copysign(1.0, back["floats"][1]) == -1.0
    assert math.isnan(roundtrip({"x": math.nan}, tmp_path)["x"])


@pytest.mark.parametrize(
    "dtype",
    [
        ember.float64,
        ember.float32,
        ember.float16,
        ember.bfloat16,
        ember.int64,
        ember.int32,
        ember.int16,
        ember.int8,
        ember.uint8,
        ember.bool,
    ],
)
def test_every_dtype_roundtrips_bitwise(tmp_path, dtype):
    t = (ember.randn(3, 4) * 50).to(dtype)
    back = roundtrip({"t": t, "scalar": t[0, 0]}, tmp_path)
    assert back["t"].dtype == dtype and back["scalar"].shape == ()
    np.testing.assert_array_equal(back["t"].numpy().view(np.uint8), t.numpy().view(np.uint8))


def test_scalar_empty_and_non_contiguous_tensors(tmp_path):
    base = ember.arange(12.0).reshape(3, 4)
    back = roundtrip(
        {"s": ember.tensor(2.0), "e": ember.zeros(0, 5), "t": base.t(), "v": base[:, 1]}, tmp_path
    )
    assert back["s"].shape == () and back["s"].item() == 2.0
    assert back["e"].shape == (0, 5)
    np.testing.assert_array_equal(back["t"].numpy(), base.t().numpy())
    np.testing.assert_array_equal(back["v"].numpy(), base[:, 1].numpy())


def test_flat_state_dict_entries_are_its_keys(tmp_path):
    model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.ReLU(), ember.nn.Linear(4, 2))
    path = tmp_path / "m.safetensors"
    ember.save(model.state_dict(), path)
    header = header_of(path)
    assert set(header) - {"__metadata__"} == set(model.state_dict())
    assert header["__metadata__"]["format"] == "pt"
    back = ember.load(path)
    assert type(back) is OrderedDict and list(back) == list(model.state_dict())
    assert back._metadata == model.state_dict()._metadata
    model2 = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.ReLU(), ember.nn.Linear(4, 2))
    model2.load_state_dict(back)
    x = ember.randn(5, 3)
    np.testing.assert_array_equal(model(x).detach().numpy(), model2(x).detach().numpy())


def test_shared_storage_is_stored_once_and_comes_back_shared(tmp_path):
    """Identical arrays (same memory, shape, strides, dtype) -> one entry, one tensor on load;
    tensors that only overlap are stored as separate copies."""
    w = ember.randn(4, 4)
    path = tmp_path / "tied.safetensors"
    ember.save({"enc.weight": w, "dec.weight": w, "alias": w.detach(), "row": w[1]}, path)
    header = header_of(path)
    assert set(header) == {"__metadata__", "enc.weight", "row"}
    back = ember.load(path)
    assert back["enc.weight"] is back["dec.weight"] is back["alias"]
    back["enc.weight"][1, 0] = 42.0  # the partial view was a copy: unaffected
    assert back["row"][0].item() == w[1, 0].item()


def test_same_memory_with_different_flags_shares_the_array(tmp_path):
    p = ember.nn.Parameter(ember.randn(3))
    back = roundtrip({"p": p, "d": p.detach()}, tmp_path)
    assert isinstance(back["p"], ember.nn.Parameter) and back["p"].requires_grad
    assert not back["d"].requires_grad
    back["d"][0] = 7.0
    assert back["p"][0].item() == 7.0


def test_optimizer_and_scheduler_state_roundtrip(tmp_path):
    model = ember.nn.Linear(3, 2)
    opt = ember.optim.Adam(model.parameters(), lr=0.1, betas=(0.8, 0.9))
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(2):
        opt.zero_grad()
        model(ember.randn(4, 3)).sum().backward()
        opt.step()
        sched.step()
    back = roundtrip({"opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path)
    assert list(back["opt"]["state"]) == [0, 1]  # int keys stay ints
    assert back["opt"]["param_groups"][0]["betas"] == (0.8, 0.9)
    assert back["sched"] == sched.state_dict()
    opt2 = ember.optim.Adam(model.parameters(), lr=0.1)
    opt2.load_state_dict(back["opt"])
    for key, value in opt.state_dict()["state"][0].items():
        np.testing.assert_array_equal(np.asarray(opt2.state_dict()["state"][0][key]), np.asarray(value))


def test_loaded_tensors_are_writable_and_the_file_is_untouched(tmp_path):
    path = tmp_path / "w.safetensors"
    ember.save({"w": ember.ones(1000)}, path)
    before = path.read_bytes()
    back = ember.load(path)
    back["w"].add_(1.0)
    assert back["w"][0].item() == 2.0
    assert path.read_bytes() == before
    assert ember.load(path, mmap=False)["w"][0].item() == 1.0


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    ember.save({"a": ember.arange(3)}, buf)
    buf.seek(0)
    assert ember.load(buf)["a"].tolist() == [0, 1, 2]
    with open(tmp_path / "f.bin", "wb") as f:
        ember.save([ember.ones(2)], f)
    with open(tmp_path / "f.bin", "rb") as f:
        assert ember.load(f)[0].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("map_location", ["cpu", ember.device("cpu"), {"cpu": "cpu"}, None])
def test_map_location_forms(tmp_path, map_location):
    back = roundtrip({"w": ember.ones(2)}, tmp_path, map_location=map_location)
    assert back["w"].device == ember.device("cpu")


def test_map_location_callable_sees_location_and_may_replace(tmp_path):
    seen = []

    def fn(tensor, location):
        seen.append(location)
        return tensor * 2 if tensor.numel() == 2 else None

    back = roundtrip({"a": ember.ones(2), "b": ember.ones(3)}, tmp_path, map_location=fn)
    assert seen == ["cpu", "cpu"]
    assert back["a"].tolist() == [2.0, 2.0] and back["b"].tolist() == [1.0, 1.0, 1.0]


def test_saved_cuda_location_without_cuda_names_the_tensor(tmp_path):
    from ember.serialization import safetensors

    path = tmp_path / "cuda.safetensors"
    meta = {"ember.structure": json.dumps(["d", [["w", ["T", "w", {"device": "cuda:0"}]]]])}
    with open(path, "wb") as f:
        safetensors.write(f, [("w", np.ones(2, np.float32))], meta)
    if ember.cuda.is_available():
        pytest.skip("CUDA present: the tensor would load there")
    with pytest.raises(SerializationError, match="'w'.*map_location"):
        ember.load(path)
    assert ember.load(path, map_location="cpu")["w"].tolist() == [1.0, 1.0]
    assert ember.load(path, map_location={"cuda:0": "cpu"})["w"].device.type == "cpu"


def test_unsupported_objects_and_cycles_are_refused(tmp_path):
    with pytest.raises(SerializationError, match=r"\['f'\].*object"):
        ember.save({"f": object()}, tmp_path / "x")
    loop: list = []
    loop.append(loop)
    with pytest.raises(SerializationError, match="cycle"):
        ember.save(loop, tmp_path / "x")
    with pytest.raises(SerializationError, match="key"):
        ember.save({ember.ones(1): 1}, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_plain_safetensors_file_loads_as_a_dict(tmp_path):
    from ember.serialization import safetensors

    path = tmp_path / "plain.safetensors"
    with open(path, "wb") as f:
        safetensors.write(f, [("a", np.arange(3, dtype=np.int64)), ("b", np.ones(2, np.float16))])
    back = ember.load(path)
    assert set(back) == {"a", "b"} and back["a"].dtype == ember.int64
