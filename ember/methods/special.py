"""Special-function methods PyTorch puts on Tensor and at top level: ``lgamma``, ``digamma``,
``polygamma``, ``mvlgamma``, ``i0``, ``igamma``, ``igammac``, ``logit`` and their in-place twins
(primitives in ``ember.ops.special_functions``).
"""

from __future__ import annotations

import math

from ember import dtypes
from ember.methods._out import accepts_out
from ember.methods.elementwise import _float, _inplace, _scalar_tensor
from ember.ops import special_functions as sf
from ember.tensor_core import TensorBase

FUNCTIONS = [
    "lgamma",
    "digamma",
    "mvlgamma",
    "i0",
    "igamma",
    "igammac",
    "logit",
    "lgamma_",
    "digamma_",
    "i0_",
    "logit_",
]
__all__ = ["polygamma"]  # torch.polygamma(n, input): the order differs from the method's


def float_pair(op: str, a, b):
    """Two operands (Tensors or numbers) as Tensors of their common floating dtype."""
    if not isinstance(a, TensorBase) and not isinstance(b, TensorBase):
        raise TypeError(
            f"{op}: expected at least one Tensor operand, got {type(a).__name__} and {type(b).__name__}"
        )
    like = a if isinstance(a, TensorBase) else b
    target = dtypes.result_type(a, b)
    if not target.is_floating_point:
        target = dtypes.get_default_dtype()
    a, b = (_scalar_tensor(v, like, target.np)._cast(target.np) for v in (a, b))
    return a, b


class SpecialMethods:
    __slots__ = ()

    def lgamma(self):
        """``log|Gamma(x)|``, elementwise."""
        return sf.Lgamma.apply(_float(self))

    def digamma(self):
        """``psi(x) = d/dx log Gamma(x)``, elementwise (``-inf`` at 0, as PyTorch)."""
        return sf.Digamma.apply(_float(self))

    def polygamma(self, n: int):
        """The ``n``-th derivative of digamma, elementwise."""
        if int(n) < 0:
            raise RuntimeError(f"polygamma(n, x) does not support negative n, got n={n}")
        return sf.Polygamma.apply(_float(self), int(n))

    def mvlgamma(self, p: int):
        """The multivariate log-gamma ``sum_i lgamma(x - i/2) + p(p-1)/4 log(pi)``."""
        x = _float(self)
        if p < 1:
            raise RuntimeError(f"mvlgamma: p has to be greater than or equal to 1, got {p}")
        if bool((x._data <= (p - 1) / 2).any()):
            raise RuntimeError(f"mvlgamma: All elements must be greater than (p-1)/2 = {(p - 1) / 2}")
        total = sum((x - i / 2).lgamma() for i in range(p))
        return total + p * (p - 1) / 4 * math.log(math.pi)

    def i0(self):
        """The modified Bessel function of the first kind, order 0."""
        return sf.I0.apply(_float(self))

    def igamma(self, other):
        """The regularized lower incomplete gamma ``P(self, other)``."""
        a, x = float_pair("igamma", self, other)
        return sf.Gammainc.apply(a, x, False)

    def igammac(self, other):
        """The regularized upper incomplete gamma ``Q(self, other)``."""
        a, x = float_pair("igammac", self, other)
        return sf.Gammainc.apply(a, x, True)

    def logit(self, eps=None):
        """``log(x / (1 - x))``; with ``eps``, x is clamped to ``[eps, 1 - eps]`` first."""
        x = _float(self)
        if eps is not None:
            x = x.clamp(eps, 1 - eps)
        return (x / (1 - x)).log()

    lgamma_ = _inplace("lgamma")
    digamma_ = _inplace("digamma")
    polygamma_ = _inplace("polygamma")
    mvlgamma_ = _inplace("mvlgamma")
    i0_ = _inplace("i0")
    igamma_ = _inplace("igamma")
    igammac_ = _inplace("igammac")
    logit_ = _inplace("logit")


@accepts_out
def polygamma(n: int, input):
    """The ``n``-th derivative of digamma of ``input`` (``torch.polygamma(n, input)``)."""
    return input.polygamma(n)
