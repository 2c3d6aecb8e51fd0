"""Test helpers with PyTorch's names (``torch.testing``): ``assert_close`` and ``make_tensor``.

``assert_close`` compares tensors, NumPy arrays, numbers, and sequences or mappings of them,
with PyTorch's default tolerances per dtype and its failure messages.

>>> import ember
>>> ember.testing.assert_close(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 2.0 + 1e-7]))
>>> ember.testing.assert_close(ember.tensor([1.0]), ember.tensor([1.5]))
Traceback (most recent call last):
    ...
AssertionError: Tensor-likes are not close!
<BLANKLINE>
Mismatched elements: 1 / 1 (100.0%)
Greatest absolute difference: 0.5 at index (0,) (up to 1e-05 allowed)
Greatest relative difference: 0.3333333432674408 at index (0,) (up to 1.3e-06 allowed)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

import ember
from ember import dtypes

__all__ = ["assert_allclose", "assert_close", "make_tensor"]

# (rtol, atol): PyTorch's defaults, the same for a dtype's complex twin
_TOLERANCES = {
    "float16": (1e-3, 1e-5),
    "bfloat16": (1.6e-2, 1e-5),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
    "complex32": (1e-3, 1e-5),
    "complex64": (1.3e-6, 1e-5),
    "complex128": (1e-7, 1e-7),
}
_NUMBERS = (bool, int, float, complex)


def _dtype_name(dtype) -> str:
    return str(dtype).rpartition(".")[2]


def _tolerances(dtypes, rtol, atol) -> tuple[float, float]:
    if rtol is not None:
        return rtol, atol
    pairs = [_TOLERANCES.get(_dtype_name(d), (0.0, 0.0)) for d in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _mismatch(actual, expected, rtol: float, atol: float, equal_nan: bool):
    """A boolean array: True where ``actual`` is not within the tolerance of ``expected``."""
    with np.errstate(all="ignore"):
        close = (np.abs(actual - expected) <= atol + rtol * np.abs(expected)) & np.isfinite(expected)
        close |= actual == expected  # infinities of the same sign
    if equal_nan:
        close |= np.isnan(actual) & np.isnan(expected)
    return ~close


def _as_number(value):
    """A NumPy scalar as a Python number, in the message as PyTorch's ``.item()`` prints it."""
    return value.item() if hasattr(value, "item") else value


def _tensor_message(actual, expected, mismatched, rtol, atol, scalar: bool, float_type=None) -> str:
    word = "equal" if rtol == 0 and atol == 0 else "close"
    with np.errstate(all="ignore"):
        abs_diff = np.abs(actual - expected)
        # integers: the relative difference in the default float dtype, as PyTorch gives it
        as_float = abs_diff.dtype.kind in "iub"
        float_type = float_type or dtypes.get_default_dtype().np
        rel_diff = (abs_diff.astype(float_type) if as_float else abs_diff) / np.abs(
            expected.astype(float_type) if as_float else expected
        )
    limit_abs = f" (up to {atol} allowed)" if word == "close" else ""
    limit_rel = f" (up to {rtol} allowed)" if word == "close" else ""
    if scalar:
        return (
            f"Scalars are not {word}!\n\nExpected {_as_number(expected)} but got {_as_number(actual)}.\n"
            f"Absolute difference: {_as_number(abs_diff)}{limit_abs}\n"
            f"Relative difference: {_as_number(rel_diff)}{limit_rel}"
        )

    def greatest(diff):
        flat = diff.reshape(-1)
        position = int(np.argmax(flat)) if not np.isnan(flat).any() else int(np.argmax(np.isnan(flat)))
        return _as_number(flat[position]), tuple(int(i) for i in np.unravel_index(position, diff.shape))

    total, count = mismatched.size, int(mismatched.sum())
    max_abs, abs_at = greatest(abs_diff)
    max_rel, rel_at = greatest(rel_diff)
    return (
        f"Tensor-likes are not {word}!\n\nMismatched elements: {count} / {total} "
        f"({100.0 * count / total:.1f}%)\n"
        f"Greatest absolute difference: {max_abs} at index {abs_at}{limit_abs}\n"
        f"Greatest relative difference: {max_rel} at index {rel_at}{limit_rel}"
    )


def _attribute_error(name: str, actual, expected) -> AssertionError:
    return AssertionError(f"The values for attribute '{name}' do not match: {actual} != {expected}.")


def _comparable(tensor: ember.Tensor, dtype) -> np.ndarray:
    """The values as a host array of ``dtype`` (bool compared as integers, as PyTorch does)."""
    values = tensor.detach().cpu()
    if values.dtype == ember.bool:
        values = values.to(ember.int64)
    return values.to(dtype).numpy()


def _compare_tensors(actual, expected, options) -> str | None:
    if isinstance(actual, np.ndarray):
        actual, expected = ember.as_tensor(actual), ember.as_tensor(expected)
    if actual.shape != expected.shape:
        raise _attribute_error("shape", actual.shape, expected.shape)
    if options["check_device"] and actual.device != expected.device:
        raise _attribute_error("device", actual.device, expected.device)
    if options["check_layout"] and actual.layout != expected.layout:
        raise _attribute_error("layout", actual.layout, expected.layout)
    if options["check_dtype"] and actual.dtype != expected.dtype:
        raise _attribute_error("dtype", actual.dtype, expected.dtype)
    if options["check_stride"] and actual.stride() != expected.stride():
        raise _attribute_error("stride()", actual.stride(), expected.stride())
    if actual.layout != ember.strided:
        actual, expected = actual.to_dense(), expected.to_dense()
    common = ember.promote_types(actual.dtype, expected.dtype)
    if common == ember.bool:
        common = ember.int64
    rtol, atol = _tolerances({actual.dtype, expected.dtype}, options["rtol"], options["atol"])
    a, e = _comparable(actual, common), _comparable(expected, common)
    mismatched = _mismatch(a, e, rtol, atol, options["equal_nan"])
    if not mismatched.any():
        return None
    return _tensor_message(a, e, mismatched, rtol, atol, scalar=actual.ndim == 0)


def _compare_numbers(actual, expected, options) -> str | None:
    if type(actual) is not type(expected):
        raise AssertionError(f"The (d)types do not match: {type(actual)} != {type(expected)}.")
    if isinstance(actual, bool):
        return None if actual == expected else f"Booleans mismatch: {actual} is not {expected}"
    exact = isinstance(actual, int)
    rtol, atol = (0.0, 0.0) if exact else _tolerances({ember.float64}, options["rtol"], options["atol"])
    a, e = np.asarray(actual), np.asarray(expected)
    if not _mismatch(a, e, rtol, atol, options["equal_nan"]).any():
        return None
    return _tensor_message(a, e, None, rtol, atol, scalar=True, float_type=np.float64)


def _no_pair(actual, expected) -> TypeError:
    return TypeError(
        f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}."
    )


def _compare(actual, expected, options, path: str) -> tuple[str, str] | None:
    """The first failure as (message, path), or None where everything is close."""
    tensor_like = (ember.Tensor, np.ndarray)
    if isinstance(actual, tensor_like) or isinstance(expected, tensor_like):
        if not (isinstance(actual, ember.Tensor) and isinstance(expected, ember.Tensor)) and not (
            isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray)
        ):
            raise _no_pair(actual, expected)
        message = _compare_tensors(actual, expected, options)
        return None if message is None else (message, path)
    if actual is None and expected is None:
        return None
    if isinstance(actual, _NUMBERS) and isinstance(expected, _NUMBERS):
        message = _compare_numbers(actual, expected, options)
        return None if message is None else (message, path)
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual) != set(expected):
            missing = sorted(set(expected) - set(actual), key=repr)
            extra = sorted(set(actual) - set(expected), key=repr)
            raise AssertionError(
                "The keys of the mappings do not match:"
                + (f"\nMissing keys in the actual mapping: {missing}" if missing else "")
                + (f"\nAdditional keys in the actual mapping: {extra}" if extra else "")
            )
        for key in actual:
            failure = _compare(actual[key], expected[key], options, f"{path}[{key!r}]")
            if failure:
                return failure
        return None
    is_sequence = isinstance(actual, Sequence) and isinstance(expected, Sequence)
    if is_sequence and not isinstance(actual, str) and not isinstance(expected, str):
        if len(actual) != len(expected):
            raise AssertionError(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}")
        for index, (a, e) in enumerate(zip(actual, expected)):
            failure = _compare(a, e, options, f"{path}[{index}]")
            if failure:
                return failure
        return None
    raise _no_pair(actual, expected)


def assert_close(
    actual: Any,
    expected: Any,
    *,
    allow_subclasses: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    check_layout: bool = True,
    check_stride: bool = False,
    msg: str | Callable[[str], str] | None = None,
) -> None:
    """Raise an AssertionError unless ``actual`` and ``expected`` are close.

    Elementwise ``|actual - expected| <= atol + rtol * |expected|``; without ``rtol``/``atol``
    the tolerances are PyTorch's defaults for the dtypes (float32: 1.3e-6 and 1e-5; integers
    and bool: exact). Shapes, devices, layouts and (unless ``check_dtype=False``) dtypes must
    match. Numbers must be of the same type; sequences and mappings are compared item by item.
    ``msg`` replaces the message, or, if callable, turns the generated message into the one raised.
    """
    if (rtol is None) != (atol is None):
        raise ValueError(
            "Both 'rtol' and 'atol' must be either specified or omitted, "
            f"but got no {'rtol' if rtol is None else 'atol'}."
        )
    options = {
        "rtol": rtol,
        "atol": atol,
        "equal_nan": equal_nan,
        "check_device": check_device,
        "check_dtype": check_dtype,
        "check_layout": check_layout,
        "check_stride": check_stride,
    }
    try:
        failure = _compare(actual, expected, options, "")
    except AssertionError as error:
        if msg is None:
            raise
        failure = (str(error), "")
    if failure is None:
        return
    message, path = failure
    if path:
        message += f"\n\nThe failure occurred for item {path}"
    if callable(msg):
        message = msg(message)
    elif msg is not None:
        message = msg
    raise AssertionError(message)


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg="") -> None:
    """The deprecated spelling: ``assert_close`` without the dtype check, NaNs equal."""
    warnings.warn(
        "`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a future "
        "release. Please use `torch.testing.assert_close()` instead.",
        FutureWarning,
        stacklevel=2,
    )
    if not isinstance(actual, ember.Tensor):
        actual = ember.tensor(actual)
    if not isinstance(expected, ember.Tensor):
        expected = ember.tensor(expected, dtype=actual.dtype)
    assert_close(
        actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=False, msg=msg or None
    )


def make_tensor(
    *shape,
    dtype,
    device,
    low: float | None = None,
    high: float | None = None,
    requires_grad: bool = False,
    noncontiguous: bool = False,
    exclude_zero: bool = False,
    memory_format=None,
) -> ember.Tensor:
    """A tensor of ``shape`` filled with random values in ``[low, high)``.

    The defaults are PyTorch's: ``[-9, 9)`` for floating and complex dtypes, ``[-9, 10)`` for
    signed integers, ``[0, 10)`` for unsigned ones; bool is drawn from {False, True}.
    """
    if len(shape) == 1 and isinstance(shape[0], Sequence):
        shape = tuple(shape[0])
    dtype = dtypes.as_dtype(dtype)
    if low is not None and high is not None and low > high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    if dtype == ember.bool:
        result = ember.randint(0, 2, shape, device=device).to(ember.bool)
    elif dtype.is_floating_point or dtype.is_complex:
        low = -9.0 if low is None else low
        high = 9.0 if high is None else high
        real = dtype.to_real() if dtype.is_complex else dtype
        values = ember.rand(shape, dtype=ember.float64, device=device) * (high - low) + low
        if dtype.is_complex:
            imag = ember.rand(shape, dtype=ember.float64, device=device) * (high - low) + low
            values = ember.complex(values, imag)
        result = values.to(dtype) if dtype.is_complex else values.to(real)
    else:
        info = ember.iinfo(dtype)
        low = max(math.ceil(-9 if low is None else low), info.min)
        high = min(math.ceil(10 if high is None else high), info.max)
        result = ember.randint(max(low, 0) if info.min == 0 else low, high, shape, device=device, dtype=dtype)
    if exclude_zero:
        replacement = ember.finfo(dtype).tiny if dtype.is_floating_point else 1
        result = result.masked_fill(result == 0, replacement)
    if noncontiguous and result.numel() > 1:
        result = result.repeat_interleave(2, dim=-1)[..., ::2]
    return result.requires_grad_(requires_grad) if requires_grad else result
