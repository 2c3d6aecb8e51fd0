"""``default_collate`` (a list of samples -> one batch) and ``default_convert`` (arrays -> tensors).

Both follow PyTorch's rules: tensors and NumPy arrays are stacked along a new first dimension,
Python floats become float64, ints int64, bools bool; strings stay lists; dicts, namedtuples,
tuples and lists are collated field by field (a tuple comes back as a list, as in PyTorch).
"""

from __future__ import annotations

import collections.abc
from typing import Any

import numpy as np

from ember import dtypes
from ember.tensor import Tensor, make

__all__ = ["default_collate", "default_convert"]

_WIDEN = {np.dtype(np.uint16): np.int64, np.dtype(np.uint32): np.int64}


def _wrap(array: np.ndarray, where: str) -> Tensor:
    """A tensor over ``array``, widening unsigned types that ember has no dtype for."""
    widened = _WIDEN.get(array.dtype)
    if widened is not None:
        array = array.astype(widened)
    try:
        dtypes.from_numpy_dtype(array.dtype)
    except TypeError as exc:
        raise TypeError(f"{where}: {exc}") from None
    return make(array)


def _is_text_array(array: np.ndarray) -> bool:
    return array.dtype.kind in "SaUO"


def _stack_tensors(batch: list) -> Tensor:
    first = batch[0]
    for i, t in enumerate(batch):
        if not isinstance(t, Tensor):
            raise TypeError(f"default_collate: entry 0 is a Tensor but entry {i} is a {type(t).__name__}")
        if t.shape != first.shape:
            raise RuntimeError(
                f"default_collate: stack expects each tensor to be equal size, but got "
                f"{list(first.shape)} at entry 0 and {list(t.shape)} at entry {i}"
            )
    if any(t.requires_grad for t in batch):
        import ember  # the package root: a cycle at module level

        return ember.stack(batch)
    return make(first.xp.stack([t._data for t in batch]))


def _stack_arrays(batch: list) -> Tensor:
    first = batch[0]
    if _is_text_array(first):
        raise TypeError(
            f"default_collate: NumPy arrays of dtype {first.dtype} (text or objects) cannot become tensors"
        )
    for i, a in enumerate(batch):
        if getattr(a, "shape", None) != first.shape:
            raise RuntimeError(
                f"default_collate: stack expects each array to be equal size, but got {list(first.shape)} "
                f"at entry 0 and {list(np.shape(a))} at entry {i}"
            )
    return _wrap(np.stack(batch), "default_collate")


def _collate_sequence(batch: list, elem) -> Any:
    size = len(elem)
    for i, sample in enumerate(batch):
        if len(sample) != size:
            raise RuntimeError(
                f"default_collate: each element in list of batch should be of equal size, but entry 0 has "
                f"{size} fields and entry {i} has {len(sample)}"
            )
    columns = [default_collate(samples) for samples in zip(*batch)]
    if isinstance(elem, tuple):
        return columns
    try:
        return type(elem)(columns)
    except TypeError:
        return columns


def default_collate(batch: list) -> Any:
    """Merge a list of samples into a batch, stacking tensors, arrays and numbers.

    >>> import numpy as np
    >>> out = default_collate([(np.zeros(2, np.float32), 1), (np.ones(2, np.float32), 2)])
    >>> out[0].shape, out[1].tolist(), out[1].dtype
    (ember.Size([2, 2]), [1, 2], ember.int64)
    """
    if not isinstance(batch, collections.abc.Sequence) or len(batch) == 0:
        raise TypeError(f"default_collate: expected a non-empty list of samples, got {type(batch).__name__}")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray):
        return _stack_arrays(batch)
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_, np.object_)):
        return _wrap(np.array(batch), "default_collate")
    if isinstance(elem, bool):
        return make(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return make(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return make(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated)
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        return _collate_sequence(batch, elem)
    raise TypeError(
        "default_collate: batch must contain tensors, NumPy arrays, numbers, dicts or lists; "
        f"found {type(elem).__name__}"
    )


def default_convert(data: Any) -> Any:
    """Turn NumPy arrays and scalars (also inside dicts, tuples and lists) into tensors; no batching.

    The DataLoader uses it as the collate function when ``batch_size=None``.

    >>> import numpy as np
    >>> default_convert({"x": np.arange(3)})["x"].tolist()
    [0, 1, 2]
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if _is_text_array(data) else _wrap(data, "default_convert")
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_, np.object_)):
        return _wrap(np.asarray(data), "default_convert")
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(value) for key, value in data.items()}
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        converted = [default_convert(d) for d in data]
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    return data
