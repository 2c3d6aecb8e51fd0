"""Follow the units of the grown layers to every layer that reads them, and say what must change.

A *unit layout* describes where a layer's units sit in a tensor: along axis ``ax`` (counted from
the end, so that broadcasting keeps it), whose extent is ``outer * units * inner``; unit ``u``
owns the positions ``o * units * inner + u * inner + i``. A Linear's output has the layout
``(-1, 1, 1)``; flattening a Conv2d's ``(N, C, H, W)`` output gives ``(-1, 1, H * W)``: each
channel owns one block of ``H * W`` features. The layout is carried forward through the ops
between layers; every layer reached is a consumer (its input columns follow the units), a
BatchNorm (its per-channel tensors follow the units, and its output carries the units on), or
an error raised before anything changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ember.nn.grow.trace import SINK, Call, Trace
from ember.nn.modules.conv import Conv1d, Conv2d
from ember.nn.modules.linear import Linear
from ember.nn.modules.normalization import GroupNorm, LayerNorm, RMSNorm, _BatchNorm, _InstanceNorm
from ember.nn.modules.rnn import RNNBase
from ember.nn.modules.sparse import Embedding
from ember.nn.modules.transformer import MultiheadAttention

__all__ = ["Layout", "Plan", "plan_units", "width_of"]

ELEMENTWISE = frozenset(
    [
        "Relu",
        "Gelu",
        "Tanh",
        "Sigmoid",
        "Exp",
        "Exp2",
        "Expm1",
        "Log",
        "Log2",
        "Log10",
        "Log1p",
        "Abs",
        "Neg",
        "Sqrt",
        "Rsqrt",
        "Reciprocal",
        "PowScalar",
        "Pow",
        "RPow",
        "Clamp",
        "ClampTensor",
        "Erf",
        "Erfc",
        "Erfinv",
        "Sin",
        "Cos",
        "Tan",
        "Sinh",
        "Cosh",
        "Asin",
        "Acos",
        "Atan",
        "Asinh",
        "Acosh",
        "Atanh",
        "Sign",
        "Floor",
        "Ceil",
        "Round",
        "Trunc",
        "Frac",
        "Sinc",
        "NanToNum",
        "Cast",
        "Clone",
        "ToDevice",
        "Add",
        "Sub",
        "RSub",
        "Mul",
        "Div",
        "RDiv",
        "DivRounded",
        "Maximum",
        "Minimum",
        "Fmax",
        "Fmin",
        "Where",
        "Lerp",
        "Atan2",
        "Hypot",
        "Logaddexp",
        "Copysign",
        "Xlogy",
        "Remainder",
        "Fmod",
    ]
)
POOLS = frozenset({"MaxPool2d", "AvgPool2d"})
REDUCTIONS = frozenset({"Mean", "Sum", "Amax", "Prod"})


@dataclass(frozen=True)
class Layout:
    """Where the units sit: axis ``ax`` from the end, ``outer * units * inner`` positions."""

    ax: int
    outer: int = 1
    inner: int = 1


@dataclass
class Plan:
    """What growing a set of tied layers touches."""

    producers: list[tuple[str, Any]]
    width: int
    consumers: dict[str, tuple[Any, Layout]] = field(default_factory=dict)
    norms: dict[str, Any] = field(default_factory=dict)
    reached: set = field(default_factory=set)  # the calls whose input carries the units


def width_of(module) -> int:
    if isinstance(module, Embedding):
        return module.embedding_dim
    if isinstance(module, Linear):
        return module.out_features
    return module.out_channels


def check_producer(op: str, name: str, module) -> None:
    """Raise unless ``module`` is a layer whose output units grow can change."""
    if isinstance(module, (Linear, Embedding)):
        return
    if isinstance(module, (Conv1d, Conv2d)):
        if module.groups != 1:
            raise ValueError(
                f"{op}: '{name}' is a grouped Conv (groups={module.groups}); grow changes "
                "only convolutions with groups=1"
            )
        return
    raise TypeError(
        f"{op}: '{name}' is a {type(module).__name__}; grow changes the output units of Linear "
        "(out_features), Conv1d/Conv2d (out_channels) and Embedding (embedding_dim)"
    )


def _start_layout(module) -> Layout:
    if isinstance(module, (Conv1d, Conv2d)):
        return Layout(-(len(module.kernel_size) + 1))
    return Layout(-1)


def plan_units(op: str, trace: Trace, producers: list[tuple[str, Any]]) -> Plan:
    """Follow the producers' units through ``trace``; raise (naming what) where they cannot go."""
    widths = {width_of(m) for _, m in producers}
    names = [n for n, _ in producers]
    if len(widths) != 1:
        listed = ", ".join(f"'{n}': {width_of(m)}" for n, m in producers)
        raise ValueError(f"{op}: tied layers must have the same width, got {listed}")
    plan = Plan(producers, widths.pop())
    seen: dict[tuple, Layout] = {}
    work = []
    for name, module in producers:
        calls = trace.calls_of(name)
        if not calls:
            raise ValueError(
                f"{op}: '{name}' was not called while the example input ran through the model; "
                "give an example_input that reaches it"
            )
        for call in calls:
            work.extend((key, _start_layout(module)) for key, _ in call.outputs)
    joins = []
    while work:
        key, layout = work.pop()
        if key in seen:
            if seen[key] != layout:
                raise ValueError(f"{op}: the units of {names} reach one tensor in two layouts")
            continue
        seen[key] = layout
        for consumer, arg in trace.consumers.get(key, []):
            work.extend(_visit(op, trace, plan, key, layout, consumer, arg, joins))
    for node, _arg, key, layout in joins:
        if seen.get(key) != layout:
            _tied_error(op, trace, names, node, key)
    for name in list(plan.consumers) + list(plan.norms):
        if any(call not in plan.reached for call in trace.calls_of(name)):
            raise ValueError(
                f"{op}: '{name}' reads the units of {names} in one call but other inputs in "
                "another; its input width cannot grow for one call only"
            )
    return plan


def _visit(op, trace, plan, key, layout, consumer, arg, joins) -> list:
    names = [n for n, _ in plan.producers]
    shape = trace.shape[key]
    if consumer is SINK:
        raise ValueError(
            f"{op}: the output of {names} is (part of) the model's output; growing it would "
            "change the shape the model returns. Grow a hidden layer instead"
        )
    if isinstance(consumer, Call):
        return _visit_call(op, plan, names, consumer, layout, shape)
    return _visit_op(op, trace, names, key, layout, consumer, arg, shape, joins)


def _position(layout: Layout, shape: tuple) -> int:
    return len(shape) + layout.ax


def _visit_call(op, plan, names, call: Call, layout: Layout, shape) -> list:
    module, where = call.module, f"'{call.name}' ({type(call.module).__name__})"
    pos = _position(layout, shape)
    plan.reached.add(call)
    if isinstance(module, Linear):
        if pos != len(shape) - 1:
            raise ValueError(
                f"{op}: {where} reads the units of {names} along dim {pos} of an input of shape "
                f"{list(shape)}, not along its last dim, the one a Linear mixes"
            )
        return _consumer(op, plan, call, layout, module.in_features)
    if isinstance(module, (Conv1d, Conv2d)):
        if module.groups != 1 or pos != len(shape) - len(module.kernel_size) - 1:
            raise ValueError(
                f"{op}: {where} cannot take more input channels from {names} (groups="
                f"{module.groups}, units along dim {pos} of an input of shape {list(shape)})"
            )
        if layout.outer != 1 or layout.inner != 1:
            raise ValueError(f"{op}: {where} reads the units of {names} reshaped into its channels")
        return _consumer(op, plan, call, layout, module.in_channels)
    if isinstance(module, _BatchNorm) and not isinstance(module, _InstanceNorm):
        if pos != (1 if len(shape) > 1 else 0) or layout.outer != 1 or layout.inner != 1:
            raise ValueError(f"{op}: {where} normalises the units of {names} in a mixed layout")
        plan.norms[call.name] = module
        return [(key, layout) for key, _ in call.outputs]
    raise ValueError(f"{op}: {where} reads the output of {names}: {_why_not(module)}")


def _why_not(module) -> str:
    if isinstance(module, (LayerNorm, GroupNorm, RMSNorm, _InstanceNorm)):
        return (
            "it normalises over the grown features, and copies of a unit change the mean and "
            "variance it divides by, so the function cannot be preserved exactly. Grow a layer "
            "whose output goes to a Linear/Conv (or through a BatchNorm) instead"
        )
    if isinstance(module, MultiheadAttention):
        return (
            "attention splits its features into heads of embed_dim / num_heads each and "
            "scales scores by sqrt(head_dim); copied units would change the heads and the "
            "scaling, so the function cannot be preserved"
        )
    if isinstance(module, RNNBase):
        return "a recurrent layer's input width is tied to its gates; grow does not widen RNNs"
    return "grow widens the inputs of Linear, Conv1d, Conv2d and BatchNorm layers only"


def _consumer(op, plan, call: Call, layout: Layout, in_width: int) -> list:
    expected = layout.outer * plan.width * layout.inner
    if in_width != expected:
        raise ValueError(
            f"{op}: '{call.name}' expects {in_width} input features but the units arrive as "
            f"{layout.outer} x {plan.width} x {layout.inner}"
        )
    known = plan.consumers.get(call.name)
    if known is not None and known[1] != layout:
        raise ValueError(f"{op}: '{call.name}' is called on the units in two different layouts")
    plan.consumers[call.name] = (call.module, layout)
    return []


def _visit_op(op, trace, names, key, layout, node, arg, shape, joins) -> list:
    kind = type(node).__name__.removesuffix("Backward0").removesuffix("Backward")
    out_key = (node, 0)
    out_shape = trace.shape.get(out_key)
    if out_shape is None:
        return []
    pos = _position(layout, shape)
    if kind in ELEMENTWISE:
        if len(out_shape) < -layout.ax or out_shape[layout.ax] != shape[layout.ax]:
            raise ValueError(f"{op}: `{kind}` changes the size of the units' dim of {names}")
        for j, (nxt, nr) in enumerate(node._edges):
            other = node._input_shapes[j]
            if j == arg or nxt is None or nr == -1 or other is None:
                continue
            if len(other) >= -layout.ax and other[layout.ax] != 1:
                joins.append((node, j, (nxt, nr), layout))
        return [(out_key, layout)]
    if kind in POOLS:
        if pos >= len(shape) - 2 or len(out_shape) != len(shape):
            raise ValueError(f"{op}: `{kind}` pools over the units of {names}")
        return [(out_key, layout)]
    if kind in REDUCTIONS:
        return [(out_key, _reduced(op, names, node, layout, shape, out_shape, pos, kind))]
    if kind == "Reshape":
        return [(out_key, _reshaped(op, names, layout, shape, out_shape, pos))]
    raise ValueError(
        f"{op}: the output of {names} passes through `{kind}` (shape {list(shape)} -> "
        f"{list(out_shape)}), which grow cannot follow: it knows element-wise ops, pooling, "
        "mean/sum over other dims and reshapes that keep each unit's block together"
    )


def _reduced(op, names, node, layout, shape, out_shape, pos, kind) -> Layout:
    dims = getattr(node, "dims", None)
    if dims is None:
        raise ValueError(f"{op}: `{kind}` reduces the units of {names} over every dim")
    dims = {d % len(shape) for d in (dims if isinstance(dims, (tuple, list)) else (dims,))}
    if pos in dims:
        raise ValueError(f"{op}: `{kind}` reduces over the units' dim of {names}")
    new_pos = pos if getattr(node, "keepdim", False) else pos - sum(d < pos for d in dims)
    return Layout(new_pos - len(out_shape), layout.outer, layout.inner)


def _reshaped(op, names, layout, shape, out_shape, pos) -> Layout:
    units = shape[pos] // (layout.outer * layout.inner)
    block = layout.inner
    for s in shape[pos + 1 :]:
        block *= s
    span = units * block
    after = 1
    for b in range(len(out_shape) - 1, -1, -1):
        if block % after == 0 and (after * out_shape[b]) % span == 0:
            inner = block // after
            return Layout(b - len(out_shape), out_shape[b] // (units * inner), inner)
        after *= out_shape[b]
        if after > block:
            break
    raise ValueError(
        f"{op}: a reshape from {list(shape)} to {list(out_shape)} splits the units of {names} "
        "apart; grow follows reshapes that keep each unit's block of positions together"
    )


def _tied_error(op, trace: Trace, names, node, key) -> None:
    kind = type(node).__name__.removesuffix("Backward0").removesuffix("Backward")
    described, other = trace.origin(key)
    fix = (
        f"grow them together: {op}(model, {names + [other]!r}, ...)"
        if other is not None
        else "grow a layer whose output is not joined with it"
    )
    raise ValueError(
        f"{op}: the output of {names} meets the output of {described} in an element-wise "
        f"`{kind}` (a residual connection?), so their units are tied; {fix}"
    )
