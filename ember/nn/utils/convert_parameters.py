"""Flatten parameters into one vector and back (``parameters_to_vector`` / ``vector_to_parameters``)."""

from __future__ import annotations

from collections.abc import Iterable

from ember.tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_device(param: Tensor, device):
    if device is not None and param.device != device:
        raise TypeError(
            f"Found two parameters on different devices ({device} and {param.device}), this is "
            "currently not supported."
        )
    return param.device


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters, flattened and concatenated into one 1-D tensor (differentiable).

    >>> import ember
    >>> parameters_to_vector(ember.nn.Linear(3, 2).parameters()).shape
    ember.Size([8])
    """
    import ember

    device = None
    pieces = []
    for param in parameters:
        device = _check_same_device(param, device)
        pieces.append(param.reshape(-1))
    return ember.cat(pieces)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Overwrite the parameters' data with consecutive slices of ``vec``.

    >>> import ember
    >>> fc = ember.nn.Linear(2, 1)
    >>> vector_to_parameters(ember.arange(3.0), fc.parameters())
    >>> fc.bias
    Parameter containing:
    tensor([2.], requires_grad=True)
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected ember.Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.dim() != 1 or vec.numel() != total:
        raise RuntimeError(
            f"vector_to_parameters: expected a 1-D vector of {total} elements for the parameters, "
            f"got shape {list(vec.shape)}"
        )
    device = None
    pointer = 0
    for param in params:
        device = _check_same_device(param, device)
        n = param.numel()
        param.data = vec[pointer : pointer + n].reshape(param.shape).data
        pointer += n
