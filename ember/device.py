"""``ember.device``: where a tensor's memory lives (``cpu`` or ``cuda:N``)."""

from __future__ import annotations

__all__ = ["device", "as_device", "cpu"]

_KNOWN_TYPES = ("cpu", "cuda")
_replaced_defaults: list = []  # the default devices that enclosing ``with device(...)`` blocks replaced


class device:  # noqa: N801 - PyTorch's name
    """A device, built from ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ``('cuda', 1)`` or an int.

    >>> device("cuda:1")
    device(type='cuda', index=1)
    """

    __slots__ = ("type", "index")

    def __init__(self, type_or_spec, index: int | None = None):
        if isinstance(type_or_spec, device):
            kind, index = type_or_spec.type, type_or_spec.index
        elif isinstance(type_or_spec, int) and not isinstance(type_or_spec, bool):
            kind, index = "cuda", type_or_spec
        elif isinstance(type_or_spec, str):
            kind, _, idx = type_or_spec.partition(":")
            if idx:
                if index is not None:
                    raise RuntimeError(f"device: index given twice in {type_or_spec!r}")
                if not idx.isdigit():
                    raise RuntimeError(f"Invalid device string: {type_or_spec!r}")
                index = int(idx)
        else:
            raise TypeError(f"device: expected a string, an int or a device, got {type_or_spec!r}")
        if kind not in _KNOWN_TYPES:
            raise RuntimeError(
                f"Expected one of {', '.join(_KNOWN_TYPES)} device type at start of device "
                f"string: {type_or_spec!r}"
            )
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        object.__setattr__(self, "type", kind)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        raise AttributeError("device objects are immutable")

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __enter__(self) -> device:
        """``with ember.device('cuda'):`` factories given no device allocate here inside the block."""
        from ember import settings  # layer 3 keeps the default device; a device only switches it

        previous = settings.default_device_or_none()
        settings.set_default_device(self)
        _replaced_defaults.append(previous)
        return self

    def __exit__(self, *exc_info) -> None:
        from ember import settings  # as in __enter__

        settings.set_default_device(_replaced_defaults.pop())

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __reduce__(self):
        return (device, (self.type, self.index))


cpu = device("cpu")


def as_device(spec) -> device:
    """Normalise a device, a string or an int to a ``device``."""
    return spec if isinstance(spec, device) else device(spec)
