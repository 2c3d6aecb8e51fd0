"""``widen_``: more output units for a layer, the model's function unchanged (Net2Net)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from ember.nn.grow.plan import Plan, check_producer, plan_units, width_of
from ember.nn.grow.report import GrowthReport
from ember.nn.grow.session import GrowthSession, count_parameters
from ember.nn.grow.trace import trace_model
from ember.nn.grow.transforms import split_units, take_units, widen_index
from ember.nn.modules.conv import Conv1d, Conv2d
from ember.nn.modules.linear import Linear
from ember.nn.modules.module import Module
from ember.nn.modules.sparse import Embedding

__all__ = ["queue_units", "resolve_layers", "widen_"]

#: how far (relative to the output's scale) the output may move before growth is undone
TOLERANCE = 1e-3


def resolve_layers(op: str, model: Module, name_or_names) -> list[tuple[str, Module]]:
    """``[(name, module)]`` for a dotted name or a list of them, each checked as a producer."""
    names = [name_or_names] if isinstance(name_or_names, str) else list(name_or_names)
    if not names or len(set(names)) != len(names):
        raise ValueError(f"{op}: expected a layer name or a list of distinct names, got {names}")
    layers = []
    for name in names:
        try:
            module = model.get_submodule(name)
        except AttributeError as exc:
            raise ValueError(f"{op}: the model has no module '{name}' ({exc})") from None
        check_producer(op, name, module)
        layers.append((name, module))
    return layers


def queue_units(session: GrowthSession, plan: Plan, index: list[int], divide: bool) -> None:
    """Queue the new arrays of every tensor the plan touches for a layer whose units become
    ``index`` (copies when widening, the kept units when pruning)."""
    width = len(index)
    for name, module in plan.producers:
        axis = 1 if isinstance(module, Embedding) else 0
        session.transform(name, "weight", module.weight, partial(take_units, index=index, axis=axis))
        if getattr(module, "bias", None) is not None:
            session.transform(name, "bias", module.bias, partial(take_units, index=index, axis=0))
        session.set_attr(module, _width_attr(module), width)
    for name, module in plan.norms.items():
        for attr in ("weight", "bias", "running_mean", "running_var"):
            tensor = getattr(module, attr, None)
            if tensor is not None:
                session.transform(name, attr, tensor, partial(take_units, index=index, axis=0))
        session.set_attr(module, "num_features", width)
    for name, (module, layout) in plan.consumers.items():
        split = partial(split_units, index=index, axis=1, outer=layout.outer, inner=layout.inner)
        session.transform(
            name,
            "weight",
            module.weight,
            partial(split, divide=divide),
            magnitude_fn=partial(split, divide=False),
        )
        if isinstance(module, Linear):
            session.set_attr(module, "in_features", layout.outer * width * layout.inner)
        else:
            session.set_attr(module, "in_channels", width)


def _width_attr(module: Module) -> str:
    if isinstance(module, Embedding):
        return "embedding_dim"
    if isinstance(module, (Conv1d, Conv2d)):
        return "out_channels"
    return "out_features"


def widen_(
    model: Module,
    name_or_names: str | Sequence[str],
    new_width: int,
    *,
    example_input,
    optimizer=None,
    noise: float = 0.0,
) -> GrowthReport:
    """Give the layer at ``name`` (or the tied layers in a list) ``new_width`` output units.

    New units copy randomly chosen existing ones (their incoming weights, bias and any
    BatchNorm statistics in between); the next layers' weights for a copied unit are split
    among its copies, so with ``noise=0`` the model computes the same function. ``noise > 0``
    then perturbs the copies' incoming weights by ``noise`` times the layer's weight standard
    deviation, to break the symmetry between copies. With ``optimizer``, its state follows
    (see ``ember.nn.grow.optimizer_state``). Everything is checked before anything changes.

    >>> import ember
    >>> from ember import nn
    >>> net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> x = ember.randn(5, 4)
    >>> before = net(x)
    >>> print(widen_(net, "0", 6, example_input=x).parameters_added)
    21
    >>> bool((net(x) - before).abs().max() < 1e-5), net[0].out_features, net[2].in_features
    (True, 6, 6)
    """
    op = "widen_"
    layers = resolve_layers(op, model, name_or_names)
    old = width_of(layers[0][1])
    if not isinstance(new_width, int) or new_width < old:
        raise ValueError(
            f"{op}: new_width must be an int >= the current width {old}, got {new_width!r} "
            "(prune_ makes layers narrower)"
        )
    trace = trace_model(model, example_input)
    plan = plan_units(op, trace, layers)
    report = GrowthReport(op, [n for n, _ in layers], old, new_width)
    report.parameters_before = report.parameters_after = count_parameters(model)
    if new_width == old:
        return report
    from ember.random_ops import randperm

    index = widen_index(old, new_width, randperm(old).tolist())
    session = GrowthSession(op, optimizer)
    queue_units(session, plan, index, divide=True)
    session.install()
    moved = session.verify(model, example_input, [t._data for t in trace.outputs])
    if moved > TOLERANCE:
        session.rollback()
        raise RuntimeError(
            f"{op}: growing {report.layers} changed the model's output on the example by "
            f"{moved:.3g} (relative); the model uses these units in a way grow did not "
            "recognise, so nothing was changed"
        )
    if noise:
        _perturb(layers, old, noise)
    report.shapes = session.shapes()
    report.parameters_after = count_parameters(model)
    return report


def _perturb(layers, old: int, noise: float) -> None:
    """Add ``noise * std(weight)`` Gaussian noise to the incoming weights of the copies."""
    from ember.random_ops import randn

    for _, module in layers:
        weight = module.weight._data
        new = weight[:, old:] if isinstance(module, Embedding) else weight[old:]
        scale = float(weight.std()) or 1.0
        new += noise * scale * randn(*new.shape, dtype=module.weight.dtype, device=module.weight.device)._data
        module.weight._bump_version("widen_")
