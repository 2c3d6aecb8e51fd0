"""Function transforms with ``torch.func``'s names, built on ember's reverse mode.

``grad``, ``grad_and_value``, ``vjp``, ``jacrev``/``jacfwd``, ``hessian`` and ``jvp`` compute
what PyTorch's transforms compute, through ``ember.autograd.grad`` (so they nest: ``grad(grad(f))``
is the second derivative); ``vmap`` calls the function once per slice; ``functional_call`` runs
a Module with given parameters. Arguments being differentiated may be tensors or dicts, lists
and tuples of tensors (a dict of parameters, as in ``grad(loss)(params, x)``).

>>> import ember
>>> ember.func.grad(lambda x: (x**3).sum())(ember.tensor([1.0, 2.0]))
tensor([ 3., 12.])
>>> ember.func.grad(ember.func.grad(lambda x: x**3))(ember.tensor(2.0))
tensor(12.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ember
from ember.autograd import functional as _functional
from ember.nn.utils.stateless import functional_call
from ember.transforms import vmap

__all__ = [
    "functional_call",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "stack_module_state",
    "vjp",
    "vmap",
]


def _flatten(tree) -> tuple[list, Callable[[list], Any]]:
    """The tensors in a (nested) dict/list/tuple, and a function rebuilding it from new leaves."""
    if isinstance(tree, ember.Tensor):
        return [tree], lambda leaves: leaves[0]
    if isinstance(tree, dict):
        keys = list(tree)
        parts = [_flatten(tree[k]) for k in keys]
    elif isinstance(tree, (list, tuple)):
        keys = None
        parts = [_flatten(v) for v in tree]
    else:
        return [], lambda leaves: tree
    sizes = [len(leaves) for leaves, _ in parts]

    def rebuild(leaves):
        out, start = [], 0
        for (_, build), size in zip(parts, sizes):
            out.append(build(leaves[start : start + size]))
            start += size
        if keys is not None:
            return dict(zip(keys, out))
        return type(tree)(out) if not hasattr(tree, "_fields") else type(tree)(*out)

    return [leaf for leaves, _ in parts for leaf in leaves], rebuild


def _tracked(tensor: ember.Tensor) -> ember.Tensor:
    """A tensor to differentiate with respect to: an alias inside an outer transform's graph
    (so transforms nest), otherwise a fresh leaf."""
    return tensor.view_as(tensor) if tensor.requires_grad else tensor.detach().requires_grad_(True)


def _argnums_tuple(argnums, count: int, fn: str) -> tuple[int, ...]:
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    for n in nums:
        if not isinstance(n, int) or not -count <= n < count:
            raise RuntimeError(f"{fn}: Got argnums={argnums}, but only {count} positional inputs")
    return tuple(n % count for n in nums)


def _split_aux(output, has_aux: bool, fn: str):
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise RuntimeError(
            f"{fn}(f, ...)(*args): output of function f should be a tuple: (output, aux) if has_aux is True"
        )
    return output


def grad_and_value(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """A function returning ``(gradient, value)`` of ``func``, whose output must be a scalar tensor."""

    def wrapper(*args, **kwargs):
        nums = _argnums_tuple(argnums, len(args), "grad_and_value")
        args = list(args)
        nested = False
        structures = []
        with ember.enable_grad():
            for n in nums:
                leaves, rebuild = _flatten(args[n])
                nested = nested or any(t.requires_grad for t in leaves)
                leaves = [_tracked(t) for t in leaves]
                structures.append((leaves, rebuild))
                args[n] = rebuild(leaves)
            output, aux = _split_aux(func(*args, **kwargs), has_aux, "grad_and_value")
            if not isinstance(output, ember.Tensor) or output.ndim != 0:
                got = (
                    f"tensor with {output.ndim} dims"
                    if isinstance(output, ember.Tensor)
                    else type(output).__name__
                )
                raise RuntimeError(
                    f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got {got}. "
                    "Maybe you wanted to use the vjp or jacrev APIs instead?"
                )
            inputs = [t for leaves, _ in structures for t in leaves]
            grads = ember.autograd.grad(output, inputs, create_graph=nested, allow_unused=True)
        grads = [g if g is not None else t.new_zeros(t.shape) for g, t in zip(grads, inputs)]
        results, start = [], 0
        for leaves, rebuild in structures:
            results.append(rebuild(grads[start : start + len(leaves)]))
            start += len(leaves)
        gradient = tuple(results) if isinstance(argnums, tuple) else results[0]
        if not nested:
            output = output.detach()
            if has_aux:
                leaves, rebuild = _flatten(aux)
                aux = rebuild([t.detach() for t in leaves])
        return (gradient, (output, aux)) if has_aux else (gradient, output)

    return wrapper


def grad(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """A function returning the gradient of ``func`` (a scalar) with respect to ``args[argnums]``."""
    both = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        gradient, value = both(*args, **kwargs)
        return (gradient, value[1]) if has_aux else gradient

    return wrapper


def vjp(func: Callable, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn)``: ``vjp_fn(cotangents)`` gives one gradient per primal."""
    with ember.enable_grad():
        tracked = tuple(_tracked(p) for p in primals)
        output, aux = _split_aux(func(*tracked), has_aux, "vjp")
    outputs, rebuild_outputs = _flatten(output)

    def vjp_fn(cotangents):
        given, _ = _flatten(cotangents)
        grads = ember.autograd.grad(outputs, tracked, given, retain_graph=True, allow_unused=True)
        return tuple(g if g is not None else p.new_zeros(p.shape) for g, p in zip(grads, tracked))

    detached = rebuild_outputs([o.detach() for o in outputs])
    return (detached, vjp_fn, aux) if has_aux else (detached, vjp_fn)


def jacrev(func: Callable, argnums=0, *, has_aux: bool = False, chunk_size: int | None = None) -> Callable:
    """A function returning the Jacobian of ``func`` with respect to ``args[argnums]``
    (output dims first, then the input's)."""

    def wrapper(*args):
        nums = _argnums_tuple(argnums, len(args), "jacrev")
        auxes = []

        def selected(*chosen):
            full = list(args)
            for n, value in zip(nums, chosen):
                full[n] = value
            output, aux = _split_aux(func(*full), has_aux, "jacrev")
            auxes.append(aux)
            return output

        chosen = tuple(args[n] for n in nums)
        nested = any(t.requires_grad for t in chosen)  # inside an outer transform: keep the graph
        jac = _functional.jacobian(
            selected, chosen if isinstance(argnums, tuple) else chosen[0], create_graph=nested
        )
        return (jac, auxes[0]) if has_aux else jac

    return wrapper


def jacfwd(func: Callable, argnums=0, has_aux: bool = False, *, randomness: str = "error") -> Callable:
    """The Jacobian, as ``jacrev`` computes it (ember has reverse mode only; the numbers agree)."""
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func: Callable, argnums=0) -> Callable:
    """A function returning the Hessian of scalar ``func`` with respect to ``args[argnums]``."""
    return jacrev(jacrev(func, argnums), argnums)


def jvp(func: Callable, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """``(func(*primals), J @ tangents)``, by the double-backward trick."""
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to be tuples")
    auxes = []

    def without_aux(*inputs):
        output, aux = _split_aux(func(*inputs), has_aux, "jvp")
        auxes.append(aux)
        return output

    output, tangent_out = _functional.jvp(without_aux, primals, tangents, strict=strict)
    return (output, tangent_out, auxes[0]) if has_aux else (output, tangent_out)


def stack_module_state(models) -> tuple[dict[str, Any], dict[str, Any]]:
    """The parameters and buffers of same-shaped models, stacked along a new first dim
    (for ``vmap(functional_call)`` over an ensemble)."""
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    params = {
        name: ember.stack([dict(m.named_parameters())[name].detach() for m in models]).requires_grad_()
        for name, _ in models[0].named_parameters()
    }
    buffers = {
        name: ember.stack([dict(m.named_buffers())[name] for m in models])
        for name, _ in models[0].named_buffers()
    }
    return params, buffers
