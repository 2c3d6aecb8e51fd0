"""The CUDA path: one multi-tensor kernel launch per parameter group and step.

An optimizer class that names a kernel of ``ember.backend.fused.optim`` in ``fused_step``
(``SGD``, ``Adam`` and so ``AdamW``) has its groups stepped by that kernel when

* the kernel exists for the parameters' arrays (on CUDA; on the CPU ``fused.kernel`` answers
  None and the flat path of ``ember.optim._flat`` keeps the step), and fused kernels are on;
* the group does not ask for another path (``foreach=False`` or ``fused=False``), nor for
  ``capturable``/``differentiable``, and its scalars (``lr``, betas, ...) are numbers;
* every parameter with a gradient is a distinct contiguous array of one supported dtype
  (``SUPPORTED_DTYPES``: float32, float64) on one device, with a gradient of its dtype and shape;
* the class's rule is the kernel's (a subclass overriding ``update`` keeps the plain path).

Otherwise ``step`` returns False and the caller takes the existing path. The tensor lists are
built once per layout and rebuilt when the parameters with gradients, their arrays, their
state entries or the partition by step count change, as ``_flat`` tracks its layout; the
scalars (``lr``, betas, the step count) are passed to the kernel on every step. Parameters
whose state differs (a fresh momentum buffer, another step count: a parameter added to the
group later) are stepped in one launch per distinct state, which is one launch in the usual case.
"""

from __future__ import annotations

from operator import is_

from ember.backend import fused
from ember.backend.fused.optim import SUPPORTED_DTYPES, TensorLists
from ember.cuda.graphs import is_current_stream_capturing
from ember.tensor import Tensor

__all__ = ["step"]


# -- what each kernel needs from a group ------------------------------------------------------------
class _SGDRule:
    kernel = "optim.sgd_step"

    @staticmethod
    def state_names(group: dict) -> tuple[str, ...]:
        return ("momentum_buffer",) if group["momentum"] != 0 else ()

    @staticmethod
    def key(opt, group: dict, state: dict, fresh: bool):
        return fresh

    @staticmethod
    def arguments(group: dict, key) -> dict:
        return {
            "lr": group["lr"],
            "momentum": group["momentum"],
            "dampening": group["dampening"],
            "weight_decay": group["weight_decay"],
            "nesterov": group["nesterov"],
            "maximize": group["maximize"],
            "fresh": key,
        }

    @staticmethod
    def advance(states: list[dict], key) -> None:
        pass


class _AdamRule:
    kernel = "optim.adam_step"

    @staticmethod
    def state_names(group: dict) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ())

    @staticmethod
    def key(opt, group: dict, state: dict, fresh: bool):
        return float(state["step"]._data)

    @staticmethod
    def arguments(group: dict, key) -> dict:
        beta1, beta2 = group["betas"]
        return {
            "lr": group["lr"],
            "beta1": beta1,
            "beta2": beta2,
            "eps": group["eps"],
            "weight_decay": group["weight_decay"],
            "step": key + 1,
            "amsgrad": group["amsgrad"],
            "maximize": group["maximize"],
            "decoupled": group["decoupled_weight_decay"],
        }

    @staticmethod
    def advance(states: list[dict], key) -> None:
        for state in states:
            state["step"]._data[...] = key + 1


_RULES = {"optim.sgd_step": _SGDRule, "optim.adam_step": _AdamRule}
_RULE_OF_CLASS: dict[type, object] = {}
_OWN_METHODS = ("update", "advance", "init_state", "needs_init")


def _rule(opt):
    """The kernel rule of ``opt``'s class, or None (no kernel, or a subclass that changed the rule)."""
    cls = type(opt)
    if cls not in _RULE_OF_CLASS:
        owner = next((c for c in cls.__mro__ if "fused_step" in c.__dict__), None)
        same = owner is not None and all(getattr(cls, m) is getattr(owner, m) for m in _OWN_METHODS)
        _RULE_OF_CLASS[cls] = _RULES.get(owner.fused_step) if same else None
    return _RULE_OF_CLASS[cls]


def _group_allows(group: dict) -> bool:
    return (
        group.get("foreach") is not False
        and group.get("fused") is not False
        and not group.get("capturable")
        and not group.get("differentiable")
    )


def _numbers(rule, group: dict) -> bool:
    """Whether the kernel's scalars are plain numbers (a tensor ``lr`` or beta keeps the plain path)."""
    return all(isinstance(v, (int, float)) for v in rule.arguments(group, 0.0).values())


def _uniform(params: list[Tensor]) -> bool:
    """One supported dtype and one device; contiguous, distinct parameters; gradients that fit."""
    first = params[0]._data
    dtype, kind = first.dtype, type(first)
    if dtype.name not in SUPPORTED_DTYPES or len({id(p) for p in params}) != len(params):
        return False
    device = params[0].device
    for p in params:
        data, grad = p._data, p._grad
        if (
            type(data) is not kind
            or data.dtype != dtype
            or not data.flags.c_contiguous
            or type(grad._data) is not kind
            or grad._data.dtype != dtype
            or grad.shape != p.shape
            or p.device != device
            or grad.device != device
        ):
            return False
    return True


# -- the step -----------------------------------------------------------------------------------------
class _Layout:
    """The tensor lists of one group, one per distinct state (usually one), and what they describe."""

    def __init__(self, params, arrays, states, names, partition, lists) -> None:
        self.params = params
        self.arrays = arrays
        self.states = states
        self.names = names
        self.partition = partition
        self.lists = lists
        self.state_arrays = [[st[k]._data for k in names] for st in states]

    def matches(self, params, states, names, partition) -> bool:
        if names != self.names or partition != self.partition or len(params) != len(self.params):
            return False
        if not all(map(is_, params, self.params)) or not all(map(is_, states, self.states)):
            return False
        if not all(map(is_, [p._data for p in params], self.arrays)):
            return False
        return all(
            all(map(is_, [st[k]._data for k in names], held)) for st, held in zip(states, self.state_arrays)
        )


def _build(params, states, names, partition) -> _Layout:
    lists = []
    for indices in partition:
        members = [params[i] for i in indices]
        columns = {k: [states[i][k]._data for i in indices] for k in names}
        lists.append(TensorLists([p._data for p in members], columns))
    return _Layout(params, [p._data for p in params], states, names, partition, lists)


def step(opt, group: dict, params: list[Tensor]) -> bool:
    """Step ``group``'s ``params`` (those with gradients) in one kernel launch; False: not here."""
    rule = _rule(opt)
    if rule is None or not _group_allows(group) or not _numbers(rule, group):
        return False
    kernel = fused.kernel(params[0].xp, rule.kernel)
    if kernel is None or not _uniform(params):
        return False
    names = rule.state_names(group)
    states = [opt.state[p] for p in params]
    if is_current_stream_capturing() and any(opt.needs_init(group, st) for st in states):
        return False  # the plain path refuses to capture a first step, naming the warm-up
    keys = []
    for p, state in zip(params, states):
        fresh = opt.needs_init(group, state)
        if fresh:
            opt._init_param_state(group, p, state)
        if any(not isinstance(state.get(k), Tensor) for k in names):
            return False
        keys.append(rule.key(opt, group, state, fresh))
    by_key: dict = {}
    for i, key in enumerate(keys):
        by_key.setdefault(key, []).append(i)
    partition = tuple(tuple(indices) for indices in by_key.values())
    layouts = opt.__dict__.setdefault("_fused_layouts", {})
    layout = layouts.get(id(group))
    if layout is None or not layout.matches(params, states, names, partition):
        for p, state in zip(params, states):
            opt.follow_device(p, state)  # the model may have moved since the last layout
        live = {id(g) for g in opt.param_groups}
        for stale in [k for k in layouts if k not in live]:  # groups replaced by load_state_dict
            del layouts[stale]
        layout = layouts[id(group)] = _build(params, states, names, partition)
    for (key, indices), lists in zip(by_key.items(), layout.lists):
        lists.grads = [params[i]._grad._data for i in indices]
        kernel(lists, **rule.arguments(group, key))
        rule.advance([states[i] for i in indices], key)
    op_name = f"{type(opt).__name__}.step"
    for p in params:
        p._bump_version(op_name)
    return True
