"""``SerializationError``: a checkpoint that cannot be written or read, and why."""

from __future__ import annotations

import os

__all__ = ["SerializationError"]


class SerializationError(RuntimeError):
    """A file that ember refuses to write or read: names the file, the tensor and the reason.

    >>> err = SerializationError("ckpt.safetensors", "fc.weight", "byte length 12 != 4 * 4")
    >>> str(err)
    "ckpt.safetensors: tensor 'fc.weight': byte length 12 != 4 * 4"
    >>> err.tensor
    'fc.weight'
    """

    def __init__(self, file, tensor: str | None, reason: str) -> None:
        self.file = describe_file(file)
        self.tensor = tensor
        self.reason = reason
        where = f"{self.file}: " + (f"tensor {tensor!r}: " if tensor is not None else "")
        super().__init__(where + reason)

    def __reduce__(self):
        return (type(self), (self.file, self.tensor, self.reason))


def describe_file(file) -> str:
    """A path as text, or a short description of a file object (``<BytesIO>``)."""
    if isinstance(file, (str, bytes, os.PathLike)):
        return os.fsdecode(file)
    name = getattr(file, "name", None)
    if isinstance(name, (str, bytes)):
        return os.fsdecode(name)
    return f"<{type(file).__name__}>"
