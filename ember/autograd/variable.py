"""``Variable``: the legacy wrapper, kept so that old code runs. It returns a plain Tensor."""

from __future__ import annotations


class _VariableMeta(type):
    def __instancecheck__(cls, obj) -> bool:
        from ember.tensor import Tensor  # layer 3, built on autograd

        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableMeta):
    """``Variable(t, requires_grad=True)`` gives ``t`` itself (a leaf) with requires_grad set.

    >>> import ember
    >>> v = Variable(ember.ones(2), requires_grad=True)
    >>> v.requires_grad, type(v).__name__
    (True, 'Tensor')
    """

    def __new__(cls, data=None, requires_grad: bool = False, volatile: bool = False):
        from ember.creation import tensor  # layer 3, built on autograd
        from ember.tensor import Tensor  # layer 3, built on autograd

        if data is None:
            data = tensor([])
        if not isinstance(data, Tensor):
            data = tensor(data)
        if requires_grad:
            data.requires_grad_(True)
        return data
