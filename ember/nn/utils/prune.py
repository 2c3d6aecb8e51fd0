"""``nn.utils.prune``: zero out weights through a mask, as PyTorch's pruning utilities do.

Pruning ``module.<name>`` moves the Parameter to ``<name>_orig``, stores the mask as the buffer
``<name>_mask`` and recomputes ``module.<name> = <name>_orig * <name>_mask`` in a forward
pre-hook, so ``state_dict()`` keys are PyTorch's. Pruning the same tensor again combines the
methods in a ``PruningContainer``: the new method acts only on what is still unpruned (the
remaining entries, or the remaining channels for structured methods). ``remove`` makes the
pruning permanent.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

from ember import creation
from ember.autograd.grad_mode import no_grad
from ember.nn.modules.module import Module
from ember.nn.utils.convert_parameters import parameters_to_vector
from ember.random_ops import rand, rand_like
from ember.tensor import Tensor

__all__ = [
    "BasePruningMethod",
    "CustomFromMask",
    "Identity",
    "L1Unstructured",
    "LnStructured",
    "PruningContainer",
    "RandomStructured",
    "RandomUnstructured",
    "custom_from_mask",
    "global_unstructured",
    "identity",
    "is_pruned",
    "l1_unstructured",
    "ln_structured",
    "random_structured",
    "random_unstructured",
    "remove",
]


class BasePruningMethod(ABC):
    """A pruning method: ``compute_mask`` says what to keep; the object is the forward pre-hook.

    Subclasses set ``PRUNING_TYPE`` to ``"unstructured"``, ``"structured"`` (and define ``dim``)
    or ``"global"``, and write ``compute_mask(t, default_mask)``.
    """

    PRUNING_TYPE: str
    _tensor_name: str | None = None

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The mask for ``t``, given the mask ``default_mask`` already in place."""

    def apply_mask(self, module: Module) -> Tensor:
        """``<name>_orig * <name>_mask`` of ``module``."""
        if self._tensor_name is None:
            raise RuntimeError(f"prune: module {module} has to be pruned before its mask is applied")
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module: Module, name: str, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)``; returns the method (the hook)."""
        method = _combined_method(module, name, cls(*args, **kwargs))
        orig = getattr(module, name)
        if importance_scores is not None and tuple(importance_scores.shape) != tuple(orig.shape):
            raise ValueError(
                f"prune: importance_scores of shape {list(importance_scores.shape)} must match "
                f"the shape of {name} {list(orig.shape)}"
            )
        first = not isinstance(method, PruningContainer)
        if first:
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = creation.ones_like(orig)
        else:
            default_mask = getattr(module, name + "_mask").detach().clone()
        try:
            with no_grad():
                scores = importance_scores if importance_scores is not None else orig
                mask = method.compute_mask(scores, default_mask=default_mask)
        except Exception:
            if first:
                module.register_parameter(name, module._parameters.pop(name + "_orig"))
            raise
        module.register_buffer(name + "_mask", mask)
        setattr(module, name, method.apply_mask(module))
        module.register_forward_pre_hook(method)
        return method

    def prune(self, t: Tensor, default_mask: Tensor | None = None, importance_scores=None) -> Tensor:
        """``t`` times the mask this method computes for it (nothing is registered)."""
        if importance_scores is not None and tuple(importance_scores.shape) != tuple(t.shape):
            raise ValueError("prune: importance_scores should have the same shape as the tensor")
        scores = importance_scores if importance_scores is not None else t
        default_mask = default_mask if default_mask is not None else creation.ones_like(t)
        with no_grad():
            mask = self.compute_mask(scores, default_mask=default_mask)
        return t * mask

    def remove(self, module: Module) -> None:
        """Make the pruning permanent: ``<name>`` becomes a Parameter holding the pruned values."""
        name = self._tensor_name
        if name is None:
            raise RuntimeError(f"prune: module {module} has to be pruned before pruning can be removed")
        with no_grad():
            weight = self.apply_mask(module)
        if hasattr(module, name):
            delattr(module, name)
        orig = module._parameters.pop(name + "_orig")
        orig.data = weight.data
        del module._buffers[name + "_mask"]
        setattr(module, name, orig)


def _combined_method(module: Module, name: str, method: BasePruningMethod) -> BasePruningMethod:
    """``method``, or a container holding the earlier pruning of ``name`` followed by it."""
    method._tensor_name = name
    earlier = [
        (key, hook)
        for key, hook in module._forward_pre_hooks.items()
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name
    ]
    if not earlier:
        return method
    key, old = earlier[0]
    del module._forward_pre_hooks[key]
    container = old if isinstance(old, PruningContainer) else PruningContainer(old)
    container.add_pruning_method(method)
    return container


class PruningContainer(BasePruningMethod):
    """A sequence of pruning methods on one tensor; each acts on what the earlier ones left."""

    def __init__(self, *methods: BasePruningMethod) -> None:
        self._pruning_methods: tuple = ()
        if len(methods) == 1 and not isinstance(methods[0], BasePruningMethod):
            methods = tuple(methods[0])
        for method in methods:
            self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"PruningContainer: {type(method).__name__} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name is not None and self._tensor_name != method._tensor_name:
            raise ValueError(
                f"PruningContainer: can only add pruning methods acting on the parameter named "
                f"'{self._tensor_name}'; got one acting on '{method._tensor_name}'"
            )
        if method is not None:
            self._pruning_methods += (method,)
            self._tensor_name = method._tensor_name

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """Apply the latest method to the entries (or channels) ``default_mask`` still keeps."""
        method = self._pruning_methods[-1]
        new_mask = default_mask.to(dtype=t.dtype)
        index = _unpruned_index(method, t, default_mask)
        partial = method.compute_mask(t[index], default_mask=default_mask[index])
        new_mask[index] = partial.to(dtype=new_mask.dtype)
        return new_mask


def _unpruned_index(method: BasePruningMethod, t: Tensor, mask: Tensor):
    """The index of what ``mask`` keeps, in the granularity of ``method.PRUNING_TYPE``."""
    kind = method.PRUNING_TYPE
    if kind == "unstructured":
        return mask == 1
    if kind == "global":
        return (slice(None),) * t.dim()
    if kind != "structured":
        raise ValueError(f"prune: unrecognized PRUNING_TYPE {kind!r}; use unstructured, structured or global")
    if not hasattr(method, "dim"):
        raise AttributeError(
            "Pruning methods of PRUNING_TYPE 'structured' need to have the attribute `dim` defined."
        )
    dim = method.dim + t.dim() if method.dim < 0 else method.dim
    if not 0 <= dim < t.dim():
        raise IndexError(f"prune: dim {method.dim} is out of bounds for a tensor with {t.dim()} dims")
    others = [d for d in range(t.dim()) if d != dim]
    keep_channel = mask.sum(dim=others) != 0 if others else mask != 0
    return (slice(None),) * dim + (keep_channel,)


class Identity(BasePruningMethod):
    """Prunes nothing: the mask is all ones (or the mask already in place)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask

    @classmethod
    def apply(cls, module: Module, name: str):
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    """Prunes ``amount`` (a fraction, or a count) of the entries, chosen at random."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        count = _count_to_prune(self.amount, t.numel())
        mask = default_mask.clone()
        if count:
            drop = rand_like(t).view(-1).topk(count).indices
            mask.view(-1)[drop] = 0
        return mask

    @classmethod
    def apply(cls, module: Module, name: str, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Prunes ``amount`` (a fraction, or a count) of the entries with the smallest magnitude."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        count = _count_to_prune(self.amount, t.numel())
        mask = default_mask.clone()
        if count:
            drop = t.abs().reshape(-1).topk(count, largest=False).indices
            mask.view(-1)[drop] = 0
        return mask

    @classmethod
    def apply(cls, module: Module, name: str, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` of the channels along ``dim``, chosen at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim: int = -1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount, self.dim = amount, dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        size = _channels(t, self.dim)
        count = _count_to_prune(self.amount, size)
        if not count:
            return default_mask
        keep = rand(size).topk(size - count).indices
        return _channel_mask(t, self.dim, keep) * default_mask.to(dtype=t.dtype)

    @classmethod
    def apply(cls, module: Module, name: str, amount, dim: int = -1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes ``amount`` of the channels along ``dim`` with the smallest ``n``-norm."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim: int = -1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount, self.n, self.dim = amount, n, dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        size = _channels(t, self.dim)
        count = _count_to_prune(self.amount, size)
        if not count:
            return default_mask
        dim = self.dim % t.dim()
        norm = t.norm(p=self.n, dim=[d for d in range(t.dim()) if d != dim])
        keep = norm.topk(size - count, largest=True).indices
        return _channel_mask(t, self.dim, keep) * default_mask.to(dtype=t.dtype)

    @classmethod
    def apply(cls, module: Module, name: str, amount, n, dim: int, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where a given mask is zero."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Tensor) -> None:
        self.mask = mask

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        if tuple(default_mask.shape) != tuple(self.mask.shape):
            raise ValueError(
                f"CustomFromMask: mask of shape {list(self.mask.shape)} does not match the tensor "
                f"of shape {list(default_mask.shape)}"
            )
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module: Module, name: str, mask: Tensor):
        return super().apply(module, name, mask=mask)


def _validate_pruning_amount_init(amount) -> None:
    if not isinstance(amount, numbers.Real) or isinstance(amount, bool):
        raise TypeError(f"Invalid type for amount: {amount!r}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
        not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0
    ):
        raise ValueError(
            f"amount={amount} should either be a float in the range [0, 1] or a non-negative integer"
        )


def _count_to_prune(amount, size: int) -> int:
    """How many of ``size`` units ``amount`` (a count or a fraction) prunes, checked against ``size``."""
    count = int(amount) if isinstance(amount, numbers.Integral) else round(float(amount) * size)
    if count > size:
        raise ValueError(f"amount={amount} should be smaller than the number of parameters to prune={size}")
    return count


def _channels(t: Tensor, dim: int) -> int:
    if t.dim() <= 1:
        raise ValueError(
            f"Structured pruning can only be applied to multidimensional tensors. Found tensor of "
            f"shape {list(t.shape)} with {t.dim()} dims"
        )
    if not -t.dim() <= dim < t.dim():
        raise IndexError(f"Invalid index {dim} for tensor of size {list(t.shape)}")
    return t.shape[dim]


def _channel_mask(t: Tensor, dim: int, keep: Tensor) -> Tensor:
    """Ones on the channels ``keep`` along ``dim``, zeros elsewhere."""
    mask = creation.zeros_like(t)
    mask[(slice(None),) * (dim % t.dim()) + (keep,)] = 1
    return mask


def identity(module: Module, name: str) -> Module:
    """Register the pruning machinery on ``module.<name>`` with a mask of ones.

    >>> import ember
    >>> m = identity(ember.nn.Linear(2, 3), "bias")
    >>> sorted(m.state_dict())
    ['bias_mask', 'bias_orig', 'weight']
    """
    Identity.apply(module, name)
    return module


def random_unstructured(module: Module, name: str, amount) -> Module:
    """Prune ``amount`` of ``module.<name>``'s entries, chosen at random."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module: Module, name: str, amount, importance_scores=None) -> Module:
    """Prune the ``amount`` entries of ``module.<name>`` with the smallest magnitude.

    >>> import ember
    >>> m = ember.nn.Linear(2, 1)
    >>> with ember.no_grad():
    ...     _ = m.weight.copy_(ember.tensor([[0.1, -2.0]]))
    >>> l1_unstructured(m, "weight", amount=1).weight
    tensor([[ 0., -2.]], grad_fn=<MulBackward0>)
    """
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module: Module, name: str, amount, dim: int) -> Module:
    """Prune ``amount`` of ``module.<name>``'s channels along ``dim``, chosen at random."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module: Module, name: str, amount, n, dim: int, importance_scores=None) -> Module:
    """Prune the ``amount`` channels along ``dim`` of ``module.<name>`` with the smallest ``n``-norm."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module: Module, name: str, mask: Tensor) -> Module:
    """Prune ``module.<name>`` where ``mask`` is zero."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(
    parameters: Iterable, pruning_method: type, importance_scores: dict | None = None, **kwargs
) -> None:
    """Prune the ``(module, name)`` tensors together, as if they were one vector.

    ``pruning_method`` must be unstructured (``L1Unstructured``, ``RandomUnstructured``, ...);
    ``kwargs`` go to it (``amount=``).
    """
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured: parameters must be an iterable of (module, name) tuples")
    parameters = list(parameters)
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured: importance_scores must be a dict of (module, name) to tensor")
    tensors = [getattr(module, name) for module, name in parameters]
    scores = parameters_to_vector(
        [importance_scores.get((m, n), t) for (m, n), t in zip(parameters, tensors)]
    )
    default_mask = parameters_to_vector(
        [getattr(m, n + "_mask", creation.ones_like(t)) for (m, n), t in zip(parameters, tensors)]
    )
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(
            f'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
            f"{pruning_method} of type {method.PRUNING_TYPE}"
        )
    method._tensor_name = "temp"
    container = PruningContainer(method)
    with no_grad():
        final_mask = container.compute_mask(scores.detach(), default_mask)
    start = 0
    for (module, name), t in zip(parameters, tensors):
        count = t.numel()
        custom_from_mask(module, name, mask=final_mask[start : start + count].view_as(t))
        start += count


def remove(module: Module, name: str) -> Module:
    """Make the pruning of ``module.<name>`` permanent and drop its mask, ``_orig`` and hook."""
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed")


def is_pruned(module: Module) -> bool:
    """Whether ``module`` or one of its submodules is pruned."""
    return any(
        isinstance(hook, BasePruningMethod)
        for _, submodule in module.named_modules()
        for hook in submodule._forward_pre_hooks.values()
    )
