"""``ember.autocast(device_type, dtype=...)``: PyTorch's automatic mixed precision op lists.

Inside the region, primitives in ``LOWER`` (matrix products, convolutions, attention, the fused
LSTM) run in the low dtype (float16 by default on CUDA, bfloat16 on the CPU), primitives in
``FLOAT32`` (on CUDA: softmax, normalisation, losses, sums and means, exp/log/pow and friends)
or ``FLOAT32_CPU`` (on the CPU: the losses and prod, as PyTorch's CPU list) run in float32, the
loss composites decorated ``autocast_to("float32")`` likewise on both, and every other op
follows its inputs (binary ops promote as usual). The casts are
ordinary differentiable casts, so gradients reach float32 parameters in float32.

One place does it: ``Function.apply`` reads ``STATE.active`` (one attribute, False unless some
thread is inside an autocast region) and only then asks ``cast_inputs``; the setting itself is a
ContextVar, so each thread and task has its own.
"""

from __future__ import annotations

import contextvars
import functools
import threading
import warnings
from typing import Any

from ember import dtypes
from ember.autograd import function

__all__ = [
    "FLOAT32",
    "FLOAT32_CPU",
    "LOWER",
    "STATE",
    "autocast",
    "autocast_to",
    "cast_inputs",
    "clear_autocast_cache",
    "custom_bwd",
    "custom_fwd",
    "get_autocast_cpu_dtype",
    "get_autocast_dtype",
    "get_autocast_gpu_dtype",
    "is_autocast_available",
    "is_autocast_cache_enabled",
    "is_autocast_cpu_enabled",
    "is_autocast_enabled",
    "set_autocast_cache_enabled",
]

LOWER = frozenset({"MatMul", "Linear", "Conv2d", "Einsum", "ScaledDotProductAttention", "LSTMLayer"})
FLOAT32 = frozenset(
    {
        "Softmax",
        "SoftmaxCrossEntropy",
        "NLLLoss",
        "BinaryCrossEntropy",
        "CTCLoss",
        "Normalize",
        "Sum",
        "Mean",
        "Prod",
        "Cumsum",
        "Cumprod",
        "Norm",
        "Exp",
        "Log",
        "Log2",
        "Log10",
        "Log1p",
        "Expm1",
        "Pow",
        "PowScalar",
        "RPow",
        "Reciprocal",
        "Rsqrt",
        "Sinh",
        "Cosh",
        "Tan",
        "Asin",
        "Acos",
        "Erfinv",
    }
)
# PyTorch's CPU list is shorter: softmax, the normalisations, sums and exp/log/pow follow
# their inputs there (they stay bfloat16); the losses and products still run in float32
FLOAT32_CPU = frozenset({"SoftmaxCrossEntropy", "NLLLoss", "BinaryCrossEntropy", "CTCLoss", "Prod"})
_DEFAULT_DTYPE = {"cuda": "float16", "cpu": "bfloat16"}


class _State:
    """``active``: whether any thread is inside an enabled region (the op path's one check)."""

    def __init__(self) -> None:
        self.active = False
        self.regions = 0
        self.lock = threading.Lock()

    def enter(self) -> None:
        with self.lock:
            self.regions += 1
            self.active = True
            function.set_input_caster(cast_inputs)

    def leave(self) -> None:
        with self.lock:
            self.regions -= 1
            self.active = self.regions > 0
            if not self.active:
                function.set_input_caster(None)


STATE = _State()
_setting: contextvars.ContextVar = contextvars.ContextVar("ember_autocast", default=None)


def is_autocast_available(device_type: str) -> bool:
    return device_type in _DEFAULT_DTYPE


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether this thread is inside an enabled autocast region for ``device_type`` (PyTorch's
    default, with no argument, is the GPU: ``"cuda"``)."""
    setting = _setting.get()
    return setting is not None and setting[0] == ("cuda" if device_type is None else device_type)


def is_autocast_cpu_enabled() -> bool:
    warnings.warn(
        "ember.is_autocast_cpu_enabled() is deprecated. Please use ember.is_autocast_enabled('cpu') instead.",
        DeprecationWarning,
        stacklevel=2,
    )
    return is_autocast_enabled("cpu")


def get_autocast_dtype(device_type: str):
    """The dtype the region for ``device_type`` casts to, or that device's default outside one."""
    if device_type not in _DEFAULT_DTYPE:
        raise RuntimeError(
            f"get_autocast_dtype: unsupported device_type {device_type!r}; expected 'cuda' or 'cpu'"
        )
    setting = _setting.get()
    if setting is not None and setting[0] == device_type:
        return dtypes.as_dtype(setting[1])
    return dtypes.as_dtype(_DEFAULT_DTYPE[device_type])


def get_autocast_cpu_dtype():
    warnings.warn(
        "ember.get_autocast_cpu_dtype() is deprecated. Please use ember.get_autocast_dtype('cpu') instead.",
        DeprecationWarning,
        stacklevel=2,
    )
    return get_autocast_dtype("cpu")


def get_autocast_gpu_dtype():
    warnings.warn(
        "ember.get_autocast_gpu_dtype() is deprecated. Please use ember.get_autocast_dtype('cuda') instead.",
        DeprecationWarning,
        stacklevel=2,
    )
    return get_autocast_dtype("cuda")


def is_autocast_cache_enabled() -> bool:
    """True, as in PyTorch by default; ember keeps no cast cache, so there is nothing to cache."""
    return True


def set_autocast_cache_enabled(enabled: bool) -> None:
    """Accepted for PyTorch code; ember keeps no cache of cast weights."""


def clear_autocast_cache() -> None:
    """Nothing to clear: ember keeps no cache of cast weights."""


def cast_inputs(cls, args: tuple) -> tuple:
    """``args`` with floating-point Tensors cast as the op's autocast list says (in a region)."""
    setting = _setting.get()
    if setting is None:
        return args
    name = cls.__name__
    on_cuda = setting[0] == "cuda"
    if name in LOWER:
        target = setting[1]
    elif name in (FLOAT32 if on_cuda else FLOAT32_CPU):
        target = dtypes.float32.np
    else:
        return args
    from ember.tensor import Tensor

    return tuple(
        a._cast(target)
        if isinstance(a, Tensor)
        and dtypes.is_floating_np(a._data.dtype)
        and a._data.dtype.itemsize < 8  # float64 is left alone, as in PyTorch
        and a._data.dtype != target
        and a.is_cuda == on_cuda
        else a
        for a in args
    )


def _target(kind: str, setting):
    """The dtype a composite of ``kind`` casts to in region ``setting``, or None to leave it."""
    if kind == "lower":
        return setting[1]
    if kind == "float32_cuda" and setting[0] != "cuda":
        return None  # on PyTorch's CUDA list only: on the CPU the op follows its inputs
    return dtypes.float32.np


def _cast_value(value, target, on_cuda: bool):
    from ember.tensor import Tensor

    if (
        isinstance(value, Tensor)
        and dtypes.is_floating_np(value._data.dtype)
        and value._data.dtype.itemsize < 8
        and value._data.dtype != target
        and value.is_cuda == on_cuda
    ):
        return value._cast(target)
    return value


def autocast_to(kind: str):
    """Decorator for a composite op on PyTorch's lists (``"lower"``, ``"float32"`` on both devices,
    or ``"float32_cuda"``, on CUDA's list only): inside an autocast region its floating-point
    Tensor arguments are cast first, as the primitives' are."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if STATE.active:
                setting = _setting.get()
                target = None if setting is None else _target(kind, setting)
                if target is not None:
                    on_cuda = setting[0] == "cuda"
                    args = tuple(_cast_value(a, target, on_cuda) for a in args)
                    kwargs = {k: _cast_value(v, target, on_cuda) for k, v in kwargs.items()}
            return fn(*args, **kwargs)

        return wrapper

    return decorate


class autocast:
    """Run the region's ops in mixed precision; also a decorator.

    >>> import ember
    >>> with ember.autocast("cpu", dtype=ember.float16):
    ...     y = ember.ones(2, 3) @ ember.ones(3, 2)
    >>> y.dtype
    ember.float16
    """

    def __init__(
        self, device_type: str = "cuda", dtype=None, enabled: bool = True, cache_enabled: bool | None = None
    ) -> None:
        if device_type not in _DEFAULT_DTYPE:
            raise RuntimeError(f"autocast: unsupported device_type {device_type!r}; expected 'cuda' or 'cpu'")
        self.device_type = device_type
        self.fast_dtype = dtypes.as_dtype(dtype if dtype is not None else _DEFAULT_DTYPE[device_type])
        self.enabled = bool(enabled)
        if self.enabled and device_type == "cuda" and self.fast_dtype == dtypes.bfloat16:
            warnings.warn(
                "In CUDA autocast, but the target dtype is not supported: CuPy has no "
                "bfloat16. Disabling autocast.",
                UserWarning,
                stacklevel=2,
            )
            self.enabled = False
        if self.enabled and not self.fast_dtype.is_floating_point:
            raise RuntimeError(f"autocast: dtype must be a floating point type, got {self.fast_dtype}")
        self._tokens: list = []

    def __enter__(self) -> autocast:  # noqa: PYI034
        value = (self.device_type, self.fast_dtype.np) if self.enabled else None
        self._tokens.append((_setting.set(value), self.enabled))
        if self.enabled:
            STATE.enter()
        return self

    def __exit__(self, *exc) -> None:
        token, entered = self._tokens.pop()
        _setting.reset(token)
        if entered:
            STATE.leave()

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any):
            with autocast(self.device_type, self.fast_dtype, self.enabled):
                return fn(*args, **kwargs)

        return wrapper


def custom_fwd(fwd=None, *, device_type: str = "cuda", cast_inputs=None):
    """Decorator for a custom Function's forward: run it with autocast off (inputs cast first)."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def wrapper(*args, **kwargs):
        if cast_inputs is not None:
            from ember.tensor import Tensor

            target = dtypes.as_dtype(cast_inputs).np
            args = tuple(
                a._cast(target) if isinstance(a, Tensor) and a.is_floating_point() else a for a in args
            )
        with autocast(device_type, enabled=False):
            return fwd(*args, **kwargs)

    return wrapper


def custom_bwd(bwd=None, *, device_type: str = "cuda"):
    """Decorator for a custom Function's backward (runs as it is; autocast is off in backward)."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    return bwd
