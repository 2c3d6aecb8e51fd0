"""nn.functional: ``cosine_similarity``, ``pairwise_distance`` and ``pdist``."""

from __future__ import annotations

from ember.autograd.grad_mode import no_grad
from ember.functions import broadcast_shapes
from ember.tensor import Tensor, make

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


def _float(t: Tensor) -> Tensor:
    return t if t.is_floating_point() else t.float()


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps))`` along ``dim`` (inputs broadcast).

    Each input is divided by its own clamped norm before the product, as PyTorch does; the clamp
    acts on the values only, so the gradient is that of the unclamped norm.

    >>> import ember
    >>> cosine_similarity(ember.tensor([[1.0, 0.0]]), ember.tensor([[1.0, 1.0]]))
    tensor([0.7071])
    """
    x1, x2 = _float(x1), _float(x2)
    try:
        shape = broadcast_shapes(x1.shape, x2.shape)
    except (RuntimeError, ValueError) as exc:
        raise RuntimeError(
            f"cosine_similarity: the shapes {list(x1.shape)} and {list(x2.shape)} are not broadcastable: "
            "trailing dims must match or be 1"
        ) from exc
    x1, x2 = x1.broadcast_to(shape), x2.broadcast_to(shape)
    n1 = x1.norm(2, dim, keepdim=True).clone()
    n2 = x2.norm(2, dim, keepdim=True).clone()
    with no_grad():
        n1.clamp_min_(eps)
        n2.clamp_min_(eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dim (inputs broadcast).

    >>> import ember
    >>> pairwise_distance(ember.tensor([[0.0, 0.0]]), ember.tensor([[3.0, 4.0]]), eps=0.0)
    tensor([5.])
    """
    x1, x2 = _float(x1), _float(x2)
    return (x1 - x2 + eps).norm(p, max(x1.dim(), x2.dim()) - 1, keepdim=keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distances between all pairs of rows of a 2-D input: the upper triangle, row by row.

    >>> import ember
    >>> pdist(ember.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]]))
    tensor([5.0000, 1.0000, 4.2426])
    """
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D (shape {list(input.shape)})")
    n = input.shape[0]
    rows, cols = input.xp.triu_indices(n, 1)
    return (input[make(rows)] - input[make(cols)]).norm(p, 1)
