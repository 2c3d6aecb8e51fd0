"""``ember.testing``: assert_close's decisions and messages, and make_tensor's ranges."""

import warnings

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip

# (actual, expected, keyword arguments), built by each library from the same description
CASES = {
    "equal_floats": (lambda T: T.tensor([1.0, 2.0]), lambda T: T.tensor([1.0, 2.0 + 1e-7]), {}),
    "not_close": (lambda T: T.tensor([1.0, 2.0]), lambda T: T.tensor([1.0, 2.5]), {}),
    "matrix": (lambda T: T.ones(2, 2), lambda T: T.zeros(2, 2), {}),
    "scalar_tensor": (lambda T: T.tensor(1.0), lambda T: T.tensor(2.0), {}),
    "ints": (lambda T: T.tensor([1, 2]), lambda T: T.tensor([1, 3]), {}),
    "bools": (lambda T: T.tensor([True]), lambda T: T.tensor([False]), {}),
    "shape": (lambda T: T.ones(2), lambda T: T.ones(3), {}),
    "dtype": (lambda T: T.ones(2), lambda T: T.ones(2, dtype=T.float64), {}),
    "no_dtype_check": (
        lambda T: T.ones(1),
        lambda T: T.ones(1, dtype=T.float64) + 1e-6,
        {"check_dtype": False},
    ),
    "nan": (lambda T: T.tensor([float("nan")]), lambda T: T.tensor([float("nan")]), {}),
    "nan_equal": (
        lambda T: T.tensor([float("nan")]),
        lambda T: T.tensor([float("nan")]),
        {"equal_nan": True},
    ),
    "inf_signs": (lambda T: T.tensor([1.0, float("inf")]), lambda T: T.tensor([1.0, float("-inf")]), {}),
    "inf_same": (lambda T: T.tensor([float("inf")]), lambda T: T.tensor([float("inf")]), {}),
    "half": (lambda T: T.ones(3, dtype=T.float16), lambda T: T.ones(3, dtype=T.float16) + 0.0005, {}),
    "explicit_tol": (lambda T: T.ones(3), lambda T: T.ones(3) * 1.01, {"rtol": 0.05, "atol": 0}),
    "requires_grad": (lambda T: T.ones(2, requires_grad=True), lambda T: T.ones(2), {}),
    "msg": (lambda T: T.ones(1), lambda T: T.zeros(1), {"msg": "custom"}),
    "msg_callable": (lambda T: T.ones(1), lambda T: T.zeros(1), {"msg": lambda m: "X" + m[:10]}),
    "nested": (lambda T: [T.ones(1), {"a": T.ones(2)}], lambda T: [T.ones(1), {"a": T.zeros(2)}], {}),
    "numbers": (lambda T: 1.0, lambda T: 1.1, {}),
    "int_numbers": (lambda T: 2, lambda T: 3, {}),
    "bool_numbers": (lambda T: True, lambda T: False, {}),
    "number_types": (lambda T: 1, lambda T: 1.0, {}),
    "lengths": (lambda T: [1, 2], lambda T: [1, 2, 3], {}),
    "keys": (lambda T: {"a": 1}, lambda T: {"b": 1}, {}),
    "tuple_vs_list": (lambda T: [1, 2], lambda T: (1, 2), {}),
    "arrays": (lambda T: np.ones(2, np.float32), lambda T: np.zeros(2, np.float32), {}),
    "none": (lambda T: None, lambda T: None, {}),
    "complex": (lambda T: T.tensor([1 + 1j]), lambda T: T.tensor([1 + 1.5j]), {}),
}


def _outcome(lib, name):
    actual, expected, kwargs = CASES[name]
    try:
        lib.testing.assert_close(actual(lib), expected(lib), **kwargs)
    except (AssertionError, TypeError, ValueError) as error:
        return type(error).__name__, str(error).replace("torch.", "").replace("ember.", "")
    return "ok", ""


def test_assert_close_passes_and_fails():
    assert _outcome(ember, "equal_floats") == ("ok", "")
    assert _outcome(ember, "nan_equal") == ("ok", "")
    kind, message = _outcome(ember, "not_close")
    assert kind == "AssertionError"
    assert message == (
        "Tensor-likes are not close!\n\nMismatched elements: 1 / 2 (50.0%)\n"
        "Greatest absolute difference: 0.5 at index (1,) (up to 1e-05 allowed)\n"
        "Greatest relative difference: 0.20000000298023224 at index (1,) (up to 1.3e-06 allowed)"
    )
    assert _outcome(ember, "nested")[1].endswith("The failure occurred for item [1]['a']")
    assert (
        _outcome(ember, "shape")[1]
        == "The values for attribute 'shape' do not match: Size([2]) != Size([3])."
    )
    with pytest.raises(ValueError, match="Both 'rtol' and 'atol'"):
        ember.testing.assert_close(ember.ones(1), ember.ones(1), rtol=1e-3)
    with pytest.raises(TypeError, match="No comparison pair"):
        ember.testing.assert_close(ember.ones(1), 1.0)


@pytest.mark.parametrize("name", CASES)
def test_assert_close_matches_pytorch(name):
    torch = torch_or_skip()
    assert _outcome(ember, name) == _outcome(torch, name)


def test_assert_allclose_is_deprecated_and_ignores_dtype():
    with pytest.warns(FutureWarning, match="assert_allclose"):
        ember.testing.assert_allclose(ember.ones(2), ember.ones(2, dtype=ember.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ember.testing.assert_allclose(ember.ones(2), [1, 1])
        with pytest.raises(AssertionError):
            ember.testing.assert_allclose(ember.ones(2), [1, 2])


@pytest.mark.parametrize(
    "dtype, low, high",
    [("float32", -9, 9), ("int64", -9, 9), ("uint8", 0, 9), ("int8", -9, 9), ("float16", -9, 9)],
)
def test_make_tensor_default_ranges(dtype, low, high):
    ember.manual_seed(0)
    t = ember.testing.make_tensor(200, dtype=getattr(ember, dtype), device="cpu")
    assert t.dtype == getattr(ember, dtype) and t.shape == (200,)
    assert low <= t.double().min().item() and t.double().max().item() <= high


def test_make_tensor_options():
    make = ember.testing.make_tensor
    assert make((2, 3), dtype=ember.float32, device="cpu").shape == (2, 3)
    assert make(2, 3, dtype=ember.float32, device="cpu", requires_grad=True).requires_grad
    assert not make(4, 4, dtype=ember.float32, device="cpu", noncontiguous=True).is_contiguous()
    assert (make(100, dtype=ember.int64, device="cpu", low=-1, high=1, exclude_zero=True) != 0).all()
    assert make(5, dtype=ember.bool, device="cpu").dtype == ember.bool
    assert make(5, dtype=ember.complex64, device="cpu").dtype == ember.complex64
    with pytest.raises(ValueError, match="`low` must be less than `high`"):
        make(2, dtype=ember.float32, device="cpu", low=2, high=1)
