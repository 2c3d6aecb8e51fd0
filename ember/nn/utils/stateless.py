"""Calling a Module with parameters and buffers given for one call (``functional_call``).

>>> import ember
>>> layer = ember.nn.Linear(2, 1)
>>> weights = {"weight": ember.ones(1, 2), "bias": ember.zeros(1)}
>>> ember.func.functional_call(layer, weights, (ember.ones(1, 2),))
tensor([[2.]])
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ember.nn.modules.module import Module

__all__ = ["functional_call"]


def _slot(module: Module, dotted: str) -> tuple[Module, str]:
    owner_path, _, name = dotted.rpartition(".")
    return (module.get_submodule(owner_path) if owner_path else module), name


def _tied_names(module: Module, replaced: Mapping[str, Any]) -> dict[str, Any]:
    """The names sharing a tensor with a replaced one (``head.weight is emb.weight``), mapped to
    the replacement too, as PyTorch's ``tie_weights=True`` does."""
    by_tensor: dict[int, list[str]] = {}
    named = list(module.named_parameters(remove_duplicate=False)) + list(
        module.named_buffers(remove_duplicate=False)
    )
    for name, tensor in named:
        by_tensor.setdefault(id(tensor), []).append(name)
    current = dict(named)
    tied = {}
    for name, value in replaced.items():
        if name in current:
            for other in by_tensor[id(current[name])]:
                if other not in replaced:
                    tied[other] = value
    return tied


@contextlib.contextmanager
def _reparametrized(module: Module, values: Mapping[str, Any]) -> Iterator[None]:
    saved = []
    try:
        for dotted, value in values.items():
            owner, name = _slot(module, dotted)
            for container in (owner._parameters, owner._buffers):
                if name in container:
                    saved.append((container, name, container[name]))
                    container[name] = value
                    break
            else:
                had, previous = name in owner.__dict__, owner.__dict__.get(name)
                saved.append((owner.__dict__, name, previous if had else _MISSING))
                owner.__dict__[name] = value
        yield
    finally:
        for container, name, previous in reversed(saved):
            if previous is _MISSING:
                container.pop(name, None)
            else:
                container[name] = previous


_MISSING = object()


def functional_call(
    module: Module,
    parameter_and_buffer_dicts: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    args: Any = None,
    kwargs: dict[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """``module(*args, **kwargs)`` with the named parameters and buffers replaced for this call.

    Args:
        module: the Module to call; it is restored afterwards, even if the call raises.
        parameter_and_buffer_dicts: ``{"fc.weight": tensor, ...}`` (or a sequence of such dicts,
            merged; a name given twice is an error).
        args: one argument or a tuple of arguments.
        tie_weights: a replaced tensor also replaces every name tied to it.
        strict: every parameter and buffer must be given, and nothing else.
    """
    if isinstance(parameter_and_buffer_dicts, Mapping):
        values = dict(parameter_and_buffer_dicts)
    else:
        values = {}
        for part in parameter_and_buffer_dicts:
            repeated = set(values) & set(part)
            if repeated:
                raise ValueError(f"{sorted(repeated)} appeared in multiple dictionaries")
            values.update(part)
    if strict:
        expected = {n for n, _ in module.named_parameters()} | {n for n, _ in module.named_buffers()}
        missing, unexpected = sorted(expected - set(values)), sorted(set(values) - expected)
        problems = [
            f"\n\t{label} key(s): {', '.join(repr(k) for k in keys)}."
            for label, keys in (("Unexpected", unexpected), ("Missing", missing))
            if keys
        ]
        if problems:
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:{''.join(problems)}")
    if tie_weights:
        values.update(_tied_names(module, values))
    args = args if isinstance(args, tuple) else (() if args is None else (args,))
    with _reparametrized(module, values):
        return module(*args, **(kwargs or {}))
