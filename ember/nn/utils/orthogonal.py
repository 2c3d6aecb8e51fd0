"""The ``orthogonal`` parametrization: a weight kept orthogonal (Q^T Q = I) while it trains.

The maps are PyTorch's: ``matrix_exp`` or ``cayley`` of a skew-symmetric matrix built from the
lower triangle, or ``householder`` reflectors. Each is a composite of ember matmuls (the matrix
exponential by scaling and squaring a Taylor series; the Cayley map's inverse by Newton-Schulz
iterations on a symmetric positive definite matrix), so gradients flow through every one. The
QR factorization that only initialises ``base`` (under ``no_grad``) runs on raw arrays.
"""

from __future__ import annotations

import math

from ember import creation
from ember.autograd.grad_mode import no_grad
from ember.methods.join import cat
from ember.nn.modules.module import Module
from ember.nn.utils import parametrize
from ember.tensor import Tensor

__all__ = ["orthogonal"]

_MAPS = ("matrix_exp", "cayley", "householder")


def _eye(n: int, like: Tensor) -> Tensor:
    return creation.eye(n, dtype=like.dtype, device=like.device)


def _matrix_exp(a: Tensor) -> Tensor:
    """``exp(A)`` by scaling and squaring an 18-term Taylor series (A is small after scaling)."""
    norm = float(a.detach().abs().sum(-1).max()) if a.numel() else 0.0
    squarings = max(0, math.ceil(math.log2(norm))) + 1 if norm > 0.5 else 0
    scaled = a / (2**squarings)
    eye = _eye(a.shape[-1], a)
    result, term = eye, eye
    for k in range(1, 18):
        term = term.matmul(scaled) / k
        result = result + term
    for _ in range(squarings):
        result = result.matmul(result)
    return result


def _householder_product(reflectors: Tensor, tau: Tensor) -> Tensor:
    """The first k columns of ``H_1 ... H_k``, ``H_i = I - tau_i v_i v_i^T`` (LAPACK's orgqr)."""
    n, k = reflectors.shape[-2], reflectors.shape[-1]
    eye = _eye(n, reflectors)
    vectors = reflectors.tril(-1) + creation.eye(n, k, dtype=reflectors.dtype, device=reflectors.device)
    q = eye.expand(*reflectors.shape[:-2], n, n)
    for i in range(k):
        v = vectors[..., :, i : i + 1]
        q = q - (q.matmul(v) * tau[..., i : i + 1].unsqueeze(-1)).matmul(v.mT)
    return q[..., :k]


def _qr_orthogonal(q: Tensor) -> Tensor:
    """The Q of the QR factorization of ``q`` with R's diagonal made positive (raw arrays)."""
    xp = q.xp
    data = q._data
    factors, r = xp.linalg.qr(data)
    signs = xp.sign(xp.diagonal(r, axis1=-2, axis2=-1))
    signs = xp.where(signs == 0, 1, signs)
    return q._wrap_like((factors * signs[..., None, :]).astype(data.dtype))


def _is_orthogonal(q: Tensor) -> bool:
    n, k = q.shape[-2], q.shape[-1]
    eps = 10 * n * float(q.xp.finfo(q._data.dtype).eps)
    gram = q.mT.matmul(q)
    return bool((gram - _eye(k, q)).abs().max() <= eps)


class _Orthogonal(Module):
    """The parametrization module: ``forward`` maps an unconstrained X to an orthogonal Q."""

    def __init__(self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True) -> None:
        super().__init__()
        self.shape = tuple(weight.shape)
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            X = X.tril()
            if n != k:
                X = cat([X, X.new_zeros((*X.shape[:-2], n, n - k))], -1)
            a = X - X.mT
            if self.orthogonal_map == "matrix_exp":
                q = _matrix_exp(a)
            else:
                eye = _eye(n, a)
                q = _cayley(eye, a)
            q = q[..., :k] if n != k else q
        else:
            a = X.tril(-1)
            tau = 2.0 / (1.0 + (a * a).sum(-2))
            q = _householder_product(a, tau)
            q = q * X.diagonal(dim1=-2, dim2=-1).detach().trunc().unsqueeze(-2)
        if "base" in self._buffers and self.base is not None:
            q = self.base.matmul(q)
        return q.mT if transposed else q

    def right_inverse(self, Q: Tensor) -> Tensor:
        with no_grad():
            return self._right_inverse(Q)

    def _right_inverse(self, Q: Tensor) -> Tensor:
        if tuple(Q.shape) != self.shape:
            raise ValueError(
                f"Expected a matrix or batch of matrices of shape {self.shape}. "
                f"Got a tensor of shape {tuple(Q.shape)}."
            )
        original = Q
        n, k = Q.shape[-2], Q.shape[-1]
        if n < k:
            Q = Q.mT
            n, k = k, n
        if "base" not in self._buffers:
            raise NotImplementedError(
                "orthogonal: assigning to the parametrization with use_trivialization=False is "
                "not supported by ember (it needs LAPACK's geqrf reflectors)"
            )
        if n == k:
            Q = Q.clone() if _is_orthogonal(Q) else _qr_orthogonal(Q)
        else:
            from ember import random_ops

            extra = random_ops.randn(*Q.shape[:-2], n, n - k, dtype=Q.dtype, device=Q.device)
            Q = _qr_orthogonal(cat([Q, extra], -1))
        self.base = Q
        neg_identity = original.new_zeros(original.shape)
        neg_identity.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
        return neg_identity


def _cayley(eye: Tensor, a: Tensor) -> Tensor:
    """``(I - A/2)^-1 (I + A/2)`` for skew-symmetric A, through ``I - A^2/4`` (SPD, >= I).

    ``(I - A/2)^-1 = (I + A/2)(I - A^2/4)^-1``; the SPD inverse comes from Newton-Schulz
    iterations (matmuls only), so gradients flow through it.
    """
    half = a * 0.5
    spd = eye - half.matmul(half)
    scale = float(spd.detach().abs().sum(-1).max())
    inverse = eye / scale
    for _ in range(100):
        inverse = inverse.matmul(eye * 2 - spd.matmul(inverse))
    return (eye + half).matmul(inverse).matmul(eye + half)


def orthogonal(
    module: Module,
    name: str = "weight",
    orthogonal_map: str | None = None,
    *,
    use_trivialization: bool = True,
) -> Module:
    """Keep ``module.<name>`` orthogonal (or with orthonormal rows/columns when not square).

    >>> import ember
    >>> layer = orthogonal(ember.nn.Linear(3, 3))
    >>> w = layer.weight
    >>> bool((w.T @ w - ember.eye(3)).abs().max() < 1e-5)
    True
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(  # noqa: TRY004 - the type PyTorch raises
            f"Module '{module}' has no parameter or buffer with name '{name}'"
        )
    if weight.dim() < 2:
        raise ValueError(
            f"Expected a matrix or batch of matrices. Got a tensor of {weight.dim()} dimensions."
        )
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _MAPS:
        raise ValueError(
            f'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". Got: {orthogonal_map}'
        )
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
