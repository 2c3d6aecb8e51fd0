"""``Tensor``: one backend array plus what autograd needs.

``TensorBase`` (``ember.tensor_core``) holds creation by ``make``, properties, conversions,
autograd methods and the Python protocols. The method families live in mixins under
``ember.methods`` (one file per family), each beside the primitives in ``ember.ops`` that it
calls. This module assembles the class and registers it with the core, which builds every op's
output through ``make``; it is the top of the tensor modules, so nothing of layer 3 imports it.
"""

from __future__ import annotations

import numbers

from ember import creation, dtypes
from ember.methods import numpy_keywords
from ember.methods.arithmetic import ArithmeticMethods
from ember.methods.comparison import ComparisonMethods
from ember.methods.complex import ComplexMethods
from ember.methods.conversion import ConversionMethods
from ember.methods.elementwise import ElementwiseMethods
from ember.methods.extra_math import ExtraMathMethods
from ember.methods.fill import FillMethods
from ember.methods.indexing import IndexingMethods
from ember.methods.legacy import LegacyMethods
from ember.methods.linalg import LinalgMethods
from ember.methods.reduce import ReduceMethods
from ember.methods.shape import ShapeMethods
from ember.methods.sharing import SharingMethods
from ember.methods.sparse import SparseMethods
from ember.methods.special import SpecialMethods
from ember.methods.spectral import SpectralMethods
from ember.methods.stats import StatsMethods
from ember.methods.structure import StructureMethods
from ember.tensor_core import (
    Size,
    TensorBase,
    _rebuild,  # noqa: F401 - pickles name ember.tensor._rebuild
    make,
    register_tensor_class,
)

__all__ = ["Size", "Tensor", "make"]


class Tensor(
    TensorBase,
    ArithmeticMethods,
    ConversionMethods,
    ElementwiseMethods,
    ComparisonMethods,
    FillMethods,
    ReduceMethods,
    ShapeMethods,
    IndexingMethods,
    LinalgMethods,
    SharingMethods,
    ExtraMathMethods,
    StatsMethods,
    StructureMethods,
    LegacyMethods,
    SparseMethods,
    ComplexMethods,
    SpecialMethods,
    SpectralMethods,
):
    """A multi-dimensional array that records the ops applied to it, for autograd.

    >>> import ember
    >>> x = ember.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([[2., 4.],
            [6., 8.]])
    """

    __slots__ = ()

    def __init__(self, *args, dtype=None, device=None, requires_grad=False):
        """``Tensor(data)`` copies data (float32 by default); ``Tensor(2, 3)`` is uninitialised."""
        if len(args) == 1 and not isinstance(args[0], numbers.Integral):
            if dtype is None:  # a tensor keeps its dtype (PyTorch's Tensor(t)); data gets the default
                dtype = args[0].dtype if isinstance(args[0], TensorBase) else dtypes.get_default_dtype()
            src = creation.tensor(args[0], dtype=dtype, device=device)
        else:  # Tensor() with no sizes is empty, shape (0,), as PyTorch makes it
            src = creation.empty(*(args or (0,)), dtype=dtype, device=device)
        self._data = src._data
        self._requires_grad = False
        self.grad_fn = None
        self._output_nr = 0
        self._vc = None
        self._grad = None
        self._base = None
        self._accumulator = None
        self._hooks = None
        self._retains_grad = False
        if requires_grad:
            self.requires_grad_(True)


register_tensor_class(Tensor)
numpy_keywords.install(Tensor)  # x.sum(axis=0, keepdims=True), as PyTorch's parser allows
