"""Printing tensors the way PyTorch prints them (``torch/_tensor_str.py``'s rules, rewritten).

One formatter per tensor decides, from its nonzero finite values, between integer-looking
(``1.``), fixed (``1.5000``) and scientific (``1.5000e+03``) notation and the common width
every element is right-aligned to. Large tensors are summarised with ``...``.
"""

from __future__ import annotations

import math

import numpy as np

from ember import backend, dtypes

_PRINT_OPTIONS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}
_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Like ``torch.set_printoptions``: ``profile`` is 'default', 'short' or 'full'."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(
                f"set_printoptions: unknown profile {profile!r}; expected one of {sorted(_PROFILES)}"
            )
        _PRINT_OPTIONS.update(_PROFILES[profile])
    for key, value in (
        ("precision", precision),
        ("threshold", threshold),
        ("edgeitems", edgeitems),
        ("linewidth", linewidth),
    ):
        if value is not None:
            _PRINT_OPTIONS[key] = value
    _PRINT_OPTIONS["sci_mode"] = sci_mode


class _Formatter:
    """Chooses the notation and the common width for the values of one tensor."""

    def __init__(self, values: np.ndarray, floating: bool):
        self.floating, self.int_mode, self.sci_mode, self.width = floating, True, False, 1
        precision = _PRINT_OPTIONS["precision"]
        flat = values.reshape(-1)
        if not floating:
            self.width = max((len(_plain(v)) for v in flat.tolist()), default=1)
            return
        flat = flat.astype(np.float64)
        finite = flat[np.isfinite(flat) & (flat != 0)]
        if finite.size:
            magnitudes = np.abs(finite)
            big, small = float(magnitudes.max()), float(magnitudes.min())
            self.int_mode = bool(np.all(finite == np.ceil(finite)))
            wide = big / small > 1000.0 or big > 1.0e8
            self.sci_mode = wide if self.int_mode else wide or small < 1.0e-4
        if finite.size:  # a forced notation, then the width of the notation finally chosen
            if _PRINT_OPTIONS["sci_mode"] is not None:
                self.sci_mode = _PRINT_OPTIONS["sci_mode"]
            if self.sci_mode:
                fmt = f"{{:.{precision}e}}"
            else:
                fmt = "{:.0f}." if self.int_mode else f"{{:.{precision}f}}"
            self.width = max(len(fmt.format(v)) for v in finite.tolist())

    def __call__(self, value) -> str:
        precision = _PRINT_OPTIONS["precision"]
        if not self.floating:
            text = _plain(value)
        elif self.sci_mode:
            text = f"{value:.{precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{precision}f}"
        return " " * (self.width - len(text)) + text


class _ComplexFormatter:
    """PyTorch's complex layout: the real parts and the imaginary parts formatted apart (``1.+2.j``)."""

    def __init__(self, values: np.ndarray):
        self.real = _Formatter(values.real, True)
        self.imag = _Formatter(np.abs(values.imag), True)
        self.width = self.real.width + self.imag.width + 2

    def __call__(self, value) -> str:
        value = complex(value)
        sign = "-" if math.copysign(1.0, value.imag) < 0 else "+"
        text = self.real(value.real) + sign + self.imag(abs(value.imag)).lstrip() + "j"
        return " " * (self.width - len(text)) + text


def _plain(value) -> str:
    return str(value)


def _summarized(values: np.ndarray) -> np.ndarray:
    """Only the edge items along every dim: what the formatter needs to see when summarising."""
    edge = _PRINT_OPTIONS["edgeitems"]
    for axis, size in enumerate(values.shape):
        if size > 2 * edge:
            index = list(range(edge)) + list(range(size - edge, size))
            values = np.take(values, index, axis=axis)
    return values


def _format_nested(values: np.ndarray, fmt: _Formatter, indent: int, summarize: bool) -> str:
    edge = _PRINT_OPTIONS["edgeitems"]
    n = values.shape[0]
    if values.ndim == 1:
        items = values.tolist()
        if summarize and n > 2 * edge:
            data = [fmt(v) for v in items[:edge]] + [" ..."] + [fmt(v) for v in items[-edge:]]
        else:
            data = [fmt(v) for v in items]
        per_line = max(1, int((_PRINT_OPTIONS["linewidth"] - indent) // (fmt.width + 2)))
        lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
        return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"
    if summarize and n > 2 * edge:
        rows = [*range(edge), None, *range(n - edge, n)]
    else:
        rows = range(n)
    slices = ["..." if i is None else _format_nested(values[i], fmt, indent + 1, summarize) for i in rows]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def format_values(array: np.ndarray, indent: int, floating: bool) -> str:
    """The bracketed body of a tensor's repr (``[1., 2.]``), PyTorch's layout."""
    summarize = array.size > _PRINT_OPTIONS["threshold"]
    seen = _summarized(array) if summarize else array
    if floating and array.dtype.itemsize < 4 or array.dtype.name == "bfloat16":
        seen, array = seen.astype(np.float32), array.astype(np.float32)
    fmt = _ComplexFormatter(seen) if array.dtype.kind == "c" else _Formatter(seen, floating)
    if array.ndim == 0:
        return fmt(array.item())
    return _format_nested(array, fmt, indent, summarize)


def _add_suffixes(text: str, suffixes: list, indent: int) -> str:
    parts = [text]
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > _PRINT_OPTIONS["linewidth"]:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    return "".join(parts) + ")"


def format_tensor(t, prefix: str = "tensor(") -> str:
    """``repr(t)``: ``tensor([1., 2.], dtype=ember.float64, requires_grad=True)`` and friends."""
    data = backend.to_device(t._data, "cpu") if not t.is_cpu else t._data
    dt = dtypes.from_numpy_dtype(data.dtype)
    indent = len(prefix)
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    if data.size == 0:
        body = "[]"
        if data.ndim != 1:
            suffixes.append(f"size={tuple(data.shape)}")
    else:
        body = format_values(data, indent, dt.is_floating_point)
    default_complex = dtypes.get_default_dtype().to_complex()
    if dt not in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool, default_complex):
        suffixes.append(f"dtype={dt!r}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
