"""``torch.autograd.functional``: ``vjp``, ``jvp``, ``vhp``, ``hvp``, ``jacobian``, ``hessian``.

All are built on reverse mode (``ember.autograd.grad``): a Jacobian row by row, a
Jacobian-vector product by the double-backward trick (the vjp is linear in its cotangent, so
differentiating it with respect to the cotangent gives ``J v``). ``vectorize`` and the
forward-mode strategies are accepted and give the same numbers by these paths.
"""

from __future__ import annotations

from collections.abc import Callable

from ember.autograd.engine import grad as _grad
from ember.autograd.grad_mode import enable_grad

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(value, name: str, fn: str) -> tuple[bool, tuple]:
    from ember.tensor import Tensor  # layer 3, built on autograd

    is_tuple = isinstance(value, (tuple, list))
    items = tuple(value) if is_tuple else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            raise TypeError(
                f"The {name} given to {fn} must be either a Tensor or a tuple of "
                f"Tensors but the value at index {i} has type {type(item)}."
            )
    return is_tuple, items


def _prepare(inputs: tuple, create_graph: bool) -> tuple:
    """Inputs that require grad, detached from any outer graph unless ``create_graph``."""
    return tuple((x if create_graph and x.requires_grad else x.detach()).requires_grad_(True) for x in inputs)


def _grads(outputs, inputs, grad_outputs, create_graph: bool, strict: bool, fn: str) -> tuple:
    """Gradients of ``outputs`` wrt ``inputs``, zeros (or an error under strict) where unused."""
    differentiable = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not differentiable:
        if strict:
            raise RuntimeError(
                f"{fn}: the output of the user-provided function does not require gradients (strict=True)"
            )
        return tuple(x.new_zeros(x.shape) for x in inputs)
    outs, gouts = zip(*differentiable)
    result = _grad(outs, inputs, gouts, retain_graph=True, create_graph=create_graph, allow_unused=True)
    grads = []
    for i, (g, x) in enumerate(zip(result, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(
                    f"{fn}: the output of the user-provided function is "
                    f"independent of input {i}. This is not allowed in strict mode."
                )
            g = x.new_zeros(x.shape)
        grads.append(g)
    return tuple(grads)


def _finish(values: tuple, create_graph: bool) -> tuple:
    return values if create_graph else tuple(v.detach() for v in values)


def _unwrap(is_tuple: bool, values: tuple):
    return values if is_tuple else values[0]


def _call(func: Callable, inputs: tuple, fn: str) -> tuple[bool, tuple]:
    return _as_tuple(func(*inputs), "outputs of the user-provided function", fn)


def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: a vector-Jacobian product at ``inputs``.

    >>> import ember
    >>> out, g = vjp(lambda x: x * x, ember.tensor([1.0, 2.0]), ember.tensor([1.0, 1.0]))
    >>> g
    tensor([2., 4.])
    """
    in_tuple, xs = _as_tuple(inputs, "inputs", "vjp")
    with enable_grad():
        xs = _prepare(xs, create_graph)
        out_tuple, outs = _call(func, xs, "vjp")
        if v is None:
            if len(outs) != 1 or outs[0].numel() != 1:
                raise RuntimeError(
                    "vjp: the vector v can only be None if the user-provided "
                    "function returns a single Tensor with a single element."
                )
            vs = (outs[0].new_ones(outs[0].shape),)
        else:
            vs = _as_tuple(v, "v", "vjp")[1]
        grads = _grads(outs, xs, vs, create_graph, strict, "vjp")
    return _unwrap(out_tuple, _finish(outs, create_graph)), _unwrap(in_tuple, _finish(grads, create_graph))


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)``: a Jacobian-vector product at ``inputs``.

    >>> import ember
    >>> out, jv = jvp(lambda x: x * x, ember.tensor([1.0, 2.0]), ember.tensor([1.0, 0.0]))
    >>> jv
    tensor([2., 0.])
    """
    _, xs = _as_tuple(inputs, "inputs", "jvp")
    with enable_grad():
        xs = _prepare(xs, create_graph)
        if v is None:
            if len(xs) != 1 or xs[0].numel() != 1:
                raise RuntimeError(
                    "jvp: the vector v can only be None if the input to the "
                    "user-provided function is a single Tensor with a single element."
                )
            vs = (xs[0].new_ones(xs[0].shape),)
        else:
            vs = _as_tuple(v, "v", "jvp")[1]
        out_tuple, outs = _call(func, xs, "jvp")
        cotangents = tuple(o.new_zeros(o.shape).requires_grad_(True) for o in outs)
        vjps = _grads(outs, xs, cotangents, True, strict, "jvp")
        jv = _grads(vjps, cotangents, vs, create_graph, strict, "jvp")
    return _unwrap(out_tuple, _finish(outs, create_graph)), _unwrap(out_tuple, _finish(jv, create_graph))


def jacobian(
    func: Callable,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
):
    """The Jacobian of ``func`` at ``inputs``: ``out.shape + in.shape`` per (output, input).

    >>> import ember
    >>> jacobian(lambda x: x * x, ember.tensor([1.0, 2.0]))
    tensor([[2., 0.],
            [0., 4.]])
    """
    from ember.methods.join import stack  # layer 3, built on autograd

    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError(
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: '
            'If your function has more outputs than inputs, "forward-mode" tends to '
            'be more performant. Otherwise, prefer to use "reverse-mode".'
        )
    in_tuple, xs = _as_tuple(inputs, "inputs", "jacobian")
    with enable_grad():
        xs = _prepare(xs, create_graph)
        out_tuple, outs = _call(func, xs, "jacobian")
        blocks = []
        for out in outs:
            flat = out.reshape(-1)
            rows = [[] for _ in xs]
            for k in range(flat.numel()):
                if out.requires_grad:
                    grads = _grad(
                        flat[k], xs, retain_graph=True, create_graph=create_graph, allow_unused=True
                    )
                else:
                    grads = (None,) * len(xs)
                for j, (g, x) in enumerate(zip(grads, xs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(
                                f"jacobian: output {k} of the user-provided "
                                f"function is independent of input {j}. This is "
                                "not allowed in strict mode."
                            )
                        g = x.new_zeros(x.shape)
                    rows[j].append(g)
            per_input = []
            for j, x in enumerate(xs):
                block = stack(rows[j]) if rows[j] else x.new_zeros((0,) + tuple(x.shape))
                block = block.reshape(tuple(out.shape) + tuple(x.shape))
                per_input.append(block if create_graph else block.detach())
            blocks.append(tuple(per_input))
    if not out_tuple and not in_tuple:
        return blocks[0][0]
    if not out_tuple:
        return blocks[0]
    if not in_tuple:
        return tuple(b[0] for b in blocks)
    return tuple(blocks)


def hessian(
    func: Callable,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
):
    """The Hessian of a scalar function: ``in.shape + in.shape`` per pair of inputs.

    >>> import ember
    >>> hessian(lambda x: (x ** 3).sum(), ember.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    in_tuple, xs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*args):
        out = func(*args)
        _, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        if len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError(
                "The function given to hessian should return a single Tensor with a single element."
            )
        return _grads(outs, args, (outs[0].new_ones(outs[0].shape),), True, strict, "hessian")

    result = jacobian(gradient, xs, create_graph, strict, vectorize, outer_jacobian_strategy)
    if not in_tuple:
        return result[0][0]
    return result


def vhp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)`` for a scalar ``func``.

    >>> import ember
    >>> vhp(lambda x: (x ** 3).sum(), ember.tensor([1.0, 2.0]), ember.tensor([1.0, 1.0]))[1]
    tensor([ 6., 12.])
    """
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)`` for a scalar ``func`` (H is symmetric: the same as ``vhp``).

    >>> import ember
    >>> hvp(lambda x: (x ** 3).sum(), ember.tensor([1.0, 2.0]), ember.tensor([1.0, 0.0]))[1]
    tensor([6., 0.])
    """
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(func, inputs, v, create_graph: bool, strict: bool, fn: str):
    in_tuple, xs = _as_tuple(inputs, "inputs", fn)
    with enable_grad():
        xs = _prepare(xs, create_graph)
        _, outs = _call(func, xs, fn)
        if len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError(
                f"The function given to {fn} should return a single Tensor with a single element."
            )
        if v is None:
            if len(xs) != 1 or xs[0].numel() != 1:
                raise RuntimeError(
                    f"{fn}: the vector v can only be None if the input to the "
                    "user-provided function is a single Tensor with a single element."
                )
            vs = (xs[0].new_ones(xs[0].shape),)
        else:
            vs = _as_tuple(v, "v", fn)[1]
        grads = _grads(outs, xs, (outs[0].new_ones(outs[0].shape),), True, strict, fn)
        products = _grads(grads, xs, vs, create_graph, strict, fn)
    out = outs[0] if create_graph else outs[0].detach()
    return out, _unwrap(in_tuple, _finish(products, create_graph))
