"""Names ``torch.nn.functional`` exposes for code written against it: the ``__torch_function__``
probes (ember has no tensor-subclass dispatch, so they answer False), ``boolean_dispatch``,
``assert_int_or_pair``, typing aliases and the documentation-note dictionaries."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Optional

from ember.tensor import Tensor

__all__ = [
    "TYPE_CHECKING",
    "BroadcastingList1",
    "BroadcastingList2",
    "BroadcastingList3",
    "Callable",
    "DType",
    "Optional",
    "Tensor",
    "assert_int_or_pair",
    "boolean_dispatch",
    "handle_torch_function",
    "has_torch_function",
    "has_torch_function_unary",
    "has_torch_function_variadic",
    "reproducibility_notes",
    "sparse_support_notes",
    "tf32_notes",
]

DType = int  # what PyTorch's functional module names its dtype alias for annotations


class _BroadcastingList:
    """``BroadcastingList2[int]`` in an annotation: a list (or a scalar broadcast to one)."""

    def __getitem__(self, types):
        return list


BroadcastingList1 = BroadcastingList2 = BroadcastingList3 = _BroadcastingList()


def has_torch_function(relevant_args) -> bool:
    """False: ember has no ``__torch_function__`` overrides."""
    return False


def has_torch_function_unary(input) -> bool:
    """False: ember has no ``__torch_function__`` overrides."""
    return False


def has_torch_function_variadic(*args) -> bool:
    """False: ember has no ``__torch_function__`` overrides."""
    return False


def handle_torch_function(public_api: Callable, relevant_args, *args, **kwargs):
    """Call ``public_api`` directly (there are no overrides to dispatch to)."""
    return public_api(*args, **kwargs)


def boolean_dispatch(
    arg_name: str,
    arg_index: int,
    default: bool,
    if_true: Callable,
    if_false: Callable,
    module_name: str | None = None,
    func_name: str | None = None,
) -> Callable:
    """A function calling ``if_true`` or ``if_false`` by the boolean argument ``arg_name``.

    >>> f = boolean_dispatch("flag", 1, False, lambda x, flag=True: "yes",
    ...                      lambda x, flag=False: "no")
    >>> f(0), f(0, True), f(0, flag=True)
    ('no', 'yes', 'yes')
    """

    def fn(*args, **kwargs):
        if arg_name in kwargs:
            flag = kwargs[arg_name]
        elif arg_index < len(args):
            flag = args[arg_index]
        else:
            flag = default
        return if_true(*args, **kwargs) if flag else if_false(*args, **kwargs)

    fn.__name__ = func_name or if_false.__name__
    fn.__doc__ = if_true.__doc__ or if_false.__doc__
    return fn


def assert_int_or_pair(arg, arg_name: str, message: str) -> None:
    """Raise ``AssertionError(message.format(arg_name))`` unless ``arg`` is an int or a pair."""
    if not (isinstance(arg, int) or len(arg) == 2):
        raise AssertionError(message.format(arg_name))


reproducibility_notes = {
    "forward_reproducibility_note": "ember's CPU kernels are deterministic.",
    "backward_reproducibility_note": "ember's CPU kernels are deterministic.",
    "cudnn_reproducibility_note": "ember does not use cuDNN.",
}
sparse_support_notes = {
    "sparse_beta_warning": "Sparse support is a beta feature.",
    "sparse_coo": "Supports sparse COO tensors where ember.sparse does.",
}
tf32_notes = {"tf32_note": "ember computes in the dtype of its inputs (no TensorFloat-32)."}
