"""``Optimizer``: the loop every optimizer shares; each subclass writes only its update rule.

A subclass states its per-parameter math in three small methods:

* ``init_state(group, param)`` returns the new state of one parameter: arrays of the
  parameter's shape (the moments) and, for the names in ``scalar_state``, 0-d floats;
* ``advance(group, scalars, fresh)`` moves the scalar state on by one step (``step += 1``,
  NAdam's ``mu_product``, ...) and returns the coefficients the update needs (bias
  corrections, step sizes): scalar work done once per step, not once per tensor;
* ``update(group, param, grad, state, coeffs)`` updates raw arrays in place. ``grad`` is
  scratch (already negated under ``maximize``) that the update may overwrite.

``update`` is elementwise, so the base runs it either once per parameter (the reference
path, ``foreach=False``) or over flat buffers that hold every parameter of a group (the
default, see ``ember.optim._flat``): the same code, the same floating-point operations in
the same order, hence the same bits, with a cost that follows the bytes, not the tensors.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

from ember import creation, dtypes
from ember.autograd.grad_mode import enable_grad, no_grad
from ember.autograd.hooks import RemovableHandle, add_hook
from ember.backend import xp_of
from ember.backend.fused.optim import lerp_
from ember.cuda.graphs import is_current_stream_capturing
from ember.optim import _flat, _fused
from ember.tensor import Tensor, make

__all__ = ["Optimizer", "ParamsT", "required", "xp_of"]

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]


class _RequiredParameter:
    """The default of an option that every parameter group must give."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


@contextlib.contextmanager
def _raw_hyperparameters(group: dict[str, Any]):
    """Inside the block, ``group``'s one-element Tensor hyperparameters (``lr=ember.tensor(0.01)``,
    betas given as Tensors) are the values the update rules compute with: Python numbers, or for
    a capturable group the device arrays themselves, so that a captured step reads the current
    value on every replay. The group keeps its identity (the flat and fused layouts are keyed by
    it), and its entries are restored afterwards."""
    swapped = {}
    capturable = group.get("capturable", False)
    for key, value in group.items():
        if key == "params":
            continue
        if isinstance(value, Tensor):
            swapped[key] = value
        elif isinstance(value, tuple) and any(isinstance(v, Tensor) for v in value):
            swapped[key] = value
    if not swapped:
        yield
        return
    for key, value in swapped.items():
        group[key] = (
            tuple(_raw(v, capturable) for v in value) if isinstance(value, tuple) else _raw(value, capturable)
        )
    try:
        yield
    finally:
        group.update(swapped)


def _raw(value, capturable: bool):
    if not isinstance(value, Tensor):
        return value
    if value.numel() != 1:
        raise ValueError(
            f"optimizer hyperparameters given as Tensors must have one element, got shape {list(value.shape)}"
        )
    if capturable and value.is_cuda:
        return value._data.reshape(())
    return value.item()


def _with_step_hooks(step: Callable) -> Callable:
    """Wrap a ``step`` so that the step pre/post hooks run around it."""
    if getattr(step, "_hooked", False):
        return step

    @functools.wraps(step)
    def hooked_step(self, *args, **kwargs):
        for hook in list(self._optimizer_step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(
                        f"{type(self).__name__}.step: a step pre-hook must return None or a "
                        f"tuple (new_args, new_kwargs), but got {result!r}"
                    )
                args, kwargs = result
        out = step(self, *args, **kwargs)
        self._opt_called = True  # read by the lr schedulers' step-order warning
        for hook in list(self._optimizer_step_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    hooked_step._hooked = True
    return hooked_step


class Optimizer:
    """Base class of optimizers: parameter groups, per-parameter state and the step loop.

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts (parameter
            groups), each with a ``'params'`` entry and options overriding ``defaults``.
        defaults: the default value of every option.

    >>> import ember
    >>> w = ember.zeros(3, requires_grad=True)
    >>> opt = ember.optim.SGD([w], lr=0.5)
    >>> w.grad = ember.ones(3)
    >>> opt.step()
    >>> w
    tensor([-0.5000, -0.5000, -0.5000], requires_grad=True)
    """

    #: names of 0-d state entries (kept as float32 CPU tensors, as PyTorch keeps ``step``)
    scalar_state: tuple[str, ...] = ("step",)
    #: whether ``update`` is elementwise, so that the flat fast path may run it
    elementwise: bool = True
    #: whether ``update`` writes into the gradient array it gets (then the step passes a copy)
    writes_grad: bool = True
    #: the hook signatures, as PyTorch names them for annotations
    OptimizerPreHook = Callable[..., Any]
    OptimizerPostHook = Callable[..., None]

    @staticmethod
    def profile_hook_step(func: Callable) -> Callable:
        """PyTorch wraps ``step`` for its profiler with this; ember runs the step hooks itself
        (every subclass's ``step`` is wrapped), so it returns ``func`` unchanged."""
        return func

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _with_step_hooks(cls.__dict__["step"])

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_post_hooks: OrderedDict = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {params.type()}"
            )
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._flat = _flat.FlatCache()
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # -- parameter groups ------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (e.g. to train new layers)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are missing"
                )
            param_group["param_names"] = names
        param_group["params"] = params
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__module__}.{type(p).__name__}"
                )
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization parameter {name}"
                )
            param_group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this "
                "will cause an error; see github.com/pytorch/pytorch/issues/40967 for more "
                "information",
                stacklevel=3,
            )
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        for group in self.param_groups:
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. cannot add param "
                    f"group {which} to the optimizer"
                )
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # -- the step ---------------------------------------------------------------------------
    @_with_step_hooks
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a ``.grad``; ``closure`` re-evaluates the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        capturing = is_current_stream_capturing()
        with no_grad():
            for group in self.param_groups:
                if capturing:
                    self._check_capturable(group)
                params = [p for p in group["params"] if p._grad is not None]
                if not params:
                    continue
                with _raw_hyperparameters(group):
                    if _fused.step(self, group, params) or self._flat.step(self, group, params):
                        continue
                    for p in params:
                        self._step_param(group, p)
        return loss

    def _step_param(self, group: dict[str, Any], param: Tensor) -> None:
        """The reference path: one parameter's update, straight from the rule."""
        state = self.state[param]
        fresh = self.needs_init(group, state)
        if fresh:
            if is_current_stream_capturing():
                raise RuntimeError(
                    f"{type(self).__name__}.step: the optimizer's state is created by its first "
                    "step, which a CUDA graph cannot capture (every replay would create it anew): "
                    "run the step eagerly first (warm-up), then capture"
                )
            self._init_param_state(group, param, state)
        else:
            self.follow_device(param, state)
        grad = self._grad_array(group, param)
        scalars = _flat.scalar_values(group, {k: state[k]._data for k in self.scalar_state if k in state})
        coeffs = self.advance(group, scalars, fresh)
        for k, v in scalars.items():
            state[k]._data[...] = v
        arrays = {k: v._data for k, v in state.items() if k not in scalars and isinstance(v, Tensor)}
        self.update(group, param._data, grad, arrays, coeffs)
        param._bump_version(f"{type(self).__name__}.step")

    def follow_device(self, param: Tensor, state: dict) -> None:
        """Move ``param``'s state arrays to its device (after ``model.to(device)``); scalar state
        too when the optimizer is capturable (it lives on the device then)."""
        move_scalars = self.defaults.get("capturable", False)
        for key, value in state.items():
            if (
                (move_scalars or key not in self.scalar_state)
                and isinstance(value, Tensor)
                and value.device != param.device
            ):
                state[key] = make(value.detach().to(param.device)._data)

    def _check_capturable(self, group: dict[str, Any]) -> None:
        """A step captured in a CUDA graph must keep its per-step scalars on the device."""
        if self.scalar_state and not group.get("capturable", False):
            raise RuntimeError(
                f"Attempting CUDA graph capture of step() for an instance of {type(self).__name__} "
                "but param_groups' capturable is False (pass capturable=True, so that the step "
                "count lives on the device and every replay advances it)"
            )

    def _grad_array(self, group: dict[str, Any], param: Tensor):
        grad = param._grad
        if grad.shape != param.shape:
            raise RuntimeError(
                f"{type(self).__name__}.step: gradient of shape {list(grad.shape)} does not match "
                f"its parameter of shape {list(param.shape)}"
            )
        if grad.device != param.device:
            raise RuntimeError(
                f"{type(self).__name__}.step: gradient on {grad.device} but its parameter on "
                f"{param.device}; move them to one device"
            )
        data = grad._data
        if data.dtype != param._data.dtype:
            return data.astype(param._data.dtype) * (-1 if group.get("maximize") else 1)
        if group.get("maximize"):
            return param.xp.negative(data)
        return data.copy() if self.writes_grad else data

    def _init_param_state(self, group: dict[str, Any], param: Tensor, state: dict) -> None:
        on_device = param if group.get("capturable", False) else None
        for key, value in self.init_state(group, param).items():
            if key in self.scalar_state:
                state[key] = _scalar(value, on_device)
            else:
                state[key] = make(value)

    # -- what each optimizer writes -------------------------------------------------------
    def needs_init(self, group: dict[str, Any], state: dict[str, Any]) -> bool:
        """Whether ``init_state`` must run before this step (by default: no state yet)."""
        return not state

    def init_state(self, group: dict[str, Any], param: Tensor) -> dict[str, Any]:
        """The state of a parameter before its first update."""
        return {}

    def advance(self, group: dict[str, Any], scalars: dict[str, float], fresh: bool) -> Any:
        """Move the scalar state on one step (in place) and return what ``update`` needs."""
        if "step" in scalars:
            scalars["step"] += 1
        return scalars.get("step")

    def update(self, group: dict[str, Any], param, grad, state: dict[str, Any], coeffs: Any) -> None:
        """Update the raw arrays of one parameter (or of a flat run of them) in place."""
        raise NotImplementedError(f"{type(self).__name__} must implement update() or step()")

    # -- gradients ---------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set them to None (the default) or fill them with zeros.

        Inside a CUDA graph capture gradients are always zeroed in place, so that ``.grad``
        keeps the memory every replay writes to.
        """
        capturing = is_current_stream_capturing()
        for group in self.param_groups:
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                if set_to_none and not capturing:
                    p._grad = None
                    continue
                if grad.grad_fn is not None:
                    grad.detach_()
                else:
                    grad.requires_grad_(False)
                grad._data[...] = 0
                grad._bump_version("zero_")

    # -- state dict ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: state}, 'param_groups': [...]}`` with parameters as indices."""
        for hook in list(self._optimizer_state_dict_pre_hooks.values()):
            hook(self)
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {  # an empty entry is a parameter with no state yet (SGD without momentum)
            index[id(k)] if isinstance(k, Tensor) else k: v for k, v in self.state.items() if v != {}
        }
        result = {"state": state, "param_groups": groups}
        for hook in list(self._optimizer_state_dict_post_hooks.values()):
            out = hook(self, result)
            if out is not None:
                result = out
        return result

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a ``state_dict()``: state is copied onto each parameter's device and dtype."""
        state_dict = dict(state_dict)
        for hook in list(self._optimizer_load_state_dict_pre_hooks.values()):
            out = hook(self, state_dict)
            if out is not None:
                state_dict = out
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(self.param_groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for group, saved in zip(self.param_groups, saved_groups):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size "
                    "of optimizer's group"
                )
        id_map = dict(
            zip(
                chain.from_iterable(g["params"] for g in saved_groups),
                chain.from_iterable(g["params"] for g in self.param_groups),
            )
        )
        state: defaultdict[Any, dict] = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                param = id_map[key]
                state[param] = self._cast_state(param, value)
            else:
                state[key] = value
        for group, saved in zip(self.param_groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.state = state
        self.param_groups = saved_groups
        self._flat = _flat.FlatCache()
        for hook in list(self._optimizer_load_state_dict_post_hooks.values()):
            hook(self)

    def _runs_update_rule(self) -> bool:
        """Whether the base ``step`` runs this optimizer (through ``init_state``/``update``), and so
        reads ``scalar_state`` entries as 0-d tensors; a subclass with its own ``step`` keeps the
        plain numbers it stored (``state["step"] = 0``), as PyTorch leaves them."""
        return not any(
            "step" in vars(c) for c in type(self).__mro__ if c is not Optimizer and issubclass(c, Optimizer)
        )

    def _cast_state(self, param: Tensor, value: Any, key: Any = None) -> Any:
        if isinstance(value, Tensor):
            if key in self.scalar_state:
                return _scalar(float(value._data))
            target = param.dtype if param.is_floating_point() and value.is_floating_point() else None
            data = value.detach().to(device=param.device, dtype=target)._data
            return make(data.copy() if data is value._data else data)
        if key in self.scalar_state and isinstance(value, (int, float)) and self._runs_update_rule():
            return _scalar(float(value))
        if isinstance(value, dict):
            return {k: self._cast_state(param, v, k) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._cast_state(param, v) for v in value)
        return value

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name in (
            "_optimizer_step_pre_hooks",
            "_optimizer_step_post_hooks",
            "_optimizer_state_dict_pre_hooks",
            "_optimizer_state_dict_post_hooks",
            "_optimizer_load_state_dict_pre_hooks",
            "_optimizer_load_state_dict_post_hooks",
        ):
            self.__dict__.setdefault(name, OrderedDict())
        self._flat = _flat.FlatCache()

    # -- hooks ---------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` runs before each step; it may return new (args, kwargs)."""
        return add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` runs after each step."""
        return add_hook(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        return add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        return add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        return add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        return add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _scalar(value: float, on_device: Tensor | None = None) -> Tensor:
    """A 0-d float32 CPU tensor: how scalar state (``step``, ...) is kept, as in PyTorch; on
    ``on_device``'s device for a capturable optimizer."""
    device = None if on_device is None else on_device.device
    t = creation.zeros((), dtype=dtypes.float32, device=device)
    t._data[...] = value
    return t


def adam_moments(xp, group: dict, param, grad, state: dict):
    """The steps Adam, NAdam and RAdam share: weight decay, then both moment estimates.

    L2 decay adds ``wd * param`` to ``grad``; decoupled decay scales ``param`` by ``1 - lr * wd``.
    Then ``m = lerp(m, g, 1 - beta1)`` and ``v = beta2 * v + (1 - beta2) * g * g``, in place.
    Returns a scratch array of ``param``'s shape for the caller's remaining math.
    """
    beta1, beta2 = group["betas"]
    lr, wd = group["lr"], group["weight_decay"]
    if wd != 0:
        if group["decoupled_weight_decay"]:
            param *= 1 - lr * wd
        else:
            grad += param * wd
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    scratch = xp.empty_like(param)
    lerp_(xp, exp_avg, grad, 1 - beta1, scratch)
    exp_avg_sq *= beta2
    xp.multiply(grad, 1 - beta2, out=scratch)
    scratch *= grad
    exp_avg_sq += scratch
    return scratch


def check_options(
    optimizer: str,
    *,
    lr: float | Tensor,
    eps: float | None = None,
    weight_decay: float | None = None,
    betas: tuple[float, float] | None = None,
    rho: float | None = None,
    etas: tuple[float, float] | None = None,
    foreach: bool | None = None,
    fused: bool | None = None,
    capturable: bool = False,
    differentiable: bool = False,
    **at_least_zero: float,
) -> None:
    """Every optimizer's argument checks, with PyTorch's messages (``Invalid learning rate: -1``).

    ``at_least_zero`` names further options that must be >= 0 (``momentum=0.9``). The PyTorch
    options ember does not implement (``capturable``, ``differentiable``) are refused here too.
    """
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps is not None and not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    for name, value in at_least_zero.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {name} value: {value}")
    if rho is not None and not 0.0 <= rho <= 1.0:
        raise ValueError(f"Invalid rho value: {rho}")
    if etas is not None and not 0.0 < etas[0] < 1.0 < etas[1]:
        raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
    if weight_decay is not None and not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if betas is not None:
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if capturable:
        raise NotImplementedError(f"{optimizer}: capturable=True (CUDA graphs) is not supported by ember")
    if differentiable:
        raise NotImplementedError(f"{optimizer}: differentiable=True is not supported by ember")
