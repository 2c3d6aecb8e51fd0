"""``RemovableHandle``: what every ``register_*_hook`` in ember returns.

Hooks live in dicts keyed by their handle's id (insertion-ordered, so they run in the order they
were registered); ``remove()`` takes the hook out of every dict it was put in. Tensors, graph
nodes, Modules and Optimizers all use this one class.

>>> hooks = {}
>>> handle = RemovableHandle(hooks)
>>> hooks[handle.id] = print
>>> handle.remove()
>>> hooks
{}
"""

from __future__ import annotations

import itertools

__all__ = ["RemovableHandle", "add_hook"]


class RemovableHandle:
    """Removes one hook from the dict(s) it was registered in; also a context manager."""

    _ids = itertools.count()

    def __init__(self, hooks_dict: dict, *, extra_dict: dict | list | None = None):
        self.hooks_dicts = [hooks_dict]
        if extra_dict is not None:
            self.hooks_dicts += extra_dict if isinstance(extra_dict, list) else [extra_dict]
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        for hooks in self.hooks_dicts:
            hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def add_hook(hooks: dict, hook, prepend: bool = False) -> RemovableHandle:
    """Put ``hook`` into ``hooks`` (first if ``prepend``) and return its handle."""
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)  # prepend needs an OrderedDict, as in PyTorch
    return handle
