"""The ``nn.functional`` functions PyTorch also exposes at the top level (``torch.conv2d``, ...).

Each forwards to ``ember.nn.functional`` on first use (the top level sits below ``nn`` in the
layers, so nothing is imported before then). Where PyTorch's top-level signature differs from
``F``'s (``torch.dropout(input, p, train)``, ``torch.embedding(weight, indices)``, reductions
given as ints), an adapter translates. A name whose ``F`` function ember lacks is absent:
``hasattr(ember, name)`` answers False.
"""

from __future__ import annotations

import importlib
import inspect

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}
# PyTorch's top-level losses (torch.kl_div(a, b), torch.ctc_loss(...)) return the unreduced
# losses when no reduction is given, unlike their nn.functional twins
_UNREDUCED = 0


def _functional():
    return importlib.import_module("ember.nn.functional")


def _reduction(value):
    return _REDUCTIONS.get(value, value)


def dropout(input, p: float, train: bool):
    return _functional().dropout(input, p, train)


def dropout_(input, p: float, train: bool):
    return _functional().dropout(input, p, train, inplace=True)


def alpha_dropout(input, p: float, train: bool):
    return _functional().alpha_dropout(input, p, train)


def alpha_dropout_(input, p: float, train: bool):
    return _functional().alpha_dropout(input, p, train, inplace=True)


def batch_norm(
    input,
    weight,
    bias,
    running_mean,
    running_var,
    training: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool = True,
):
    return _functional().batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(
    input,
    weight,
    bias,
    running_mean,
    running_var,
    use_input_stats: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool = True,
):
    return _functional().instance_norm(
        input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps
    )


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5, cudnn_enable: bool = True):
    return _functional().layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5, cudnn_enabled: bool = True):
    return _functional().group_norm(input, num_groups, weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    return _functional().rms_norm(input, normalized_shape, weight, eps)


def embedding(weight, indices, padding_idx: int = -1, scale_grad_by_freq: bool = False, sparse: bool = False):
    return _functional().embedding(
        indices,
        weight,
        None if padding_idx < 0 else padding_idx,
        scale_grad_by_freq=scale_grad_by_freq,
        sparse=sparse,
    )


_BAG_MODES = {0: "sum", 1: "mean", 2: "max"}


def embedding_bag(
    weight,
    indices,
    offsets,
    scale_grad_by_freq: bool = False,
    mode=0,
    sparse: bool = False,
    per_sample_weights=None,
    include_last_offset: bool = False,
    padding_idx=None,
):
    """PyTorch's ``torch.embedding_bag``: weight first, ``mode`` 0/1/2 for sum/mean/max.

    Returns ``(output, offset2bag, bag_size, max_indices)`` as PyTorch's kernel does: the bag of
    each index, the number of (non-padding) indices in each bag, and for ``mode=2`` the row of
    ``weight`` that gave each maximum (``bag_size`` again otherwise). In sum mode PyTorch's CPU
    kernel leaves the last three unfilled; ember fills them all the same.
    """
    F = _functional()
    mode = _BAG_MODES.get(mode, mode)
    output = F.embedding_bag(
        indices,
        weight,
        offsets,
        scale_grad_by_freq=scale_grad_by_freq,
        mode=mode,
        sparse=sparse,
        per_sample_weights=per_sample_weights,
        include_last_offset=include_last_offset,
        padding_idx=padding_idx,
    )
    bag_ids = importlib.import_module("ember.nn._functional.sparse")._bag_ids
    flat, bag_of, bags = bag_ids(indices, offsets, include_last_offset)
    xp, rows = flat.xp, flat._data.astype("int64")
    counted = rows != padding_idx % weight.shape[0] if padding_idx is not None else rows == rows
    bag_size = xp.bincount(bag_of[counted], minlength=bags).astype("int64")
    max_indices = bag_size
    if mode == "max":
        max_indices = xp.zeros((bags, weight.shape[1]), dtype="int64")
        for bag in range(bags):
            members = rows[(bag_of == bag) & counted]
            if members.size:
                max_indices[bag] = members[weight._data[members].argmax(0)]
    wrap = indices._wrap_like
    return output, wrap(bag_of.astype("int64")), wrap(bag_size), wrap(max_indices)


def kl_div(input, target, reduction=_UNREDUCED, *, log_target: bool = False):
    return _functional().kl_div(input, target, reduction=_reduction(reduction), log_target=log_target)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=_UNREDUCED):
    return _functional().binary_cross_entropy_with_logits(
        input, target, weight, reduction=_reduction(reduction), pos_weight=pos_weight
    )


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, reduction=_UNREDUCED):
    return _functional().cosine_embedding_loss(
        input1, input2, target, margin, reduction=_reduction(reduction)
    )


def hinge_embedding_loss(input, target, margin: float = 1.0, reduction=_UNREDUCED):
    return _functional().hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def margin_ranking_loss(input1, input2, target, margin: float = 0.0, reduction=_UNREDUCED):
    return _functional().margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def triplet_margin_loss(
    anchor,
    positive,
    negative,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    reduction=_UNREDUCED,
):
    return _functional().triplet_margin_loss(
        anchor, positive, negative, margin, p, eps, swap, reduction=_reduction(reduction)
    )


def poisson_nll_loss(input, target, log_input: bool, full: bool, eps: float, reduction):
    return _functional().poisson_nll_loss(
        input, target, log_input, full, eps=eps, reduction=_reduction(reduction)
    )


def ctc_loss(
    log_probs,
    targets,
    input_lengths,
    target_lengths,
    blank: int = 0,
    reduction=_UNREDUCED,
    zero_infinity: bool = False,
):
    return _functional().ctc_loss(
        log_probs, targets, input_lengths, target_lengths, blank, _reduction(reduction), zero_infinity
    )


def rrelu(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, generator=None):
    return _functional().rrelu(input, lower, upper, training, generator=generator)


def rrelu_(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, generator=None):
    return _functional().rrelu(input, lower, upper, training, inplace=True, generator=generator)


def _inplace_of(target: str):
    def function(input, *args, **kwargs):
        return getattr(_functional(), target)(input, *args, inplace=True, **kwargs)

    function.__name__ = target + "_"
    return function


_ADAPTERS = {
    f.__name__: f
    for f in (
        dropout,
        dropout_,
        alpha_dropout,
        alpha_dropout_,
        batch_norm,
        instance_norm,
        layer_norm,
        group_norm,
        rms_norm,
        embedding,
        kl_div,
        binary_cross_entropy_with_logits,
        cosine_embedding_loss,
        hinge_embedding_loss,
        margin_ranking_loss,
        triplet_margin_loss,
        poisson_nll_loss,
        ctc_loss,
        rrelu,
        rrelu_,
        embedding_bag,
    )
}
_ADAPTERS.update({name + "_": _inplace_of(name) for name in ("celu", "selu", "threshold")})
# the F function each adapter needs; same-signature names forward to F's function itself
_TARGET = {name: name.rstrip("_") for name in _ADAPTERS}
_SAME = (
    "adaptive_avg_pool1d",
    "adaptive_max_pool1d",
    "avg_pool1d",
    "bilinear",
    "celu",
    "channel_shuffle",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "cosine_similarity",
    "hardshrink",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "pairwise_distance",
    "pdist",
    "pixel_shuffle",
    "pixel_unshuffle",
    "prelu",
    "selu",
    "threshold",
    "native_channel_shuffle",
)


_found: dict = {}


def lookup(name: str):
    """The top-level function ``ember.<name>``, or None when ``F`` lacks what it needs."""
    if name not in _ADAPTERS and name not in _SAME:
        return None
    if name not in _found:
        target = getattr(_functional(), _TARGET.get(name, name), None)
        if target is None:
            return None
        from ember.methods._out import with_out

        function = _ADAPTERS.get(name, target)
        has_out = "out" in inspect.signature(function).parameters  # F's own out= (F.gelu)
        _found[name] = function if has_out else with_out(function, name)
    return _found[name]


def names() -> list:
    """Every alias name (present or not), for the docs."""
    return sorted(set(_ADAPTERS) | set(_SAME))
