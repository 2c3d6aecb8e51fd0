"""Numerical gradient checks: compare autograd with float64 central differences."""

from __future__ import annotations

import numpy as np

__all__ = ["analytical_jacobian", "gradcheck", "gradgradcheck", "numerical_jacobian"]


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when the analytical and numerical gradients disagree."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _differentiable_outputs(func, inputs):
    from ember.tensor import Tensor  # layer 3, built on autograd

    out = _as_tuple(func(*inputs))
    return [o for o in out if isinstance(o, Tensor) and o.requires_grad]


def numerical_jacobian(func, inputs, eps: float = 1e-6):
    """One matrix per (input, output): d(output.flatten()) / d(input.flatten()), by central differences."""
    from ember.autograd.grad_mode import no_grad
    from ember.tensor import Tensor  # layer 3, built on autograd

    with no_grad():
        outputs = [o.detach() for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor)]
        jacobians = []
        for x in inputs:
            if not (isinstance(x, Tensor) and x.requires_grad):
                continue
            if x.numel() == 0:
                jacobians.append([np.zeros((0, o.numel())) for o in outputs])
                continue
            data = x._data
            flat = data.reshape(-1)
            if not np.shares_memory(flat, data):
                raise GradcheckError("gradcheck: inputs must be contiguous")
            per_output = [np.zeros((flat.size, o.numel())) for o in outputs]
            for i in range(flat.size):
                orig = flat[i].item()
                flat[i] = orig + eps
                plus = [
                    o._data.astype(np.float64).ravel().copy()
                    for o in _as_tuple(func(*inputs))
                    if isinstance(o, Tensor)
                ]
                flat[i] = orig - eps
                minus = [
                    o._data.astype(np.float64).ravel().copy()
                    for o in _as_tuple(func(*inputs))
                    if isinstance(o, Tensor)
                ]
                flat[i] = orig
                for j, (p, m) in enumerate(zip(plus, minus)):
                    per_output[j][i] = (p - m) / (2 * eps)
            jacobians.append(per_output)
    return jacobians


def analytical_jacobian(func, inputs):
    """The same matrices from autograd, one backward pass per output element."""
    from ember.autograd.engine import grad as autograd_grad
    from ember.tensor import Tensor, make  # layer 3, built on autograd

    diff_inputs = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    outputs = [o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor)]
    jacobians = [[np.zeros((x.numel(), o.numel())) for o in outputs] for x in diff_inputs]
    for j, out in enumerate(outputs):
        if not out.requires_grad:
            continue
        for k in range(out.numel()):
            seed = np.zeros(out.shape, out._data.dtype)
            seed.reshape(-1)[k] = 1
            grads = autograd_grad(out, diff_inputs, make(seed), retain_graph=True, allow_unused=True)
            for i, g in enumerate(grads):
                if g is not None:
                    jacobians[i][j][:, k] = g._data.astype(np.float64).ravel()
    return jacobians


def _unsupported_checks(op: str, **flags) -> None:
    """Raise for the PyTorch checks that need forward AD or vmap, which ember does not have."""
    wanted = [name for name, on in flags.items() if on]
    if wanted:
        raise NotImplementedError(
            f"{op}: {', '.join(wanted)}=True needs forward-mode AD or vmap, "
            "which ember does not implement; leave them False"
        )


def gradcheck(
    func,
    inputs,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_batched_forward_grad: bool = False,
    check_forward_ad: bool = False,
    check_backward_ad: bool = True,
    fast_mode: bool = False,
    masked: bool | None = None,
) -> bool:
    """Check autograd's gradients of ``func`` at ``inputs`` (float64 tensors) against finite differences.

    ``nondet_tol``, ``check_undefined_grad``, ``check_grad_dtypes``, ``fast_mode`` and ``masked``
    are accepted for PyTorch's signature (ember always runs the full, exact check);
    ``check_backward_ad=False`` skips the check; the forward-AD and batched checks raise.

    >>> import ember
    >>> x = ember.randn(3, dtype=ember.float64, requires_grad=True)
    >>> gradcheck(lambda t: (t * t).sum(), (x,))
    True
    """
    from ember.tensor import Tensor  # layer 3, built on autograd

    _unsupported_checks(
        "gradcheck",
        check_batched_grad=check_batched_grad,
        check_batched_forward_grad=check_batched_forward_grad,
        check_forward_ad=check_forward_ad,
    )
    if not check_backward_ad:
        return True
    inputs = _as_tuple(inputs)
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad and x._data.dtype != np.float64:
            raise GradcheckError(
                f"gradcheck: input {i} is {x.dtype}; use float64 inputs, finite differences in lower "
                "precision are too inexact to compare"
            )
    numerical = numerical_jacobian(func, inputs, eps)
    analytical = analytical_jacobian(func, inputs)
    for i, (num_row, ana_row) in enumerate(zip(numerical, analytical)):
        for j, (num, ana) in enumerate(zip(num_row, ana_row)):
            if not np.allclose(ana, num, atol=atol, rtol=rtol):
                diff = np.abs(ana - num).max()
                message = (
                    f"Jacobian mismatch for output {j} with respect to input {i}: largest difference "
                    f"{diff:.3g}\nnumerical:\n{num}\nanalytical:\n{ana}"
                )
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def gradgradcheck(
    func,
    inputs,
    grad_outputs=None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    gen_non_contig_grad_outputs: bool = False,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_fwd_over_rev: bool = False,
    check_rev_over_rev: bool = True,
    fast_mode: bool = False,
    masked: bool = False,
) -> bool:
    """Check second derivatives: gradcheck of the map (inputs, v) -> vJ computed with create_graph.

    PyTorch's extra keywords are accepted as in ``gradcheck``; ``check_rev_over_rev=False``
    skips the check; ``check_batched_grad`` and ``check_fwd_over_rev`` raise.
    """
    from ember.autograd.engine import grad as autograd_grad
    from ember.tensor import Tensor, make  # layer 3, built on autograd

    _unsupported_checks(
        "gradgradcheck", check_batched_grad=check_batched_grad, check_fwd_over_rev=check_fwd_over_rev
    )
    if not check_rev_over_rev:
        return True
    inputs = _as_tuple(inputs)
    outputs = _differentiable_outputs(func, inputs)
    rng = np.random.default_rng(0)
    if grad_outputs is None:
        grad_outputs = [make(rng.standard_normal(o.shape)).requires_grad_() for o in outputs]
    grad_outputs = list(_as_tuple(grad_outputs))
    n = len(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]

    def first_order(*args):
        from ember.autograd.grad_mode import enable_grad, is_grad_enabled

        xs, vs = args[:n], args[n:]
        recording = is_grad_enabled()
        with enable_grad():
            outs = _differentiable_outputs(func, xs)
            diff = [xs[i] for i in diff_idx]
            grads = autograd_grad(outs, diff, vs, create_graph=recording, allow_unused=True)
        return tuple(g if recording else g.detach() for g in grads if g is not None)

    return gradcheck(
        first_order,
        tuple(inputs) + tuple(grad_outputs),
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
    )
