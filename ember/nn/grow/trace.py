"""Which module's output feeds which module's input: one example pass, read off the autograd graph.

The example input runs through the model once (in eval mode, with grad recording on) while
forward hooks note each call of a layer that owns parameters or buffers: its input tensors and
its output tensors. The backward graph that pass records is then walked from the model's
outputs. A layer's call is collapsed into one step (its inputs straight to its output, whatever
ops it runs inside); everything between layers (``relu``, ``flatten``, ``x + y`` in a custom
``forward``, pooling) stays visible as graph nodes. Inverting the walk's edges gives, for every
tensor, the ops and layers that consume it, and the shape it had there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ember.autograd.function import AccumulateGrad
from ember.autograd.grad_mode import enable_grad
from ember.nn.modules.module import Module
from ember.nn.modules.rnn import RNNBase
from ember.nn.modules.transformer import MultiheadAttention, TransformerDecoderLayer, TransformerEncoderLayer
from ember.tensor import Tensor

__all__ = ["SINK", "Call", "Trace", "example_args", "tensors_in", "trace_model"]

#: layers whose insides stay hidden even though they have children: growth cannot see into them
OPAQUE = (MultiheadAttention, RNNBase, TransformerEncoderLayer, TransformerDecoderLayer)

#: the consumer that stands for "returned by the model"
SINK = "<model output>"


@dataclass(eq=False)
class Call:
    """One call of a layer during the example pass."""

    name: str
    module: Module
    inputs: list[tuple[Any, tuple]] = field(default_factory=list)  # ((node, nr), shape)
    outputs: list[tuple[Any, tuple]] = field(default_factory=list)


class Trace:
    """The example pass: the layer calls, who consumes each tensor, and the model's output."""

    def __init__(self, model: Module):
        self.model = model
        self.calls: list[Call] = []
        self.call_of_node: dict[Any, Call] = {}
        self.consumers: dict[tuple, list[tuple[Any, int]]] = {}
        self.shape: dict[tuple, tuple] = {}
        self.outputs: list[Tensor] = []
        self.module_outputs: dict[str, list[Tensor]] = {}
        self.param_names = {id(p): n for n, p in model.named_parameters()}

    def calls_of(self, name: str) -> list[Call]:
        return [c for c in self.calls if c.name == name]

    def origin(self, key: tuple) -> tuple[str, str | None]:
        """Describe the layer (or leaf) a tensor comes from, and the layer's name if it is one."""
        stack, seen = [key[0]], set()
        while stack:
            node = stack.pop()
            if node is None or id(node) in seen:
                continue
            seen.add(id(node))
            call = self.call_of_node.get(node)
            if call is not None:
                return f"'{call.name}' ({type(call.module).__name__})", call.name
            if isinstance(node, AccumulateGrad):
                name = self.param_names.get(id(node.variable))
                return (f"parameter '{name}'" if name else "the model's input"), None
            stack.extend(edge[0] for edge in node._edges)
        return "a tensor computed outside any layer", None


def _collapsed(module: Module) -> bool:
    if isinstance(module, OPAQUE):
        return True
    has_children = next(iter(module.children()), None) is not None
    own = next(iter(module.parameters(recurse=False)), None) is not None
    own = own or next(iter(module.buffers(recurse=False)), None) is not None
    return own and not has_children


def tensors_in(value) -> list[Tensor]:
    """The tensors in a module's arguments or result (nested tuples, lists and dicts)."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tensors_in(v)]
    return []


def _key(t: Tensor):
    return (t.grad_fn, t._output_nr) if t.grad_fn is not None else None


def example_args(example_input) -> tuple:
    """Positional arguments for the model; floating tensors become leaves that require grad."""
    args = example_input if isinstance(example_input, tuple) else (example_input,)
    out = []
    for a in args:
        if isinstance(a, Tensor) and a.is_floating_point():
            a = a.detach().requires_grad_(True)
        out.append(a)
    return tuple(out)


def trace_model(model: Module, example_input) -> Trace:
    """Run ``example_input`` through ``model`` once and return what flows where.

    The model is left as it was: its train/eval flags and ``requires_grad`` flags are restored
    and no running statistics move (the pass runs in eval mode).
    """
    trace = Trace(model)
    modes = [(m, m.training) for m in model.modules()]
    frozen = [p for p in model.parameters() if not p.requires_grad and p.is_floating_point()]
    handles = []
    for name, module in model.named_modules():
        handles.append(module.register_forward_pre_hook(_pre_hook(trace, name)))
        handles.append(module.register_forward_hook(_post_hook(trace, name)))
    try:
        model.eval()
        for p in frozen:
            p.requires_grad_(True)
        with enable_grad():
            result = model(*example_args(example_input))
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.training = mode
            m.__dict__.pop("_grow_open_calls", None)  # left over when forward raised
        for p in frozen:
            p.requires_grad_(False)
    trace.outputs = tensors_in(result)
    _assign_nodes(trace)
    _walk(trace)
    return trace


def _pre_hook(trace: Trace, name: str):
    def hook(module, args):
        if not _collapsed(module):
            return
        call = Call(name, module)
        call.inputs = [(_key(t), tuple(t.shape)) for t in tensors_in(args) if _key(t)]
        trace.calls.append(call)
        module.__dict__.setdefault("_grow_open_calls", []).append(call)

    return hook


def _post_hook(trace: Trace, name: str):
    def hook(module, args, output):
        outs = tensors_in(output)
        trace.module_outputs.setdefault(name, []).extend(outs)
        pending = module.__dict__.get("_grow_open_calls")
        if not pending:
            return
        call = pending.pop()
        if not pending:
            del module.__dict__["_grow_open_calls"]
        call.outputs = [(_key(t), tuple(t.shape)) for t in outs if _key(t)]

    return hook


def _assign_nodes(trace: Trace) -> None:
    """Map each output node to its call: the innermost layer, or the outermost opaque one."""
    for call in trace.calls:  # hooks finish inner calls first, so outer opaque calls come later
        for key, _ in call.outputs:
            node = key[0]
            if node not in trace.call_of_node or isinstance(call.module, OPAQUE):
                trace.call_of_node[node] = call


def _walk(trace: Trace) -> None:
    stack = []
    for t in trace.outputs:
        key = _key(t)
        if key is not None:
            _link(trace, key, (SINK, 0), tuple(t.shape), stack)
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen or isinstance(node, AccumulateGrad):
            continue
        seen.add(id(node))
        call = trace.call_of_node.get(node)
        if call is not None:
            for i, (key, shape) in enumerate(call.inputs):
                _link(trace, key, (call, i), shape, stack)
            continue
        for i, (nxt, nr) in enumerate(node._edges):
            if nxt is not None and nr != -1:
                _link(trace, (nxt, nr), (node, i), node._input_shapes[i], stack)


def _link(trace: Trace, key: tuple, consumer: tuple, shape, stack: list) -> None:
    users = trace.consumers.setdefault(key, [])
    if consumer not in users:
        users.append(consumer)
    if shape is not None:
        trace.shape[key] = tuple(shape)
    stack.append(key[0])
