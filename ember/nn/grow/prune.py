"""``prune_``: fewer output units for a layer, keeping the most important ones."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ember.nn.grow.plan import Plan, plan_units, width_of
from ember.nn.grow.report import GrowthReport
from ember.nn.grow.session import GrowthSession, count_parameters
from ember.nn.grow.trace import trace_model
from ember.nn.grow.widen import queue_units, resolve_layers
from ember.nn.modules.module import Module
from ember.nn.modules.sparse import Embedding
from ember.tensor import Tensor

__all__ = ["prune_", "unit_importance"]


def prune_(
    model: Module,
    name_or_names: str | Sequence[str],
    keep: int,
    *,
    example_input,
    optimizer=None,
    importance: str | Callable = "l1",
) -> GrowthReport:
    """Keep the ``keep`` most important output units of the layer at ``name`` (or of tied layers).

    ``importance="l1"`` scores a unit by the L1 norm of its incoming weights (and bias) plus
    its outgoing weights in every consumer; a callable ``importance(module)`` returns one score
    per unit of a layer (summed over tied layers). The consumers, any BatchNorm in between and
    the optimizer state shrink to match; unlike ``widen_`` this changes the function.

    >>> import ember
    >>> from ember import nn
    >>> net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    >>> prune_(net, "0", 3, example_input=ember.randn(5, 4)).parameters_added
    -21
    """
    op = "prune_"
    layers = resolve_layers(op, model, name_or_names)
    old = width_of(layers[0][1])
    if not isinstance(keep, int) or not 1 <= keep <= old:
        raise ValueError(f"{op}: keep must be an int in [1, {old}], got {keep!r}")
    trace = trace_model(model, example_input)
    plan = plan_units(op, trace, layers)
    scores = unit_importance(plan, importance)
    kept = sorted(sorted(range(old), key=lambda u: -scores[u])[:keep])
    report = GrowthReport(op, [n for n, _ in layers], old, keep)
    report.parameters_before = count_parameters(model)
    session = GrowthSession(op, optimizer)
    queue_units(session, plan, kept, divide=False)
    session.install()
    report.shapes = session.shapes()
    report.parameters_after = count_parameters(model)
    return report


def unit_importance(plan: Plan, importance: str | Callable = "l1") -> list[float]:
    """One score per unit: L1 norms of incoming and outgoing weights, or the callable's."""
    if callable(importance):
        total = [0.0] * plan.width
        for _, module in plan.producers:
            scores = importance(module)
            scores = scores.tolist() if isinstance(scores, Tensor) else list(scores)
            if len(scores) != plan.width:
                raise ValueError(
                    f"prune_: importance returned {len(scores)} scores for a layer of {plan.width} units"
                )
            total = [a + float(b) for a, b in zip(total, scores)]
        return total
    if importance != "l1":
        raise ValueError(f"prune_: importance must be 'l1' or a callable, got {importance!r}")
    total = None
    for _, module in plan.producers:
        w = abs(module.weight._data)
        incoming = w.sum(axis=0) if isinstance(module, Embedding) else w.reshape(w.shape[0], -1).sum(1)
        if getattr(module, "bias", None) is not None:
            incoming = incoming + abs(module.bias._data)
        total = incoming if total is None else total + incoming
    for module, layout in plan.consumers.values():
        w = abs(module.weight._data)
        w = w.reshape((w.shape[0], layout.outer, plan.width, layout.inner, -1))
        total = total + w.sum(axis=(0, 1, 3, 4))
    return [float(v) for v in total]
