"""Activation checkpointing (``torch.utils.checkpoint``): a piece of the model runs without keeping
its intermediate activations, and runs again during backward to rebuild them.

Gradients are the same as without checkpointing; the memory of the piece's activations is traded
for a second forward. The random state at the first run is restored for the second, so dropout
draws the same mask.

>>> import ember
>>> from ember.utils.checkpoint import checkpoint
>>> layer = ember.nn.Linear(3, 3)
>>> x = ember.ones(2, 3, requires_grad=True)
>>> checkpoint(layer, x, use_reentrant=False).sum().backward()
>>> x.grad.shape
ember.Size([2, 3])
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import ember
from ember.autograd import Function

__all__ = ["checkpoint", "checkpoint_sequential"]


class _Recompute(Function):
    """Runs ``function`` without a graph; its backward runs it again with one and backpropagates."""

    @staticmethod
    def forward(ctx, function, preserve_rng_state, kwargs, _anchor, *args):
        ctx.function, ctx.kwargs = function, kwargs
        ctx.rng_state = ember.get_rng_state() if preserve_rng_state else None
        ctx.positions = [i for i, a in enumerate(args) if isinstance(a, ember.Tensor)]
        ctx.requires = [args[i].requires_grad for i in ctx.positions]
        ctx.others = [None if isinstance(a, ember.Tensor) else a for a in args]
        ctx.save_for_backward(*(args[i] for i in ctx.positions))
        return function(*args, **kwargs)

    @staticmethod
    def backward(ctx, *grads):
        args = list(ctx.others)
        inputs = []
        for i, saved, requires in zip(ctx.positions, ctx.saved_tensors, ctx.requires):
            args[i] = saved.detach().requires_grad_(requires)
            inputs.append(args[i])
        with ember.random.fork_rng(enabled=ctx.rng_state is not None):
            if ctx.rng_state is not None:
                ember.set_rng_state(ctx.rng_state)
            with ember.enable_grad():
                outputs = ctx.function(*args, **ctx.kwargs)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        pairs = [
            (o, g)
            for o, g in zip(outputs, grads)
            if isinstance(o, ember.Tensor) and o.requires_grad and g is not None
        ]
        if pairs:
            ember.autograd.backward([o for o, _ in pairs], [g for _, g in pairs])
        input_grads = [None] * len(ctx.others)
        for i, tensor in zip(ctx.positions, inputs):
            input_grads[i] = tensor.grad
        return (None, None, None, None, *input_grads)


def checkpoint(
    function: Callable,
    *args,
    use_reentrant: bool | None = None,
    context_fn: Callable | None = None,
    determinism_check: str = "default",
    debug: bool = False,
    early_stop: bool = True,
    preserve_rng_state: bool = True,
    **kwargs,
) -> Any:
    """``function(*args, **kwargs)``, its activations recomputed in backward instead of kept.

    Args:
        function: the piece of the model (a Module or any callable).
        use_reentrant: PyTorch's two variants. ``False`` (recommended) gives the parameters
            inside ``function`` their gradients even when no input requires grad; ``True``, the
            default when not given (with PyTorch's warning), only when some input does.
        preserve_rng_state: restore the random state for the second run (same dropout masks).
        context_fn, determinism_check, debug, early_stop: accepted for PyTorch's signature;
            ember's recomputation has no selective policy or debug trace.
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
            "use_reentrant=False is recommended, but if you need to preserve the current default "
            "behavior, you can pass use_reentrant=True.",
            stacklevel=2,
        )
        use_reentrant = True
    if use_reentrant and kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if not ember.is_grad_enabled():
        return function(*args, **kwargs)
    if use_reentrant:
        if not any(isinstance(a, ember.Tensor) and a.requires_grad for a in args):
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)
        anchor = None
    else:  # a leaf that requires grad, so the node is recorded whatever the inputs
        anchor = ember.empty(0, requires_grad=True)
    return _Recompute.apply(function, preserve_rng_state, kwargs, anchor, *args)


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None, **kwargs):
    """Run a Sequential (or a list of modules) in ``segments`` checkpointed chunks; the last chunk
    runs normally, as in PyTorch."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be "
            "passed explicitly. use_reentrant=False is recommended.",
            stacklevel=2,
        )
        use_reentrant = True
    functions = list(functions.children()) if isinstance(functions, ember.nn.Sequential) else list(functions)
    size = len(functions) // segments

    def run(start, end):
        def forward(x):
            for f in functions[start : end + 1]:
                x = f(x)
            return x

        return forward

    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, **kwargs)
    return run(end + 1, len(functions) - 1)(input)
