"""NumPy scalars as operands: PyTorch treats them like Python numbers of their kind."""

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip

OPERATIONS = {
    "mul": lambda t, s: t * s,
    "rmul": lambda t, s: s * t,
    "add": lambda t, s: t + s,
    "rsub": lambda t, s: s - t,
    "div": lambda t, s: t / s,
    "rdiv": lambda t, s: s / t,
    "pow": lambda t, s: t**s,
    "rpow": lambda t, s: s**t,
    "clamp": lambda t, s: t.clamp(min=s),
    "lerp": lambda t, s: t.lerp(t * 2, s),
}
REFERENCES = {"clamp": lambda a, s: np.maximum(a, s), "lerp": lambda a, s: a + s * (2 * a - a)}
SCALARS = [np.float64(2.0), np.float32(2.0), np.float16(2.0), np.int64(2), np.int32(2)]
DTYPES = ["float32", "float16", "int64"]
# lerp needs floating tensors: its int64 cases are not generated
CASES = [(n, d) for n in OPERATIONS for d in DTYPES if not (n == "lerp" and d == "int64")]


def _expected_dtype(name: str, tensor_dtype: str, scalar) -> str:
    """PyTorch's rule: a scalar only lifts the category (to int64 or the default float)."""
    if tensor_dtype.startswith("float"):
        return tensor_dtype
    if isinstance(scalar, np.floating) or name in ("div", "rdiv"):
        return "float32"
    return "int64"


@pytest.mark.parametrize(("name", "tensor_dtype"), CASES)
@pytest.mark.parametrize("scalar", SCALARS, ids=lambda s: type(s).__name__)
def test_numpy_scalar_keeps_the_tensor_dtype(name, tensor_dtype, scalar):
    t = ember.tensor([1, 4], dtype=getattr(ember, tensor_dtype))
    result = OPERATIONS[name](t, scalar)
    assert result.dtype == getattr(ember, _expected_dtype(name, tensor_dtype, scalar))
    expected = REFERENCES.get(name, OPERATIONS[name])(np.array([1.0, 4.0]), float(scalar))
    np.testing.assert_allclose(result.double().numpy(), expected, rtol=1e-3)


@pytest.mark.parametrize(("name", "tensor_dtype"), CASES)
@pytest.mark.parametrize("scalar", SCALARS, ids=lambda s: type(s).__name__)
def test_numpy_scalar_dtype_matches_pytorch(name, tensor_dtype, scalar):
    torch = torch_or_skip()
    ours = OPERATIONS[name](ember.tensor([1, 4], dtype=getattr(ember, tensor_dtype)), scalar)
    theirs = OPERATIONS[name](torch.tensor([1, 4], dtype=getattr(torch, tensor_dtype)), scalar)
    assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
    np.testing.assert_allclose(ours.double().numpy(), theirs.double().numpy(), rtol=1e-3)


def test_attention_scaling_by_numpy_sqrt_stays_float32():
    q = ember.ones(2, 4)
    scores = q @ q.T / np.sqrt(q.shape[-1])
    assert scores.dtype == ember.float32
    np.testing.assert_allclose(scores.numpy(), np.full((2, 2), 2.0))


BOOL_SUBTRACTIONS = {
    "bool_bool": lambda lib: lib.tensor([True]) - lib.tensor([True]),
    "bool_pybool": lambda lib: lib.tensor([True]) - True,
    "bool_int": lambda lib: lib.tensor([True]).sub(1),
    "int_bool": lambda lib: lib.tensor([1]) - lib.tensor([True]),
    "rsub": lambda lib: 1 - lib.tensor([True]),
    "float_bool": lambda lib: lib.tensor([True]) - 1.5,
    "in_place": lambda lib: lib.tensor([True]).sub_(lib.tensor([False])),
    "function": lambda lib: lib.sub(lib.tensor([True]), lib.tensor([True])),
    "float_minus_pybool": lambda lib: lib.tensor([1.5]) - True,
    "pybool_minus_int": lambda lib: False - lib.tensor([3]),
}


def _first_line(call, lib):
    try:
        call(lib)
    except RuntimeError as error:
        return str(error).split(". ")[0]
    return "no error"


@pytest.mark.parametrize("name", BOOL_SUBTRACTIONS)
def test_subtraction_with_a_bool_tensor_is_refused(name):
    message = _first_line(BOOL_SUBTRACTIONS[name], ember)
    assert message.startswith("Subtraction, the `-` operator, with ")
    assert (ember.tensor([1.5]) - ember.tensor([1.0])).tolist() == [0.5]


@pytest.mark.parametrize("name", BOOL_SUBTRACTIONS)
def test_bool_subtraction_errors_match_pytorch(name):
    torch = torch_or_skip()
    assert _first_line(BOOL_SUBTRACTIONS[name], ember) == _first_line(BOOL_SUBTRACTIONS[name], torch)
