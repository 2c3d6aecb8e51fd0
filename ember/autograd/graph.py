"""``torch.autograd.graph``: hooks on saved tensors, graph nodes and gradient edges.

``saved_tensors_hooks(pack, unpack)`` runs ``pack`` on every tensor an op saves for backward
while the block is active and ``unpack`` when backward reads it back (activation offloading,
compression); ``save_on_cpu`` is the one that parks them in host memory.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable

from ember.autograd.function import Node
from ember.autograd.saved import saved_tensor_hooks

__all__ = [
    "GradientEdge",
    "Node",
    "disable_saved_tensors_hooks",
    "get_gradient_edge",
    "increment_version",
    "save_on_cpu",
    "saved_tensors_hooks",
]

GradientEdge = namedtuple("GradientEdge", ["node", "output_nr"])
GradientEdge.__doc__ = "The place a gradient flows into: a graph node and one of its outputs."


class saved_tensors_hooks:
    """Pack saved tensors with ``pack_hook`` and unpack them with ``unpack_hook`` in backward.

    >>> import ember
    >>> packed = []
    >>> x = ember.ones(3, requires_grad=True)
    >>> with saved_tensors_hooks(lambda t: packed.append(t) or t, lambda t: t):
    ...     y = (x * x).sum()
    >>> y.backward()
    >>> len(packed) > 0, x.grad
    (True, tensor([2., 2., 2.]))
    """

    def __init__(self, pack_hook: Callable, unpack_hook: Callable) -> None:
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook
        self._token = None

    def __enter__(self):
        for pack, message in saved_tensor_hooks.get():
            if pack is None:  # an enclosing disable_saved_tensors_hooks
                raise RuntimeError(message)
        pair = (self.pack_hook, self.unpack_hook)
        self._token = saved_tensor_hooks.set((*saved_tensor_hooks.get(), pair))
        return self

    def __exit__(self, *exc_info) -> None:
        saved_tensor_hooks.reset(self._token)


class save_on_cpu(saved_tensors_hooks):
    """Keep tensors saved for backward in host memory; move them back when backward needs them.

    ``pin_memory`` is accepted (ember's host copies are ordinary arrays).
    """

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack(tensor):
            return tensor.device, tensor.cpu()

        def unpack(packed):
            device, tensor = packed
            return tensor.to(device)

        super().__init__(pack, unpack)


class disable_saved_tensors_hooks:
    """Make any ``saved_tensors_hooks`` block inside this one raise ``RuntimeError(message)``."""

    def __init__(self, error_message: str) -> None:
        self.error_message = error_message
        self._token = None

    def __enter__(self):
        self._token = saved_tensor_hooks.set((*saved_tensor_hooks.get(), (None, self.error_message)))
        return self

    def __exit__(self, *exc_info) -> None:
        saved_tensor_hooks.reset(self._token)


def increment_version(tensor) -> None:
    """Bump ``tensor``'s version counter, as an in-place change made outside ember would."""
    tensor._bump_version("increment_version")


def get_gradient_edge(tensor) -> GradientEdge:
    """The edge a gradient flowing into ``tensor`` takes: its ``grad_fn`` (or its accumulator)."""
    if not tensor.requires_grad:
        raise RuntimeError(
            "It is not possible to get the gradient edge for a Tensor that does not require gradients"
        )
    if tensor.grad_fn is not None:
        return GradientEdge(tensor.grad_fn, tensor.output_nr)
    return GradientEdge(tensor._grad_accumulator(), 0)
