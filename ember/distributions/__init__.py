"""``ember.distributions``: probability distributions with PyTorch's API (``torch.distributions``).

Parameters and samples are ember Tensors, so ``log_prob``, ``entropy``, ``rsample`` and
``kl_divergence`` differentiate back to the parameters; random draws use ember's generator
(``ember.manual_seed``).

>>> import ember
>>> from ember.distributions import Normal
>>> Normal(ember.tensor(0.0), ember.tensor(1.0)).log_prob(ember.tensor(0.0))
tensor(-0.9189)
"""

from ember.distributions import constraints, transforms
from ember.distributions.bernoulli import Bernoulli
from ember.distributions.binomial import Binomial, Multinomial
from ember.distributions.categorical import (
    Categorical,
    OneHotCategorical,
    OneHotCategoricalStraightThrough,
)
from ember.distributions.cauchy import Cauchy
from ember.distributions.constraint_registry import biject_to, transform_to
from ember.distributions.continuous_bernoulli import ContinuousBernoulli
from ember.distributions.dirichlet import Beta, Dirichlet
from ember.distributions.distribution import Distribution
from ember.distributions.exp_family import ExponentialFamily
from ember.distributions.gamma import Chi2, Exponential, Gamma
from ember.distributions.geometric import Geometric, NegativeBinomial
from ember.distributions.half_normal import Gumbel, HalfNormal
from ember.distributions.heavy_tailed import HalfCauchy, Pareto, Weibull
from ember.distributions.independent import Independent
from ember.distributions.inverse_gamma import FisherSnedecor, InverseGamma
from ember.distributions.kl import kl_divergence, register_kl
from ember.distributions.kumaraswamy import Kumaraswamy, LogisticNormal
from ember.distributions.laplace import Laplace
from ember.distributions.log_normal import LogNormal
from ember.distributions.lowrank_multivariate_normal import LowRankMultivariateNormal
from ember.distributions.mixture_same_family import MixtureSameFamily
from ember.distributions.multivariate_normal import MultivariateNormal
from ember.distributions.normal import Normal
from ember.distributions.poisson import Poisson
from ember.distributions.relaxed import (
    ExpRelaxedCategorical,
    LogitRelaxedBernoulli,
    RelaxedBernoulli,
    RelaxedOneHotCategorical,
)
from ember.distributions.student_t import StudentT
from ember.distributions.transformed_distribution import TransformedDistribution
from ember.distributions.transforms import (
    AbsTransform,
    AffineTransform,
    ComposeTransform,
    ExpTransform,
    PowerTransform,
    SigmoidTransform,
    SoftmaxTransform,
    TanhTransform,
    Transform,
)
from ember.distributions.transforms_extra import (
    CumulativeDistributionTransform,
    IndependentTransform,
    LowerCholeskyTransform,
    ReshapeTransform,
    SoftplusTransform,
    StickBreakingTransform,
)
from ember.distributions.uniform import Uniform
from ember.distributions.von_mises import VonMises

__all__ = [
    "AbsTransform", "AffineTransform", "Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy",
    "Chi2", "ComposeTransform", "ContinuousBernoulli", "CumulativeDistributionTransform",
    "Dirichlet", "Distribution", "ExpRelaxedCategorical", "ExpTransform", "Exponential",
    "ExponentialFamily", "FisherSnedecor", "Gamma", "Geometric", "Gumbel", "HalfCauchy",
    "HalfNormal", "Independent", "IndependentTransform", "InverseGamma", "Kumaraswamy",
    "Laplace", "LogNormal", "LogisticNormal", "LogitRelaxedBernoulli",
    "LowRankMultivariateNormal", "LowerCholeskyTransform", "MixtureSameFamily", "Multinomial",
    "MultivariateNormal", "NegativeBinomial", "Normal", "OneHotCategorical",
    "OneHotCategoricalStraightThrough", "Pareto", "Poisson", "PowerTransform",
    "RelaxedBernoulli", "RelaxedOneHotCategorical", "ReshapeTransform", "SigmoidTransform",
    "SoftmaxTransform", "SoftplusTransform", "StickBreakingTransform", "StudentT",
    "TanhTransform", "Transform", "TransformedDistribution", "Uniform", "VonMises", "Weibull",
    "biject_to", "constraints", "kl_divergence", "register_kl", "transform_to", "transforms",
]
