"""dtype objects and PyTorch's promotion rules, checked against torch for every pair."""

import itertools
import pickle

import numpy as np
import pytest

import ember
from ember import dtypes
from tests.helpers import torch_or_skip

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
PAIRS = list(itertools.product(NAMES, NAMES))


def _name(d) -> str:
    return str(d).split(".")[-1]


@pytest.mark.parametrize("a,b", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_promote_types_matches_torch(a, b):
    torch = torch_or_skip()
    got = ember.promote_types(getattr(ember, a), getattr(ember, b))
    assert _name(got) == _name(torch.promote_types(getattr(torch, a), getattr(torch, b)))


def _operands(lib, kind, dtype_name):
    dt = getattr(lib, dtype_name)
    if kind == "tensor":
        return lib.ones(2, dtype=dt)
    return lib.ones((), dtype=dt)


SCALARS = [True, 2, 2.5]
KINDS = list(itertools.product(["tensor", "zerodim"], ["tensor", "zerodim"]))


@pytest.mark.parametrize("a,b", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
@pytest.mark.parametrize("ka,kb", KINDS, ids=[f"{x}-{y}" for x, y in KINDS])
def test_result_type_tensor_combinations(a, b, ka, kb):
    torch = torch_or_skip()
    got = dtypes.result_type(_operands(ember, ka, a), _operands(ember, kb, b))
    want = torch.result_type(_operands(torch, ka, a), _operands(torch, kb, b))
    assert _name(got) == _name(want)


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("kind", ["tensor", "zerodim"])
@pytest.mark.parametrize("scalar", SCALARS, ids=["bool", "int", "float"])
def test_result_type_with_python_scalars(a, kind, scalar):
    torch = torch_or_skip()
    got = dtypes.result_type(_operands(ember, kind, a), scalar)
    want = torch.result_type(_operands(torch, kind, a), scalar)
    assert _name(got) == _name(want)


@pytest.mark.parametrize("a", ["int64", "float16", "float32", "uint8", "bool"])
def test_binary_ops_use_the_promoted_dtype(a):
    torch = torch_or_skip()
    for other in (1, 1.5, True):
        e = ember.ones(2, dtype=getattr(ember, a)) * other
        t = torch.ones(2, dtype=getattr(torch, a)) * other
        assert _name(e.dtype) == _name(t.dtype)
    e = ember.ones(2, dtype=getattr(ember, a)) + ember.ones((), dtype=ember.float64)
    t = torch.ones(2, dtype=getattr(torch, a)) + torch.ones((), dtype=torch.float64)
    assert _name(e.dtype) == _name(t.dtype)


def test_result_type_follows_default_dtype():
    ember.set_default_dtype(ember.float64)
    assert dtypes.result_type(ember.ones(2, dtype=ember.int64), 1.5) is ember.float64
    assert dtypes.result_type(ember.ones(2, dtype=ember.float32), 1.5) is ember.float32
    assert dtypes.result_type(1, 2.0) is ember.float64
    with pytest.raises(TypeError, match="no tensor or number"):
        dtypes.result_type()


def test_set_default_dtype():
    assert ember.get_default_dtype() is ember.float32
    ember.set_default_dtype(ember.float64)
    assert ember.get_default_dtype() is ember.float64
    assert ember.tensor(1.0).dtype == ember.float64 and ember.ones(1).dtype == ember.float64
    ember.set_default_dtype(ember.bfloat16)
    assert ember.ones(1).dtype == ember.bfloat16
    with pytest.raises(TypeError, match="only floating-point types.*int64"):
        ember.set_default_dtype(ember.int64)


def test_bfloat16_via_ml_dtypes():
    pytest.importorskip("ml_dtypes")
    t = ember.tensor([1.0, 2.5, 3.3], dtype=ember.bfloat16)
    assert t.dtype == ember.bfloat16 and t.dtype.is_floating_point
    assert t.numpy().dtype.name == "bfloat16"
    assert t.float().tolist() == [1.0, 2.5, 3.296875]
    assert (t + t).dtype == ember.bfloat16
    assert (t + ember.ones(3, dtype=ember.float16)).dtype == ember.float32
    assert ember.finfo(ember.bfloat16).eps == 0.0078125
    assert ember.ones(2).bfloat16().dtype == ember.bfloat16


def test_dtype_objects():
    assert ember.float is ember.float32 and ember.double is ember.float64 and ember.half is ember.float16
    assert ember.long is ember.int64 and ember.int is ember.int32 and ember.short is ember.int16
    assert repr(ember.float32) == "ember.float32"
    assert ember.float32.is_floating_point and not ember.int64.is_floating_point
    assert ember.int8.is_signed and not ember.uint8.is_signed and not ember.bool.is_signed
    assert ember.float64.itemsize == 8 and not ember.float64.is_complex
    assert pickle.loads(pickle.dumps(ember.float16)) is ember.float16
    assert dtypes.as_dtype(float) is ember.float32 and dtypes.as_dtype(int) is ember.int64
    assert dtypes.as_dtype(bool) is ember.bool and dtypes.as_dtype("float64") is ember.float64
    assert dtypes.as_dtype(np.dtype("int16")) is ember.int16 and dtypes.as_dtype(np.float32) is ember.float32
    assert dtypes.to_numpy_dtype(ember.int8) == np.int8
    assert dtypes.from_numpy_dtype(np.complex64) is ember.complex64 and ember.complex64.is_complex
    with pytest.raises(TypeError, match="uint32.*supported types"):
        dtypes.from_numpy_dtype(np.uint32)


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64"])
def test_finfo_matches_torch(name):
    torch = torch_or_skip()
    e, t = ember.finfo(getattr(ember, name)), torch.finfo(getattr(torch, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(e, attr) == getattr(t, attr), attr
    assert ember.finfo().bits == 32


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_matches_torch(name):
    torch = torch_or_skip()
    e, t = ember.iinfo(getattr(ember, name)), torch.iinfo(getattr(torch, name))
    assert (e.bits, e.max, e.min) == (t.bits, t.max, t.min)
    with pytest.raises(TypeError):
        ember.iinfo(ember.float32)
