"""Backend settings that user code flips (``torch.backends.*``), kept in one place.

``ember.backends.cudnn``, ``ember.backends.cuda`` and ``ember.backends.mkldnn`` read and
write these objects; a backend that honours a setting reads it from here (for instance the
CUDA backend may check ``flags.matmul.allow_tf32`` before choosing a GEMM precision).
Setting a flag that no backend honours yet is harmless, as on a PyTorch build without cuDNN.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Flags", "cudnn", "matmul", "mkldnn", "sdp"]


class Flags:
    """A fixed set of named settings; assigning an unknown name is an AttributeError.

    >>> f = Flags("demo", enabled=True)
    >>> f.enabled = False
    >>> f.snapshot()
    {'enabled': False}
    """

    def __init__(self, name: str, **defaults: Any) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_values", dict(defaults))
        object.__setattr__(self, "_watchers", [])

    def watch(self, callback) -> None:
        """Call ``callback(name, value)`` whenever a setting is assigned (a backend applying it)."""
        self._watchers.append(callback)

    def __getattr__(self, key: str) -> Any:
        values = object.__getattribute__(self, "_values")
        if key in values:
            return values[key]
        raise AttributeError(f"{self._name} has no setting {key!r}; known: {sorted(values)}")

    def __setattr__(self, key: str, value: Any) -> None:
        if key not in self._values:
            raise AttributeError(f"{self._name} has no setting {key!r}; known: {sorted(self._values)}")
        self._values[key] = value
        for callback in self._watchers:
            callback(key, value)

    def snapshot(self) -> dict[str, Any]:
        """The current values, as a dict (to restore later with ``update``)."""
        return dict(self._values)

    def update(self, values: dict[str, Any]) -> None:
        """Set several settings at once."""
        for key, value in values.items():
            setattr(self, key, value)

    def __repr__(self) -> str:
        return f"<{self._name} {self._values}>"


# fp32_precision and depthwise_kernel are kept and restored as in PyTorch; no ember kernel reads them
cudnn = Flags(
    "cudnn",
    enabled=True,
    benchmark=False,
    deterministic=False,
    allow_tf32=True,
    benchmark_limit=10,
    fp32_precision="none",
    depthwise_kernel="auto",
)
matmul = Flags(
    "cuda.matmul",
    allow_tf32=False,
    allow_fp16_reduced_precision_reduction=True,
    allow_bf16_reduced_precision_reduction=True,
)
sdp = Flags("cuda.sdp", flash=True, mem_efficient=True, math=True, cudnn=True, fp16_bf16_reduction_math=False)
mkldnn = Flags("mkldnn", enabled=True, deterministic=False)


def _apply_tf32(key: str, value: Any) -> None:
    """``matmul.allow_tf32`` switches cuBLAS's float32 compute type, on a GPU that is there."""
    if key != "allow_tf32":
        return
    from ember import backend  # the package imports this module: a cycle only at load time

    cuda = backend.get("cuda")
    if hasattr(cuda, "set_allow_tf32") and cuda.is_available():
        cuda.set_allow_tf32(bool(value))


matmul.watch(_apply_tf32)
