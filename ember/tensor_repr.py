"""Printing tensors the way PyTorch prints them."""

from __future__ import annotations

import numpy as np

from ember import backend, dtypes

_PRINT_OPTIONS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}
_IMPLIED = ("float32", "int64", "bool")


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """Like ``torch.set_printoptions``."""
    if profile == "default":
        _PRINT_OPTIONS.update(precision=4, threshold=1000, edgeitems=3, linewidth=80)
    elif profile == "short":
        _PRINT_OPTIONS.update(precision=2, threshold=1000, edgeitems=2, linewidth=80)
    elif profile == "full":
        _PRINT_OPTIONS.update(precision=4, threshold=2**63 - 1, edgeitems=3, linewidth=80)
    for key, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                       ("linewidth", linewidth)):
        if value is not None:
            _PRINT_OPTIONS[key] = value
    _PRINT_OPTIONS["sci_mode"] = sci_mode


def _float_formatter(values: np.ndarray):
    precision = _PRINT_OPTIONS["precision"]
    finite = values[np.isfinite(values)].astype(np.float64)
    if finite.size == 0:
        return lambda v: f"{v}"
    nonzero = np.abs(finite[finite != 0])
    integral = bool(np.all(finite == np.round(finite)))
    sci = _PRINT_OPTIONS["sci_mode"]
    if sci is None and nonzero.size:
        big, small = nonzero.max(), nonzero.min()
        sci = big / small > 1000.0 or big > 1e8 or small < 1e-4
    elif sci is None:
        sci = False
    if integral and not sci:
        return lambda v: f"{v:.0f}." if np.isfinite(v) else _special(v)
    if sci:
        return lambda v: f"{v:.{precision}e}" if np.isfinite(v) else _special(v)
    return lambda v: f"{v:.{precision}f}" if np.isfinite(v) else _special(v)


def _special(v) -> str:
    return "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")


def format_values(array: np.ndarray, indent: int) -> str:
    if array.dtype.kind == "f":
        formatter = {"float_kind": _float_formatter(array)}
        array = array.astype(np.float64) if array.dtype.itemsize < 4 or array.dtype.name == "bfloat16" else array
    elif array.dtype.kind == "b":
        formatter = {"bool": lambda v: "True" if v else "False"}
    else:
        formatter = None
    return np.array2string(
        array, separator=", ", formatter=formatter, prefix=" " * indent,
        threshold=_PRINT_OPTIONS["threshold"], edgeitems=_PRINT_OPTIONS["edgeitems"],
        max_line_width=_PRINT_OPTIONS["linewidth"],
    )


def format_tensor(t, prefix: str = "tensor(") -> str:
    data = backend.to_device(t._data, "cpu") if not t.is_cpu else t._data
    extras = []
    if data.size == 0:
        body = "[]"
        if data.ndim != 1:
            extras.append(f"size={tuple(data.shape)}")
    else:
        body = format_values(data, len(prefix))
    if t.device.type != "cpu":
        extras.append(f"device='{t.device}'")
    dt = dtypes.from_numpy_dtype(data.dtype)
    if dt.name not in _IMPLIED and not (dt is dtypes.get_default_dtype()):
        extras.append(f"dtype={dt!r}")
    elif dt.is_floating_point and dt is not dtypes.get_default_dtype():
        extras.append(f"dtype={dt!r}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        extras.append("requires_grad=True")
    return prefix + body + "".join(", " + e for e in extras) + ")"
