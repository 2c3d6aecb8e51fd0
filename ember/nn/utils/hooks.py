"""Hook plumbing for Modules: the full backward hooks (``RemovableHandle`` is ``ember.autograd.hooks``'s).

A Module's full backward hooks are built from two identity Functions: one wraps the module's
inputs before ``forward`` and one wraps its outputs after. The output node's pre-hook sees the
gradients of the outputs; the input node's hook sees the gradients of the inputs, and calls the
user's hooks with both.
"""

from __future__ import annotations

from collections import OrderedDict

from ember.autograd.function import Function
from ember.autograd.grad_mode import is_grad_enabled
from ember.autograd.hooks import RemovableHandle
from ember.tensor import Tensor

__all__ = ["BackwardHook", "RemovableHandle"]


class _BackwardHookFunction(Function):
    """Identity on any number of tensors: gives the module's inputs and outputs one node each."""

    @staticmethod
    def forward(ctx, *tensors):
        ctx.mark_non_differentiable(*[t for t in tensors if not t.requires_grad])
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        return grads


class BackwardHook:
    """One forward call's full backward hooks: wraps inputs and outputs and runs the user hooks."""

    def __init__(self, module, user_hooks: list, user_pre_hooks: list):
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs = None
        self.n_outputs = -1
        self.output_tensors_index = None
        self.n_inputs = -1
        self.input_tensors_index = None

    @staticmethod
    def _pack_with_none(indices, values, size: int) -> tuple:
        out = [None] * size
        for i, v in zip(indices, values):
            out[i] = v
        return tuple(out)

    @staticmethod
    def _unpack_none(indices, values) -> tuple:
        return tuple(values[i] for i in indices)

    def _wrap(self, args, register):
        """Pass the tensors in ``args`` through the identity; ``register`` gets its node."""
        single = isinstance(args, Tensor)
        items = (args,) if single else args
        if not isinstance(items, tuple):
            return args, None, 0
        index = [i for i, a in enumerate(items) if isinstance(a, Tensor)]
        tensors = [items[i] for i in index]
        if not (is_grad_enabled() and any(t.requires_grad for t in tensors)):
            return args, None, len(items)
        wrapped = _BackwardHookFunction.apply(*tensors)
        node = next(w.grad_fn for w in wrapped if w.grad_fn is not None)
        register(node)
        items = list(items)
        for i, w in zip(index, wrapped):
            items[i] = w
        return (items[0] if single else tuple(items)), index, len(items)

    def setup_input_hook(self, args):
        def register(node):
            node.register_hook(self._input_hook)

        args, self.input_tensors_index, self.n_inputs = self._wrap(args, register)
        return args

    def setup_output_hook(self, result):
        def register(node):
            node.register_prehook(self._output_hook)

        result, self.output_tensors_index, self.n_outputs = self._wrap(result, register)
        return result

    def _input_hook(self, grad_inputs, _grad_outputs):
        if self.grad_outputs is None:
            return None
        packed = self._pack_with_none(self.input_tensors_index, grad_inputs, self.n_inputs)
        for hook in self.user_hooks:
            out = hook(self.module, packed, self.grad_outputs)
            if out is None:
                continue
            out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
            if len(out) != len(packed):
                raise RuntimeError(
                    f"Backward hook of {type(self.module).__name__} returned an invalid number of "
                    f"grad_input, got {len(out)}, but expected {len(packed)}"
                )
            packed = out
        self.grad_outputs = None
        return self._unpack_none(self.input_tensors_index, packed)

    def _output_hook(self, grad_outputs):
        self.grad_outputs = self._pack_with_none(self.output_tensors_index, grad_outputs, self.n_outputs)
        for hook in self.user_pre_hooks:
            out = hook(self.module, self.grad_outputs)
            if out is None:
                continue
            out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
            if len(out) != len(self.grad_outputs):
                raise RuntimeError(
                    f"Backward pre hook of {type(self.module).__name__} returned an invalid number "
                    f"of grad_output, got {len(out)}, but expected {len(self.grad_outputs)}"
                )
            self.grad_outputs = out
        local = self.grad_outputs
        if self.input_tensors_index is None:  # no input needs grad: call the hooks from here
            empty = self._pack_with_none([], [], self.n_inputs)
            for hook in self.user_hooks:
                res = hook(self.module, empty, self.grad_outputs)
                if res is not None and not (isinstance(res, tuple) and all(r is None for r in res)):
                    raise RuntimeError(
                        "Backward hook for Modules where no input requires gradient should always "
                        f"return None or None for all gradients ({type(self.module).__name__})"
                    )
            self.grad_outputs = None
        return self._unpack_none(self.output_tensors_index, local)


def new_hooks_dict() -> OrderedDict:
    """The ordered dict each kind of hook lives in (ordered so that ``prepend`` can work)."""
    return OrderedDict()
