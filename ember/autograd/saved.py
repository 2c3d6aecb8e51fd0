"""Saved tensors: what a node keeps for its backward, checked against in-place changes.

An entry is ``(tensor, array, version counter, version at save, output number)``: an input is
kept as its Tensor, an output of the node as its array only (a Tensor would hold the node that
holds it, a cycle), numbers as themselves. ``saved_tensors_hooks`` may pack an entry instead
(``Packed``). ``unpack`` gives the tensor back, or raises PyTorch's error naming the in-place op
that changed it.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = [
    "Packed",
    "keep_saved_copy",
    "register_tensor_type",
    "resolve_saved",
    "saved_tensor_hooks",
    "unpack",
]

_Tensor = None  # ember.Tensor and its fast constructor, registered by ember.tensor as it loads
_make = None


def register_tensor_type(tensor_type, make) -> None:
    """Called through ``ember.autograd.function.register_tensor_type`` once ``Tensor`` exists."""
    global _Tensor, _make
    _Tensor, _make = tensor_type, make


class Packed:
    """A saved tensor that went through a ``saved_tensors_hooks`` pack hook."""

    __slots__ = ("unpack", "value")

    def __init__(self, unpack, value) -> None:
        self.unpack, self.value = unpack, value


#: the (pack, unpack) pairs of the active ``saved_tensors_hooks`` blocks, innermost last
saved_tensor_hooks: ContextVar[tuple] = ContextVar("ember_saved_tensor_hooks", default=())


def unpack(node, entry):
    """The tensor a saved entry stands for, checked against in-place changes since it was saved."""
    if type(entry) is Packed:
        return _without_hooks(entry.unpack, entry.value)
    tensor, array, counter, version, output_nr = entry
    if array is None and counter is None:
        return tensor
    if counter is not None and counter[0] != version:
        raise RuntimeError(_version_message(node, tensor, array, counter, version))
    if tensor is None:  # an output of this node: rebuilt here so that it does not keep the node alive
        return _make(array, True, node, output_nr, counter)
    return tensor


def keep_saved_copy(node, tensor) -> None:
    """Before ``tensor`` is overwritten by the in-place op that recorded ``node``, give ``node``
    a private copy of the values it saved from ``tensor`` (PyTorch's ``original_self`` clone).

    ``x.mul_(w)`` runs ``x.mul(w)`` (which saves ``x`` for w's gradient) and then writes the
    result into ``x``; without this copy the saved value would be gone and backward would fail.
    """
    saved = node._saved
    if not saved:
        return
    for i, entry in enumerate(saved):
        if type(entry) is Packed:
            continue
        t = entry[0]
        if t is not None and entry[2] is not None and t._data is tensor._data:
            snapshot = _make(t._data.copy(), t._requires_grad, t.grad_fn, t._output_nr, None)
            saved[i] = (snapshot, None, None, 0, 0)


def _version_message(node, tensor, array, counter, version) -> str:
    changed_by = counter[1] or "an in-place operation"
    shape = tuple(array.shape) if array is not None else tuple(tensor.shape)
    return (
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: {node.name()} saved a tensor of shape {list(shape)} at version "
        f"{version}, and {changed_by} has since changed it to version {counter[0]}. "
        "Use an out-of-place op (e.g. x = x.add(y) instead of x.add_(y)), or .clone() the "
        "tensor before changing it in place."
    )


def resolve_saved(ctx, args, out, outputs):
    """Turn what ``forward`` passed to ``save_for_backward`` into saved entries on ``ctx``."""
    items = ctx._to_save
    if not items:
        return
    ctx._to_save = ()
    Tensor = _Tensor
    outs = out if type(out) is tuple else (out,)
    wrapped = outputs if type(outputs) in (tuple, list) else (outputs,)
    saved = []
    for item in items:
        saved.append(_saved_entry(item, args, outs, wrapped, Tensor))
    hooks = saved_tensor_hooks.get()
    if hooks:
        saved = [_pack(ctx, entry, hooks[-1]) for entry in saved]
    ctx._saved = saved


def _pack(ctx, entry, hooks):
    """Run the innermost pack hook on a saved tensor (numbers and None pass through)."""
    pack_hook, unpack_hook = hooks
    if pack_hook is None:  # inside disable_saved_tensors_hooks: save as usual
        return entry
    tensor = unpack(ctx, entry)
    if tensor is None or not isinstance(tensor, _Tensor):
        return entry
    return Packed(unpack_hook, _without_hooks(pack_hook, tensor))


def _without_hooks(hook, value):
    """Run a pack or unpack hook with no hooks active: the ops inside it must not pack again."""
    token = saved_tensor_hooks.set(())
    try:
        return hook(value)
    finally:
        saved_tensor_hooks.reset(token)


def _saved_entry(item, args, outs, wrapped, Tensor):
    if item is None:
        return (None, None, None, 0, 0)
    for a in args:  # the usual case first: a primitive saving one of its inputs' arrays
        if isinstance(a, Tensor) and a._data is item:
            counter = a._vc
            if counter is None:  # Tensor._version_counter, inline
                counter = a._vc = [0, None]
            return (a, None, counter, counter[0], 0)
    if isinstance(item, (int, float, complex)):
        return (item, None, None, 0, 0)
    if isinstance(item, Tensor):
        counter = item._version_counter()
        return (item, None, counter, counter[0], 0)
    for nr, o in enumerate(outs):
        if o is item:  # kept as its array and counter, not as a Tensor, so it holds no cycle
            counter = wrapped[nr]._version_counter() if isinstance(wrapped[nr], Tensor) else None
            return (None, item, counter, 0 if counter is None else counter[0], nr)
    return (_make(item, False, None, 0, None), None, None, 0, 0)
