"""The rarer parts of ``Module``'s API, kept out of ``module.py``: ``set_submodule``,
``to_empty``, ``compile``, the legacy ``register_backward_hook`` and the device moves to
backends ember does not have (``xpu``, ``ipu``, ``mtia``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ember import creation

T_destination = TypeVar("T_destination", bound=dict)


class ModuleExtrasMixin:
    """Mixed into ``Module``: methods that need nothing but its public surface."""

    T_destination = T_destination

    def set_submodule(self, target: str, module, strict: bool = False) -> None:
        """Put ``module`` at the dotted path ``target`` (``strict``: it must already exist).

        >>> import ember
        >>> net = ember.nn.Sequential(ember.nn.Linear(2, 2))
        >>> net.set_submodule("0", ember.nn.ReLU())
        >>> net
        Sequential(
          (0): ReLU()
        )
        """
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        *path, name = target.split(".")
        parent = self.get_submodule(".".join(path))
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{parent._get_name()} has no attribute `{name}`")
        if hasattr(parent, name) and name not in parent._modules:
            raise AttributeError(f"`{name}` is not an nn.Module")
        from ember.nn.modules.module import Module

        if not isinstance(module, Module):
            raise ValueError(  # noqa: TRY004 - the type PyTorch raises
                f"`module` is not an nn.Module, found {type(module)}"
            )
        setattr(parent, name, module)

    def to_empty(self, *, device, recurse: bool = True):
        """Move parameters and buffers to ``device`` without copying their values.

        >>> import ember
        >>> ember.nn.Linear(2, 3).to_empty(device="cpu").weight.shape
        ember.Size([3, 2])
        """
        return self._apply(lambda t: creation.empty(t.shape, dtype=t.dtype, device=device), recurse=recurse)

    def compile(self, *args, **kwargs) -> None:
        """PyTorch's ``torch.compile`` of ``forward``; ember runs eagerly, so nothing changes."""

    def register_backward_hook(self, hook: Callable):
        """PyTorch's deprecated module backward hook: registered as the full backward hook,
        whose ``(module, grad_input, grad_output)`` arguments it receives."""
        return self.register_full_backward_hook(hook)

    def _no_backend(self, name: str):
        raise RuntimeError(f"Module.{name}(): ember has no {name.upper()} backend; use .to('cpu') or .cuda()")

    def xpu(self, device=None):
        """Not available: ember runs on the CPU and CUDA."""
        self._no_backend("xpu")

    def ipu(self, device=None):
        """Not available: ember runs on the CPU and CUDA."""
        self._no_backend("ipu")

    def mtia(self, device=None):
        """Not available: ember runs on the CPU and CUDA."""
        self._no_backend("mtia")
