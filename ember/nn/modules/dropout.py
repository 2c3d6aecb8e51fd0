"""nn layers: Dropout, Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout (identity in eval mode)."""

from __future__ import annotations

from ember.nn import functional as F
from ember.nn.modules.module import Module
from ember.tensor import Tensor

__all__ = ["AlphaDropout", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "FeatureAlphaDropout"]


class _DropoutNd(Module):
    """The shared constructor: probability ``p`` and ``inplace``."""

    _fn = None

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(
                f"{type(self).__name__}: dropout probability has to be between 0 and 1, but got {p}"
            )
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero elements with probability ``p`` in training, scaling the rest by ``1 / (1 - p)``.

    >>> import ember
    >>> d = Dropout(0.25)
    >>> d
    Dropout(p=0.25, inplace=False)
    >>> x = ember.ones(3)
    >>> d.eval()(x) is x
    True
    """

    _fn = staticmethod(F.dropout)


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) inputs.

    >>> Dropout1d()
    Dropout1d(p=0.5, inplace=False)
    """

    _fn = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) inputs.

    >>> Dropout2d(0.1)
    Dropout2d(p=0.1, inplace=False)
    """

    _fn = staticmethod(F.dropout2d)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs.

    >>> Dropout3d()
    Dropout3d(p=0.5, inplace=False)
    """

    _fn = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    """Dropout that keeps a standardized (SELU) activation's mean and variance.

    >>> AlphaDropout(0.2)
    AlphaDropout(p=0.2, inplace=False)
    """

    _fn = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels.

    >>> FeatureAlphaDropout()
    FeatureAlphaDropout(p=0.5, inplace=False)
    """

    _fn = staticmethod(F.feature_alpha_dropout)
