"""How an optimizer's per-parameter state follows a growing layer (through ``param_groups``
and ``state`` only: this package never imports ``ember.optim``).

A state tensor of a parameter's shape either moves like the weights or like a magnitude:

* *linear* quantities (SGD's and RMSprop's ``momentum_buffer``, Adam's ``exp_avg``,
  RMSprop's ``grad_avg``, ASGD's ``ax``, Rprop's ``prev``) are running sums of gradients or
  of steps, so they are transformed exactly as the weights are: copied with a unit's incoming
  weights and divided among the copies with its outgoing weights. The pending motion of the
  weights then maps through the same transformation as the weights themselves;
* *magnitudes* (Adam's ``exp_avg_sq`` and ``max_exp_avg_sq``, RMSprop's ``square_avg``,
  Adagrad's ``sum``, Adadelta's ``acc_delta``, Adamax's ``exp_inf``, Rprop's ``step_size``)
  are copied and never divided. Adam's step is ``m / sqrt(v)``: with ``m`` split among
  ``c`` copies and ``v`` kept, each copy's next step is exactly ``1 / c`` of the source's
  step, i.e. the step is split like the weights, so the copies together move the function
  as the one unit would have. Dividing ``v`` by ``c**2`` instead would let every copy take
  the full step, ``c`` times too much.

0-d entries (``step`` and the like) are kept as they are. New parameters (a deepened layer)
get no state: the optimizer initialises it on their first step (zero moments, step 0), as it
does for any parameter it has not seen.
"""

from __future__ import annotations

from typing import Any

from ember.tensor import Tensor

__all__ = ["MAGNITUDE_STATE", "add_params", "group_of", "rename_params", "state_arrays"]

MAGNITUDE_STATE = frozenset(
    {"exp_avg_sq", "max_exp_avg_sq", "square_avg", "sum", "acc_delta", "exp_inf", "step_size"}
)


def state_arrays(op: str, optimizer, param: Tensor, shape: tuple) -> dict[str, Any]:
    """The state entries of ``param`` that have its shape; raise for entries grow cannot map."""
    if optimizer is None:
        return {}
    state = optimizer.state.get(param) if hasattr(optimizer.state, "get") else None
    out = {}
    for key, value in (state or {}).items():
        if not isinstance(value, Tensor) or value.dim() == 0:
            continue
        if tuple(value.shape) != tuple(shape):
            raise ValueError(
                f"{op}: optimizer state '{key}' of shape {list(value.shape)} belongs to a "
                f"parameter of shape {list(shape)}; grow maps only per-element state"
            )
        out[key] = value._data
    return out


def group_of(optimizer, params: list[Tensor]) -> dict | None:
    """The parameter group holding the first of ``params`` found, else the first group."""
    if optimizer is None or not optimizer.param_groups:
        return None
    for p in params:
        for group in optimizer.param_groups:
            if any(q is p for q in group["params"]):
                return group
    return optimizer.param_groups[0]


def add_params(optimizer, group: dict | None, params: list[tuple[str, Tensor]]) -> None:
    """Append new parameters to ``group`` (hyper-parameters and schedulers stay as they are)."""
    if group is None:
        return
    group["params"].extend(p for _, p in params)
    if "param_names" in group:
        group["param_names"].extend(n for n, _ in params)


def rename_params(optimizer, before: dict[int, str], after: dict[int, str]) -> None:
    """Follow renamed modules in ``param_names`` where the old name was the model's name."""
    if optimizer is None:
        return
    for group in optimizer.param_groups:
        names = group.get("param_names")
        if not names:
            continue
        for i, p in enumerate(group["params"]):
            if names[i] == before.get(id(p)) and id(p) in after:
                names[i] = after[id(p)]
