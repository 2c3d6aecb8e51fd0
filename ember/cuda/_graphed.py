"""``make_graphed_callables``' work for one callable: warm up, capture forward and backward,
and wrap both replays in one autograd Function (PyTorch's partial-network capture)."""

from __future__ import annotations

from collections.abc import Callable

from ember import autograd, creation
from ember.autograd.function import Function
from ember.cuda.graphs import CUDAGraph, _warm_up, graph


def _as_tuple(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def _check_inputs(static_inputs: tuple) -> None:
    from ember.tensor import Tensor

    for i, arg in enumerate(static_inputs):
        if not isinstance(arg, Tensor):
            raise TypeError(
                f"make_graphed_callables: sample_args must hold only Tensors, but argument {i} is a "
                f"{type(arg).__name__}"
            )
        if arg.requires_grad and arg.grad_fn is not None:
            raise RuntimeError(
                "make_graphed_callables: sample_args that require grad must be leaves (detach them "
                "and call requires_grad_())"
            )


def graph_callable(fn: Callable, static_inputs: tuple, warmups: int, allow_unused: bool, pool):
    """The graphed version of ``fn`` (a module's ``forward`` is replaced in training mode)."""
    _check_inputs(static_inputs)
    # a Module by its interface: ember.nn sits a layer above ember.cuda
    module = fn if hasattr(fn, "parameters") and hasattr(fn, "training") else None
    params = tuple(p for p in module.parameters() if p.requires_grad) if module is not None else ()
    wanted = tuple(a for a in static_inputs if a.requires_grad) + params

    def grads_of(outputs: tuple, grad_outputs):
        diff = [o for o in outputs if o.requires_grad]
        if not diff or not wanted:
            return ()
        return autograd.grad(diff, wanted, grad_outputs=grad_outputs(diff), allow_unused=allow_unused)

    def warm_step() -> None:
        grads_of(_as_tuple(fn(*static_inputs)), lambda diff: [creation.ones_like(o) for o in diff])

    _warm_up(warm_step, warmups)
    forward_graph = CUDAGraph()
    with graph(forward_graph, pool=pool):
        static_outputs = _as_tuple(fn(*static_inputs))
    static_grad_outputs = tuple(creation.empty_like(o) if o.requires_grad else None for o in static_outputs)
    backward_graph = CUDAGraph()
    with graph(backward_graph, pool=forward_graph.pool()):
        static_grads = grads_of(
            static_outputs, lambda diff: [g for g in static_grad_outputs if g is not None]
        )
    by_input = dict(zip(map(id, wanted), static_grads))
    grads_in_order = tuple(by_input.get(id(t)) for t in static_inputs + params)
    detached_outputs = tuple(o.detach() for o in static_outputs)
    n_inputs = len(static_inputs)

    class Graphed(Function):
        @staticmethod
        def forward(ctx, *inputs):
            for buffer, value in zip(static_inputs, inputs[:n_inputs]):
                if value is not buffer and value._data is not buffer._data:
                    buffer.copy_(value)
            forward_graph.replay()
            return detached_outputs if len(detached_outputs) > 1 else detached_outputs[0]

        @staticmethod
        def backward(ctx, *grads):
            for buffer, grad in zip(static_grad_outputs, grads):
                if buffer is None:
                    continue
                if grad is None:
                    buffer.zero_()
                else:
                    buffer.copy_(grad)
            backward_graph.replay()
            # clones: the static gradient buffers are overwritten by the next replay
            return tuple(None if g is None else g.clone() for g in grads_in_order)

    def graphed(*inputs):
        return Graphed.apply(*inputs, *params)

    if module is None:
        return graphed
    eager_forward = module.forward

    def forward(*inputs):
        return graphed(*inputs) if module.training else eager_forward(*inputs)

    module.forward = forward
    return module
