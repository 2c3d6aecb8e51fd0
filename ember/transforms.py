"""Function transforms PyTorch exposes at the top level: ``compile`` and ``vmap``.

``compile`` returns the model or function unchanged: ember runs eagerly and has no compiler, so
code written for ``torch.compile`` runs (at eager speed). ``vmap`` maps a function over a batch
dim by calling it once per slice and stacking the results: correct for any function, with
gradients through ``select`` and ``stack``, though not as fast as PyTorch's batching rules.
"""

from __future__ import annotations

import functools

from ember.tensor import Tensor

__all__ = ["compile", "vmap"]


def compile(
    model=None,
    *,
    fullgraph: bool = False,
    dynamic=None,
    backend="inductor",
    mode=None,
    options=None,
    disable: bool = False,
    **compiler_options,
):
    """``model`` itself (or a decorator returning its argument when called without one).

    Every compiler option (those above and any newer ones in ``compiler_options``) is accepted
    and has no effect: ember runs eagerly.
    """
    if model is None:
        return lambda fn: fn
    return model


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """``func`` mapped over dim ``in_dims`` of its arguments; results stacked at ``out_dims``."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(
            f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}"
        )

    @functools.wraps(func)
    def mapped(*args, **kwargs):
        dims = in_dims if isinstance(in_dims, (tuple, list)) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"vmap: in_dims has {len(dims)} entries for {len(args)} arguments")
        size = _batch_size(args, dims)
        results = [func(*_slice_args(args, dims, i), **kwargs) for i in range(size)]
        return _stack_results(results, out_dims)

    return mapped


def _batch_size(args, dims) -> int:
    sizes = {_leaves_size(a, d) for a, d in zip(args, dims) if d is not None}
    sizes.discard(None)
    if len(sizes) != 1:
        raise ValueError(
            f"vmap: Expected all tensors to have the same size in the mapped "
            f"dimension, got sizes {sorted(sizes)} (or no tensor to map over)"
        )
    return sizes.pop()


def _leaves_size(arg, dim):
    if isinstance(arg, Tensor):
        return arg.shape[dim]
    if isinstance(arg, (tuple, list)):
        found = {_leaves_size(a, dim) for a in arg} - {None}
        return found.pop() if len(found) == 1 else None
    if isinstance(arg, dict):
        return _leaves_size(list(arg.values()), dim)
    return None


def _select(arg, dim, i):
    if isinstance(arg, Tensor):
        return arg.select(dim, i)
    if isinstance(arg, (tuple, list)):
        return type(arg)(_select(a, dim, i) for a in arg)
    if isinstance(arg, dict):
        return {k: _select(v, dim, i) for k, v in arg.items()}
    return arg


def _slice_args(args, dims, i):
    return [a if d is None else _select(a, d, i) for a, d in zip(args, dims)]


def _stack_results(results, out_dims):
    from ember.methods.join import stack

    first = results[0]
    if isinstance(first, Tensor):
        return stack(results, out_dims if isinstance(out_dims, int) else out_dims[0])
    if isinstance(first, (tuple, list)):
        dims = out_dims if isinstance(out_dims, (tuple, list)) else (out_dims,) * len(first)
        return type(first)(_stack_results([r[k] for r in results], dims[k]) for k in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack_results([r[k] for r in results], out_dims) for k in first}
    if isinstance(first, (int, float, bool)):
        from ember.creation import tensor

        return tensor(results)
    raise ValueError(f"vmap: the function must return tensors, got {type(first).__name__}")
