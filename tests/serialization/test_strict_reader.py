"""The strict safetensors reader: every malformed file is a SerializationError, found early."""

from __future__ import annotations

import io
import json
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ember
from ember.serialization import SerializationError, safetensors


def build(header: dict | str | bytes, data: bytes = b"") -> bytes:
    raw = (
        header
        if isinstance(header, bytes)
        else (header if isinstance(header, str) else json.dumps(header)).encode()
    )
    return struct.pack("<Q", len(raw)) + raw + data


def entry(dtype="F32", shape=(2,), offsets=(0, 8)) -> dict:
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


def load_bytes(blob: bytes, tmp_path, name="bad.safetensors"):
    path = tmp_path / name
    path.write_bytes(blob)
    return ember.load(path)


CASES = {
    "too short": (b"\x01\x00", None, "shorter than the 8-byte"),
    "header cap": (struct.pack("<Q", 2**40) + b"{}", None, "exceeds the cap"),
    "header past end": (struct.pack("<Q", 100) + b"{}", None, "past the end"),
    "not json": (build("{nope"), None, "not valid JSON"),
    "not utf8": (build(b'{"\xff": 1}'), None, "not valid JSON"),
    "not an object": (build("[1, 2]"), None, "not an object"),
    "nan constant": (build('{"__metadata__": {"a": NaN}}'), None, "not valid JSON"),
    "duplicate key": (
        build(f'{{"w": {json.dumps(entry())}, "w": {json.dumps(entry())}}}', bytes(8)),
        "w",
        "appears twice",
    ),
    "unknown dtype": (build({"w": entry(dtype="F128")}, bytes(8)), "w", "unknown"),
    "unsupported dtype": (build({"w": entry(dtype="U32")}, bytes(8)), "w", "not supported"),
    "extra field": (build({"w": {**entry(), "x": 1}}, bytes(8)), "w", "exactly dtype"),
    "negative dim": (build({"w": entry(shape=(-2,))}, bytes(8)), "w", "shape"),
    "float dim": (build({"w": entry(shape=(2.0,))}, bytes(8)), "w", "shape"),
    "bool dim": (build({"w": entry(shape=(True, 2))}, bytes(8)), "w", "shape"),
    "rank 65": (build({"w": entry(shape=(1,) * 65, offsets=(0, 4))}, bytes(4)), "w", "shape"),
    "reversed offsets": (build({"w": entry(offsets=(8, 0))}, bytes(8)), "w", "reversed"),
    "offsets past data": (build({"w": entry(offsets=(0, 16))}, bytes(8)), "w", "past the"),
    "wrong byte length": (build({"w": entry(shape=(3,))}, bytes(8)), "w", "needs 3 \\* 4"),
    "huge shape": (build({"w": entry(shape=(2**62, 2**62))}, bytes(8)), "w", "needs"),
    "gap": (build({"a": entry(offsets=(0, 8)), "b": entry(offsets=(16, 24))}, bytes(24)), "b", "gap"),
    "overlap": (
        build({"a": entry(offsets=(0, 8)), "b": entry(shape=(1,), offsets=(4, 8))}, bytes(8)),
        "b",
        "overlaps",
    ),
    "trailing bytes": (build({"w": entry()}, bytes(12)), None, "unaccounted"),
    "bad metadata": (build({"__metadata__": {"a": 1}}), None, "__metadata__"),
    "offsets not ints": (build({"w": entry(offsets=("0", "8"))}, bytes(8)), "w", "data_offsets"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_violation_names_file_tensor_and_reason(tmp_path, name):
    blob, tensor, reason = CASES[name]
    with pytest.raises(SerializationError, match=reason) as info:
        load_bytes(blob, tmp_path)
    assert info.value.file.endswith("bad.safetensors") and "bad.safetensors" in str(info.value)
    assert info.value.tensor == tensor


def valid_file() -> bytes:
    buf = io.BytesIO()
    obj = {
        "w": ember.arange(6.0).reshape(2, 3),
        "b": ember.tensor([1, 2], dtype=ember.int16),
        "m": ember.tensor([True, False]),
        "nested": {"lr": 0.1, "k": (1, None)},
        "s": ember.tensor(2.0),
    }
    ember.save(obj, buf)
    return buf.getvalue()


def test_broken_structure_is_refused(tmp_path):
    def with_structure(structure) -> bytes:
        text = structure if isinstance(structure, str) else json.dumps(structure)
        meta = {"ember.structure": text}
        buf = io.BytesIO()
        safetensors.write(buf, [("w", np.ones(2, np.float32))], meta)
        return buf.getvalue()

    bad = {
        "unknown tag": (["x", []], "unknown tag"),
        "missing tensor": (["l", [["T", "w"], ["T", "nope"]]], "does not hold"),
        "unreferenced tensor": (["l", []], "not referenced"),
        "unhashable key": (["d", [[["l", []], 1]]], "unhashable"),
        "bad float": (["l", [["T", "w"], ["f", "1.5"]]], "float node"),
        "bad flag": (["T", "w", {"requires_grad": "yes"}], "flag"),
        "bad device": (["T", "w", {"device": "tpu"}], "device"),
    }
    deep = '["l",[' * 5000 + '["T","w"]' + "]]" * 5000
    bad["too deep for JSON"] = (deep, "JSON")
    bad["deep"] = ('["l",[' * 150 + '["T","w"]' + "]]" * 150, "deeper")
    for structure, reason in bad.values():
        with pytest.raises(SerializationError, match=reason):
            load_bytes(with_structure(structure), tmp_path)


def test_integer_tensor_cannot_require_grad(tmp_path):
    buf = io.BytesIO()
    safetensors.write(
        buf,
        [("i", np.ones(2, np.int64))],
        {"ember.structure": json.dumps(["T", "i", {"requires_grad": True}])},
    )
    with pytest.raises(SerializationError, match="'i'.*require grad"):
        load_bytes(buf.getvalue(), tmp_path)


@st.composite
def mutated_files(draw):
    blob = bytearray(valid_file())
    action = draw(st.sampled_from(["flip", "truncate", "splice", "header"]))
    if action == "truncate":
        return bytes(blob[: draw(st.integers(0, len(blob) - 1))])
    if action == "flip":
        for _ in range(draw(st.integers(1, 8))):
            blob[draw(st.integers(0, len(blob) - 1))] = draw(st.integers(0, 255))
        return bytes(blob)
    if action == "splice":
        at = draw(st.integers(0, len(blob)))
        return bytes(blob[:at] + draw(st.binary(max_size=32)) + blob[at:])
    (n,) = struct.unpack("<Q", blob[:8])  # rewrite one number in the JSON header
    header = blob[8 : 8 + n].decode()
    digits = [i for i, c in enumerate(header) if c.isdigit()]
    i = draw(st.sampled_from(digits))
    new = draw(st.sampled_from(["0", "9", "99999999999999999999", "-1", "1.5", "1e9", "7"]))
    header = header[:i] + new + header[i + 1 :]
    return struct.pack("<Q", len(header)) + header.encode() + bytes(blob[8 + n :])


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.slow
@given(blob=mutated_files())
def test_fuzz_only_serialization_errors_and_bounded_allocation(tmp_path, blob):
    path = tmp_path / "fuzz.safetensors"
    path.write_bytes(blob)
    tracemalloc.start()
    try:
        ember.load(path)
    except SerializationError:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    # Python objects for the parsed JSON cost a fixed multiple of the header; tensor data is mapped
    assert peak <= 256 * 1024 + 64 * len(blob), (peak, len(blob))
    with pytest.raises(SerializationError):
        ember.load(io.BytesIO(blob[:4]))


def test_claimed_huge_tensor_allocates_nothing(tmp_path):
    blob = build({"w": entry(shape=(2**31, 2**31), offsets=(0, 2**64))}, bytes(8))
    tracemalloc.start()
    with pytest.raises(SerializationError):
        load_bytes(blob, tmp_path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1 << 20
