"""nn.functional: activation functions, composed from ember's primitives.

Each function follows PyTorch's formula, including the derivative at the kinks (``relu'(0) = 0``,
hardtanh passes gradient only strictly inside its range). ``inplace=True`` writes the result
into the input (through ``Tensor._set_from``, so autograd's in-place rules apply).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

from ember import random_ops
from ember.amp.autocast_mode import autocast_to
from ember.ops.gelu import Gelu
from ember.tensor import Tensor

__all__ = [
    "celu",
    "celu_",
    "elu",
    "elu_",
    "gelu",
    "glu",
    "gumbel_softmax",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hardtanh_",
    "leaky_relu",
    "leaky_relu_",
    "log_softmax",
    "logsigmoid",
    "mish",
    "prelu",
    "relu",
    "relu6",
    "relu_",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
    "sigmoid",
    "silu",
    "softmax",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
    "threshold_",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_HALF = math.sqrt(0.5)
_SQRT_TWO_OVER_PI = math.sqrt(2.0 / math.pi)


def _apply(input: Tensor, fn: Callable[[Tensor], Tensor], inplace: bool, name: str) -> Tensor:
    """``fn(input)``, written back into ``input`` when ``inplace`` (reading a clone if a graph is kept)."""
    if not inplace:
        return fn(input)
    source = input.clone() if input._needs_graph() else input
    return input._set_from(name + "_", fn(source))


def _where_inside(input: Tensor, inside: Tensor, outside_value: Tensor) -> Tensor:
    """``input`` where ``inside`` holds (gradient 1), else ``outside_value`` taken as a constant."""
    return input.where(inside, outside_value.detach())


# -- rectifiers --------------------------------------------------------------------------------
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)``; relu'(0) = 0.

    >>> import ember
    >>> relu(ember.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return input.relu_() if inplace else input.relu()


def relu_(input: Tensor) -> Tensor:
    """In-place :func:`relu`."""
    return input.relu_()


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` clipped to ``[min_val, max_val]``; the gradient is 1 strictly inside, else 0.

    >>> import ember
    >>> hardtanh(ember.tensor([-3.0, 0.5, 3.0]))
    tensor([-1.0000,  0.5000,  1.0000])
    """
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")

    def fn(x: Tensor) -> Tensor:
        inside = (x > min_val).logical_and(x < max_val)
        return _where_inside(x, inside, x.clamp(min_val, max_val))

    return _apply(input, fn, inplace, "hardtanh")


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place :func:`hardtanh`."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)``: ``hardtanh(x, 0, 6)``.

    >>> import ember
    >>> relu6(ember.tensor([-1.0, 3.0, 9.0]))
    tensor([0., 3., 6.])
    """
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0``, else ``negative_slope * x``.

    >>> import ember
    >>> leaky_relu(ember.tensor([-2.0, 2.0]), 0.5)
    tensor([-1.,  2.])
    """
    return _apply(input, lambda x: x.where(x > 0, x * negative_slope), inplace, "leaky_relu")


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place :func:`leaky_relu`."""
    return leaky_relu(input, negative_slope, inplace=True)


@autocast_to("lower")
def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` for ``x > 0``, else ``weight * x``; ``weight`` has 1 or C (channel dim 1) entries.

    >>> import ember
    >>> prelu(ember.tensor([[-2.0, 2.0]]), ember.tensor([0.25]))
    tensor([[-0.5000,  2.0000]])
    """
    n = weight.numel()
    channels = input.shape[1] if input.dim() >= 2 else (input.shape[0] if input.dim() == 1 else 1)
    if n != 1 and n != channels:
        raise RuntimeError(
            f"prelu: weight of {n} elements (shape {list(weight.shape)}) does not fit input of shape "
            f"{list(input.shape)}: expected 1 or the channel count {channels} (dim 1 of the input)"
        )
    if n != 1 and input.dim() >= 2:
        weight = weight.reshape((n,) + (1,) * (input.dim() - 2))
    elif n == 1:
        weight = weight.reshape(())
    return input.where(input > 0, input * weight)


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
    *,
    generator=None,
) -> Tensor:
    """Randomized leaky ReLU: slopes drawn from U(lower, upper) in training, their mean in eval.

    >>> import ember
    >>> rrelu(ember.tensor([-3.0, 3.0]), 0.1, 0.3)
    tensor([-0.6000,  3.0000])
    """
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    noise = (
        random_ops.rand(input.shape, generator=generator, dtype=input.dtype, device=input.device)
        * (upper - lower)
        + lower
    )
    noise = noise.where(input <= 0, 1.0)
    return _apply(input, lambda x: x * noise, inplace, "rrelu")


def rrelu_(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, generator=None
) -> Tensor:
    """In-place :func:`rrelu`; ``generator`` draws the slopes in training."""
    return rrelu(input, lower, upper, training, inplace=True, generator=generator)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``.

    >>> import ember
    >>> threshold(ember.tensor([0.5, 2.0]), 1.0, -1.0)
    tensor([-1.,  2.])
    """
    limit = threshold
    return _apply(input, lambda x: x.where(x > limit, value), inplace, "threshold")


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place :func:`threshold`."""
    limit = threshold
    return _apply(input, lambda x: x.where(x > limit, value), True, "threshold")


# -- exponential units ---------------------------------------------------------------------------
def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``.

    >>> import ember
    >>> elu(ember.tensor([0.0, 1.0]))
    tensor([0., 1.])
    """
    return _apply(input, lambda x: x.where(x > 0, x.clamp_max(0).expm1() * alpha), inplace, "elu")


def elu_(input: Tensor, alpha: float = 1.0, scale: float = 1.0, input_scale: float = 1.0) -> Tensor:
    """In-place :func:`elu`, generalised as PyTorch's builtin is.

    ``scale * x`` for ``x > 0``, else ``scale * alpha * (exp(input_scale * x) - 1)``.
    """
    if scale == 1.0 and input_scale == 1.0:
        return elu(input, alpha, inplace=True)
    return _apply(
        input, lambda x: x.where(x > 0, (x.clamp_max(0) * input_scale).expm1() * alpha) * scale, True, "elu"
    )


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0``, else ``alpha * (exp(x / alpha) - 1)``.

    >>> import ember
    >>> celu(ember.tensor([2.0]), 0.5)
    tensor([2.])
    """
    if alpha == 0:
        raise RuntimeError("celu: ZeroDivisionError, alpha must not be 0 (it divides the input)")
    return _apply(input, lambda x: x.where(x > 0, (x.clamp_max(0) / alpha).expm1() * alpha), inplace, "celu")


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`celu`."""
    return celu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with the self-normalising constants (alpha 1.6733, scale 1.0507).

    >>> import ember
    >>> selu(ember.tensor([1.0]))
    tensor([1.0507])
    """

    def fn(x: Tensor) -> Tensor:
        return x.where(x > 0, x.clamp_max(0).expm1() * _SELU_ALPHA) * _SELU_SCALE

    return _apply(input, fn, inplace, "selu")


def selu_(input: Tensor) -> Tensor:
    """In-place :func:`selu`."""
    return selu(input, inplace=True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` with the Gaussian CDF exact (by erf) or, for ``approximate='tanh'``, by tanh.

    The exact form of a floating input is one fused primitive (``ember.ops.gelu.Gelu``).

    >>> import ember
    >>> gelu(ember.tensor([0.0, 1.0]))
    tensor([0.0000, 0.8413])
    """
    if approximate == "none":
        if input.dtype.is_floating_point:
            return Gelu.apply(input)
        return input * ((input * _SQRT_HALF).erf() + 1.0) * 0.5
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * _SQRT_TWO_OVER_PI
        return input * (inner.tanh() + 1.0) * 0.5
    raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (swish).

    >>> import ember
    >>> silu(ember.tensor([0.0]))
    tensor([0.])
    """
    return _apply(input, lambda x: x * x.sigmoid(), inplace, "silu")


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``.

    >>> import ember
    >>> mish(ember.tensor([0.0]))
    tensor([0.])
    """
    return _apply(input, lambda x: x * softplus(x).tanh(), inplace, "mish")


@autocast_to("float32_cuda")
def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``.

    >>> import ember
    >>> softplus(ember.tensor([0.0, 30.0]))
    tensor([ 0.6931, 30.0000])
    """
    scaled = input * beta if beta != 1 else input
    soft = scaled.logaddexp(0.0)
    if beta != 1:
        soft = soft / beta
    return input.where(scaled > threshold, soft)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``.

    >>> import ember
    >>> softsign(ember.tensor([1.0, -3.0]))
    tensor([ 0.5000, -0.7500])
    """
    return input / (input.abs() + 1.0)


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``.

    >>> import ember
    >>> sigmoid(ember.tensor([0.0]))
    tensor([0.5000])
    """
    return input.sigmoid()


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x)) = -log(1 + exp(-x))``, finite for large negative ``x``.

    >>> import ember
    >>> logsigmoid(ember.tensor([-1000.0]))
    tensor([-1000.])
    """
    return -((-input).logaddexp(0.0))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``: 0 below -3, 1 above 3, linear between.

    >>> import ember
    >>> hardsigmoid(ember.tensor([-4.0, 0.0, 4.0]))
    tensor([0.0000, 0.5000, 1.0000])
    """
    return _apply(input, lambda x: relu6(x + 3.0) / 6.0, inplace, "hardsigmoid")


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6``.

    >>> import ember
    >>> hardswish(ember.tensor([-3.0, 3.0]))
    tensor([-0., 3.])
    """
    return _apply(input, lambda x: x * (relu6(x + 3.0) / 6.0), inplace, "hardswish")


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent.

    >>> import ember
    >>> tanh(ember.tensor([0.0]))
    tensor([0.])
    """
    return input.tanh()


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``.

    >>> import ember
    >>> tanhshrink(ember.tensor([0.0]))
    tensor([0.])
    """
    return input - input.tanh()


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0.

    >>> import ember
    >>> hardshrink(ember.tensor([0.2, -1.0]))
    tensor([ 0., -1.])
    """
    return input.where(input.abs() > lambd, 0.0)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0.

    >>> import ember
    >>> softshrink(ember.tensor([0.2, -1.0, 2.0]))
    tensor([ 0.0000, -0.5000,  1.5000])
    """
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambda must be greater or equal to 0, but found to be {lambd}")
    shrunk = input - input.sign().detach() * lambd
    return shrunk.where(input.abs() > lambd, 0.0)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: ``a * sigmoid(b)`` where ``a, b`` are the halves of ``input`` along ``dim``.

    >>> import ember
    >>> glu(ember.tensor([[1.0, 2.0, 0.0, 0.0]]))
    tensor([[0.5000, 1.0000]])
    """
    if input.dim() == 0:
        raise RuntimeError("glu: does not support scalars because halving size must be even")
    size = input.shape[dim]
    if size % 2:
        raise RuntimeError(
            f"glu: halving dimension must be even, but dimension {dim} is size {size} "
            f"(input shape {list(input.shape)})"
        )
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


# -- softmax family --------------------------------------------------------------------------
def _softmax_dim(name: str, ndim: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
        "as an argument.",
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (computed in ``dtype`` when given).

    >>> import ember
    >>> softmax(ember.tensor([0.0, 0.0]), dim=0)
    tensor([0.5000, 0.5000])
    """
    if dim is None:
        dim = _softmax_dim("softmax", input.dim())
    return input.softmax(dim, dtype=dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(-x)`` along ``dim``.

    >>> import ember
    >>> softmin(ember.tensor([0.0, 0.0]), dim=0)
    tensor([0.5000, 0.5000])
    """
    if dim is None:
        dim = _softmax_dim("softmin", input.dim())
    return input.softmin(dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``.

    >>> import ember
    >>> log_softmax(ember.tensor([0.0, 0.0]), dim=0).exp()
    tensor([0.5000, 0.5000])
    """
    if dim is None:
        dim = _softmax_dim("log_softmax", input.dim())
    return input.log_softmax(dim, dtype=dtype)


def gumbel_softmax(
    logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1
) -> Tensor:
    """A sample of the Gumbel-softmax (Concrete) distribution; ``hard`` gives one-hot samples
    whose gradient is the soft sample's (straight-through).

    >>> import ember
    >>> y = gumbel_softmax(ember.zeros(2, 5), hard=True)
    >>> y.sum(-1).tolist()
    [1.0, 1.0]
    """
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    uniform = random_ops.rand(logits.shape, dtype=logits.dtype, device=logits.device)
    # -log(Exponential(1)) is Gumbel(0, 1); 1 - u keeps the exponential's argument above zero
    gumbels = -(-(1 - uniform).log()).log()
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    y_hard = logits.new_zeros(logits.shape).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
