"""The errors a primitive's forward raises, rewritten to name the op and its arguments.

``Function.apply`` catches NumPy's and CuPy's ``ValueError``/``TypeError``/``IndexError`` and
out-of-memory errors and raises these instead, so that every error says which op failed on
which shapes, dtypes and devices.
"""

from __future__ import annotations

from ember import backend


def describe_failure(cls, args, exc, tensor_type) -> Exception:
    """The error to raise for ``exc`` from primitive ``cls``'s forward: the op's name with every
    tensor argument's shape and dtype, or PyTorch's message when the tensors' devices differ."""
    name = cls.op_name or cls.__name__.lower()
    tensors = [(i, a) for i, a in enumerate(args) if isinstance(a, tensor_type)]
    devices = {str(t.device) for _, t in tensors}
    if len(devices) > 1:
        where = ", ".join(f"argument {i} on {t.device}" for i, t in tensors)
        first, second = sorted(devices, reverse=True)[:2]
        return RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, "
            f"{first} and {second}! ({name}: {where}; move them with .to(device) first)"
        )
    described = (
        ", ".join(f"argument {i}: shape {list(t.shape)} {t.dtype}" for i, t in tensors)
        or "no tensor arguments"
    )
    kind = IndexError if isinstance(exc, IndexError) else RuntimeError
    if isinstance(exc, TypeError) and not isinstance(exc, IndexError):
        kind = TypeError
    return kind(f"{name}: {exc} ({described})")


def out_of_memory(cls, args, exc, tensor_type) -> Exception:
    """A device's out-of-memory error as ``ember.cuda.OutOfMemoryError`` naming the op."""
    cuda = backend._loaded.get("cuda")
    if cuda is None:
        return exc
    shapes = ", ".join(f"{list(a.shape)} {a.dtype} on {a.device}" for a in args if isinstance(a, tensor_type))
    return cuda.out_of_memory(exc, cls.op_name or cls.__name__.lower(), f"inputs {shapes or 'none'}") or exc
