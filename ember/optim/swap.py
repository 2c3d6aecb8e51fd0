"""``swap_in_optimizer_params_and_state``: run optimizer APIs on other parameters and state."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Any

from ember.optim import _flat

__all__ = ["swap_in_optimizer_params_and_state"]


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(
    optimizer, swapin_parameters: dict, swapin_optim_state: dict[str, Any]
):
    """Temporarily give ``optimizer`` other parameters and a state-dict-shaped state.

    ``swapin_parameters`` lists tensors in the order of the optimizer's parameters (usually
    ``model.named_parameters()`` order); ``swapin_optim_state`` is shaped like
    ``optimizer.state_dict()``. Steps taken inside update those tensors (and the state's
    tensors, in place); on exit the optimizer's own groups and state come back unchanged.

    >>> import ember
    >>> w = ember.zeros(1, requires_grad=True)
    >>> opt = ember.optim.SGD([w], lr=1.0)
    >>> other = ember.ones(1, requires_grad=True)
    >>> other.grad = ember.ones(1)
    >>> with swap_in_optimizer_params_and_state(opt, {"w": other}, opt.state_dict()):
    ...     opt.step()
    >>> other.detach(), w.detach()
    (tensor([0.]), tensor([0.]))
    """
    params = list(swapin_parameters.values())
    groups = swapin_optim_state["param_groups"]
    if len(groups) != len(optimizer.param_groups):
        raise ValueError(
            f"swap_in_optimizer_params_and_state: the state has {len(groups)} param "
            f"groups, the optimizer {len(optimizer.param_groups)}"
        )
    if len(params) != sum(len(g["params"]) for g in groups):
        raise ValueError(
            f"swap_in_optimizer_params_and_state: {len(params)} parameters given for "
            f"{sum(len(g['params']) for g in groups)} in the state's param groups"
        )
    snapshots = [dict(g) for g in optimizer.param_groups]
    saved = optimizer.state, optimizer._flat
    try:
        swapped: defaultdict = defaultdict(dict)
        position = 0
        for live, group in zip(optimizer.param_groups, groups):
            own = params[position : position + len(group["params"])]
            position += len(own)
            live.update({k: v for k, v in group.items() if k != "params"})
            live["params"] = own
            # the per-parameter path updates the given state tensors in place
            live["foreach"] = False
            for param, param_id in zip(own, group["params"]):
                swapped[param] = dict(swapin_optim_state["state"].get(param_id, {}))
        optimizer.state, optimizer._flat = swapped, _flat.FlatCache()
        yield
    finally:
        for live, snapshot in zip(optimizer.param_groups, snapshots):
            live.clear()
            live.update(snapshot)
        optimizer.state, optimizer._flat = saved
