"""nn.functional: batch, instance, layer, group, RMS and local-response normalization, ``normalize``.

Batch, instance, layer and group norm run on one fused primitive, ``ember.ops.norm.Normalize``
(normalize over some dims, then the affine map); see that module for why and what it measured.
Running statistics are updated in place under ``no_grad``, with the unbiased variance, as in
PyTorch.
"""

from __future__ import annotations

from ember import dtypes
from ember.autograd.grad_mode import no_grad
from ember.functions import cat
from ember.ops.norm import Normalize
from ember.tensor import Tensor

__all__ = [
    "batch_norm",
    "group_norm",
    "instance_norm",
    "layer_norm",
    "local_response_norm",
    "normalize",
    "rms_norm",
]


def _per_channel(t: Tensor | None, ndim: int) -> Tensor | None:
    """A (C,) tensor shaped (1, C, 1, ...) to broadcast against an ``ndim``-d (N, C, ...) input."""
    return None if t is None else t.reshape((1, -1) + (1,) * (ndim - 2))


def _check_channels(op: str, input: Tensor, **tensors) -> int:
    if input.dim() < 2:
        raise ValueError(
            f"{op}: expected an input of at least 2 dims (N, C, ...), got shape {list(input.shape)}"
        )
    channels = input.shape[1]
    for name, t in tensors.items():
        if t is not None and t.numel() != channels:
            raise RuntimeError(
                f"{op}: {name} of shape {list(t.shape)} does not match the {channels} channels (dim 1) "
                f"of the input of shape {list(input.shape)}; expected shape [{channels}]"
            )
    return channels


def _update_running(running: Tensor | None, value: Tensor, momentum: float) -> None:
    """``running = (1 - momentum) * running + momentum * value``, in place and outside the graph."""
    if running is None:
        return
    with no_grad():
        running.mul_(1.0 - momentum).add_(
            value.detach().reshape(running.shape)._cast(running._data.dtype), alpha=momentum
        )


def _affine_with_stats(input: Tensor, mean: Tensor, var: Tensor, weight, bias, eps: float) -> Tensor:
    """``(x - mean) / sqrt(var + eps) * weight + bias`` for given per-channel stats: two full-size ops."""
    scale = (var + eps).rsqrt()
    if weight is not None:
        scale = scale * weight
    shift = -mean * scale
    if bias is not None:
        shift = shift + bias
    ndim = input.dim()
    return input * _per_channel(scale, ndim)._cast(input._data.dtype) + _per_channel(shift, ndim)._cast(
        input._data.dtype
    )


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel (dim 1) by the batch's statistics (training) or the running ones.

    In training, ``running_mean``/``running_var`` (when given) move toward the batch mean and
    unbiased variance by ``momentum``.

    >>> import ember
    >>> x = ember.tensor([[1.0], [3.0]])
    >>> batch_norm(x, None, None, training=True)
    tensor([[-1.0000],
            [ 1.0000]])
    """
    op = "batch_norm"
    channels = _check_channels(
        op, input, running_mean=running_mean, running_var=running_var, weight=weight, bias=bias
    )
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError(
                f"{op}: running_mean and running_var must be defined in evaluation mode (training=False); "
                "pass them, or training=True to use the batch's statistics"
            )
        return _affine_with_stats(input, running_mean, running_var, weight, bias, eps)
    count = input.numel() // channels
    if count <= 1:
        raise ValueError(
            f"{op}: Expected more than 1 value per channel when training, got input size {list(input.shape)}"
        )
    dims = (0,) + tuple(range(2, input.dim()))
    ndim = input.dim()
    out, mean, var = Normalize.apply(input, _per_channel(weight, ndim), _per_channel(bias, ndim), dims, eps)
    _update_running(running_mean, mean, momentum)
    _update_running(running_var, var * (count / (count - 1)), momentum)
    return out


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each (sample, channel) plane by its own statistics (or by the running ones).

    >>> import ember
    >>> instance_norm(ember.tensor([[[1.0, 3.0]]]))
    tensor([[[-1.0000,  1.0000]]])
    """
    op = "instance_norm"
    _check_channels(op, input, running_mean=running_mean, running_var=running_var, weight=weight, bias=bias)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError(f"{op}: running_mean and running_var must be given when use_input_stats=False")
        return _affine_with_stats(input, running_mean, running_var, weight, bias, eps)
    count = input.numel() // (input.shape[0] * input.shape[1]) if input.numel() else 0
    if count <= 1:
        raise ValueError(
            f"{op}: Expected more than 1 spatial element when training, got input size {list(input.shape)}"
        )
    ndim = input.dim()
    dims = tuple(range(2, ndim))
    out, mean, var = Normalize.apply(input, _per_channel(weight, ndim), _per_channel(bias, ndim), dims, eps)
    if running_mean is not None:
        _update_running(running_mean, mean.detach().mean(0), momentum)
    if running_var is not None:
        _update_running(running_var, var.detach().mean(0) * (count / (count - 1)), momentum)
    return out


def layer_norm(
    input: Tensor,
    normalized_shape,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize over the last ``len(normalized_shape)`` dims, then scale by weight and add bias.

    >>> import ember
    >>> layer_norm(ember.tensor([[1.0, 3.0]]), (2,))
    tensor([[-1.0000,  1.0000]])
    """
    shape = _normalized_shape("layer_norm", input, normalized_shape, weight=weight, bias=bias)
    dims = tuple(range(input.dim() - len(shape), input.dim()))
    return Normalize.apply(input, weight, bias, dims, eps)[0]


def _normalized_shape(op: str, input: Tensor, normalized_shape, **tensors) -> tuple:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.dim() < k or tuple(input.shape[input.dim() - k :]) != shape:
        raise RuntimeError(
            f"{op}: Given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(str(s) for s in shape)}], but got input of size {list(input.shape)}"
        )
    for name, t in tensors.items():
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(
                f"{op}: Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                f"{list(t.shape)} and normalized_shape = {list(shape)}"
            )
    return shape


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize over groups of channels (and all spatial dims) per sample, then a per-channel affine.

    >>> import ember
    >>> group_norm(ember.tensor([[1.0, 3.0]]), 1)
    tensor([[-1.0000,  1.0000]])
    """
    op = "group_norm"
    channels = _check_channels(op, input, weight=weight, bias=bias)
    if num_groups <= 0 or channels % num_groups:
        raise RuntimeError(
            f"{op}: Expected number of channels in input to be divisible by num_groups, but got input of "
            f"shape {list(input.shape)} and num_groups={num_groups}"
        )
    n = input.shape[0]
    grouped = input.reshape(n, num_groups, channels // num_groups, -1)
    affine = [
        None if t is None else t.reshape(1, num_groups, channels // num_groups, 1) for t in (weight, bias)
    ]
    out = Normalize.apply(grouped, affine[0], affine[1], (2, 3), eps)[0]
    return out.reshape(input.shape)


def rms_norm(
    input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None
) -> Tensor:
    """``x / sqrt(mean(x^2) + eps) * weight`` over the last dims; ``eps=None`` is the dtype's eps.

    >>> import ember
    >>> rms_norm(ember.tensor([[3.0, 4.0]]), (2,), eps=0.0)
    tensor([[0.8485, 1.1314]])
    """
    shape = _normalized_shape("rms_norm", input, normalized_shape, weight=weight)
    if eps is None:
        eps = dtypes.finfo(input.dtype).eps
    dims = tuple(range(input.dim() - len(shape), input.dim()))
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """``x / (k + alpha * mean of x^2 over `size` neighbouring channels) ** beta`` (zero-padded).

    >>> import ember
    >>> local_response_norm(ember.ones(1, 2, 1), 2, alpha=1.0, beta=1.0, k=0.0)
    tensor([[[2.],
             [1.]]])
    """
    if input.dim() < 3:
        raise ValueError(
            f"local_response_norm: Expected 3D or higher dimensionality input (N, C, ...), got shape "
            f"{list(input.shape)}"
        )
    if input.numel() == 0:
        return input
    channels = input.shape[1]
    square = input * input
    before, after = size // 2, (size - 1) // 2
    pad_shape = list(input.shape)
    parts = []
    for width in (before, after):
        pad_shape[1] = width
        parts.append(square.new_zeros(pad_shape) if width else None)
    padded = cat([p for p in (parts[0], square, parts[1]) if p is not None], 1)
    window = padded.narrow(1, 0, channels)
    for j in range(1, size):
        window = window + padded.narrow(1, j, channels)
    div = (window * (alpha / size) + k) ** beta
    return input / div


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """``x / max(||x||_p, eps)`` along ``dim``.

    >>> import ember
    >>> normalize(ember.tensor([[3.0, 4.0]]))
    tensor([[0.6000, 0.8000]])
    """
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps)
    result = input / denom
    if out is not None:
        out.copy_(result)
        return out
    return result


def cross_map_lrn2d(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """Legacy Lua-Torch cross-channel LRN over (N, C, H, W): ``x * (k + alpha/size * S)^-beta``.

    ``S`` sums squares over channels ``c - h + 1 .. c + h - 1`` with ``h = (size - 1) // 2 + 1``,
    plus channel 0 always, which is the window PyTorch's ``CrossMapLRN2d`` computes.
    """
    if input.dim() != 4:
        raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D instead.")
    xp, channels = input.xp, input.shape[1]
    half = (size - 1) // 2 + 1
    c = xp.arange(channels)
    inside = (xp.abs(c[:, None] - c[None, :]) <= half - 1) | (c[None, :] == 0)
    window = input._wrap_like(inside.astype(input._data.dtype).T.copy())  # (j, c)
    summed = (input * input).movedim(1, -1).matmul(window).movedim(-1, 1)
    return input * (summed * (alpha / size) + k) ** -beta
