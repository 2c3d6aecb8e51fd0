"""``deepen_``: a new layer after an existing one, initialised to the identity (Net2DeeperNet)."""

from __future__ import annotations

import warnings
from collections import OrderedDict

from ember.nn.grow.optimizer_state import add_params, group_of, rename_params
from ember.nn.grow.report import GrowthReport
from ember.nn.grow.session import GrowthSession, count_parameters
from ember.nn.grow.trace import trace_model
from ember.nn.grow.transforms import delta_kernel, identity_matrix
from ember.nn.grow.widen import TOLERANCE
from ember.nn.modules.container import Sequential
from ember.nn.modules.conv import Conv1d, Conv2d
from ember.nn.modules.linear import Linear
from ember.nn.modules.module import Module
from ember.nn.modules.sparse import Embedding
from ember.tensor import make

__all__ = ["deepen_", "identity_layer"]


def identity_layer(module: Module, output_shape: tuple, like) -> Module:
    """A layer computing the identity on ``module``'s output: a square Linear (eye weight,
    zero bias) over the features, or a Conv with a centred delta kernel and "same" padding."""
    if isinstance(module, (Conv1d, Conv2d)) or (
        not isinstance(module, (Linear, Embedding)) and len(output_shape) in (3, 4)
    ):
        conv = Conv2d if (isinstance(module, Conv2d) or len(output_shape) == 4) else Conv1d
        spatial = 2 if conv is Conv2d else 1
        channels = output_shape[-spatial - 1]
        size = getattr(module, "kernel_size", (3,) * spatial)
        size = tuple(k if k % 2 else 3 for k in size)
        layer = conv(
            channels,
            channels,
            size,
            padding=tuple(k // 2 for k in size),
            device=like.device,
            dtype=like.dtype,
        )
        layer.weight.data = make(delta_kernel(like._data, channels, size))
    else:
        features = output_shape[-1]
        layer = Linear(features, features, device=like.device, dtype=like.dtype)
        layer.weight.data = make(identity_matrix(like._data, features))
    layer.bias.data = make(like.xp.zeros(layer.bias.shape, dtype=like._data.dtype))
    return layer


def deepen_(
    model: Module, name: str, *, example_input, optimizer=None, activation: Module | type | None = None
) -> GrowthReport:
    """Insert after the module at ``name`` a new layer initialised to the identity.

    The new layer is a square ``Linear`` (after a Linear or Embedding, or a 2-D output) or a
    ``Conv1d``/``Conv2d`` with a centred delta kernel and "same" padding (after a convolution),
    followed by ``activation`` if given (a Module or a Module class). Inside a ``Sequential``
    the new layers are inserted in order (renumbered like ``Sequential.insert`` when the names
    are indices, else named ``<name>_deep``/``<name>_act``); elsewhere the attribute becomes a
    ``Sequential`` of the old and new layers. The function is unchanged without activation,
    and with a ReLU-like one when its input is already non-negative (a warning says when the
    example's output moved). With ``optimizer``, the new parameters join the group of the
    module's parameters and start with fresh state.

    >>> import ember
    >>> from ember import nn
    >>> net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> x = ember.randn(5, 4)
    >>> before = net(x)
    >>> print(deepen_(net, "0", example_input=x).added_modules)
    ['1']
    >>> bool((net(x) - before).abs().max() < 1e-6), len(net)
    (True, 4)
    """
    op = "deepen_"
    if not isinstance(name, str) or not name:
        raise ValueError(f"{op}: name must be the dotted name of a submodule, got {name!r}")
    try:
        module = model.get_submodule(name)
    except AttributeError as exc:
        raise ValueError(f"{op}: the model has no module '{name}' ({exc})") from None
    trace = trace_model(model, example_input)
    outputs = trace.module_outputs.get(name)
    if not outputs:
        raise ValueError(f"{op}: '{name}' did not run on the example input, or returned no tensor")
    if len(outputs) > 1 and len({tuple(t.shape) for t in outputs}) > 1:
        raise ValueError(f"{op}: '{name}' returns several tensors; grow deepens single outputs")
    like = next(iter(module.parameters()), None)
    like = like if like is not None and like.is_floating_point() else outputs[0].detach()
    new = [identity_layer(module, tuple(outputs[0].shape), like)]
    if activation is not None:
        new.append(activation() if isinstance(activation, type) else activation)
        if not isinstance(new[-1], Module):
            raise TypeError(f"{op}: activation must be a Module or a Module class, got {activation!r}")
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    names_before = {id(p): n for n, p in model.named_parameters()}
    report = GrowthReport(op, [name])
    report.parameters_before = count_parameters(model)
    session = GrowthSession(op, optimizer)
    session.structure.append(lambda: _insert(parent, attr, module, new))
    session.install()
    moved = session.verify(model, example_input, [t._data for t in trace.outputs])
    if moved > TOLERANCE:
        if activation is None:
            session.rollback()
            raise RuntimeError(
                f"{op}: the identity layer changed the output by {moved:.3g}; nothing was changed"
            )
        warnings.warn(
            f"{op}: the activation after the new layer moved the example's output by {moved:.3g} "
            "(relative): a ReLU-like activation preserves the function only where its input "
            "is already non-negative",
            stacklevel=2,
        )
    names_after = {id(p): n for n, p in model.named_parameters()}
    rename_params(optimizer, names_before, names_after)
    added = [(names_after[id(p)], p) for m in new for p in m.parameters()]
    add_params(optimizer, group_of(optimizer, list(module.parameters())), added)
    report.added_modules = [_name_of(model, m) for m in new]
    report.parameters_after = count_parameters(model)
    return report


def _name_of(model: Module, target: Module) -> str:
    return next(n for n, m in model.named_modules() if m is target)


def _insert(parent: Module, attr: str, module: Module, new: list[Module]):
    """Put ``new`` after ``module`` in ``parent``; return the undo."""
    saved = OrderedDict(parent._modules)
    if isinstance(parent, Sequential):
        keys = list(parent._modules)
        if all(k.isdigit() for k in keys):
            at = keys.index(attr) + 1
            for offset, layer in enumerate(new):
                parent.insert(at + offset, layer)
        else:
            parent._modules = _with_after(parent._modules, attr, new)
    else:
        setattr(parent, attr, Sequential(module, *new))

    def undo() -> None:
        parent._modules = saved

    return undo


def _with_after(modules: OrderedDict, attr: str, new: list[Module]) -> OrderedDict:
    out = OrderedDict()
    for key, value in modules.items():
        out[key] = value
        if key == attr:
            for suffix, layer in zip(("_deep", "_act"), new):
                name = key + suffix
                while name in modules or name in out:
                    name += "_"
                out[name] = layer
    return out
