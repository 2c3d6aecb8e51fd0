"""``Parameter`` (a Tensor a Module registers as learnable) and ``Buffer`` (one it registers as state)."""

from __future__ import annotations

import copy

from ember import creation
from ember.tensor import Tensor, make
from ember.tensor_core import TensorBase

__all__ = ["Buffer", "Parameter", "UninitializedBuffer", "UninitializedParameter"]


def _alias(cls, data, requires_grad: bool):
    """A ``cls`` instance sharing ``data``'s array and version counter, detached from any graph."""
    if data is None:
        data = creation.empty(0)
    if not isinstance(data, Tensor):
        raise TypeError(
            f"{cls.__name__}: expected a Tensor (or None) as data, got {type(data).__name__}; "
            "wrap it with ember.tensor(...) first"
        )
    out = Tensor.__new__(cls)
    src = make(data._data, False, None, 0, data._version_counter())
    for slot in TensorBase.__slots__:
        if slot != "__weakref__":
            setattr(out, slot, getattr(src, slot))
    if requires_grad:
        out.requires_grad_(True)
    return out


class Parameter(Tensor):
    """A Tensor that a Module registers as learnable when it is assigned as an attribute.

    ``Parameter(data)`` shares ``data``'s memory and requires grad by default.

    >>> import ember
    >>> p = Parameter(ember.zeros(2))
    >>> p
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
    >>> isinstance(p, ember.Tensor), p.is_leaf
    (True, True)
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        return _alias(cls, data, requires_grad)

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        pass  # everything happened in __new__; Tensor.__init__ would copy the data

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = type(self)(make(self._data.copy()), self._requires_grad)
        if self._grad is not None:
            out._grad = make(self._grad._data.copy())
        if self.__dict__:
            out.__dict__.update(copy.deepcopy(self.__dict__, memo))
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (make(self._data), self._requires_grad, dict(self.__dict__)))


def _rebuild_parameter(data: Tensor, requires_grad: bool, state: dict) -> Parameter:
    p = Parameter(data, requires_grad)
    p.__dict__.update(state)
    return p


class Buffer(Tensor):
    """A marker: assigning ``Buffer(t)`` to a Module attribute registers ``t`` as a buffer.

    >>> import ember
    >>> m = ember.nn.Module()
    >>> m.running = Buffer(ember.zeros(2), persistent=False)
    >>> list(m.state_dict()), type(m.running).__name__
    ([], 'Tensor')
    """

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        out = _alias(cls, data, data is not None and data.requires_grad)
        out.persistent = persistent
        return out

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True):
        pass

    def _as_tensor(self) -> Tensor:
        """The plain Tensor the module stores (same memory, same ``requires_grad``)."""
        return _alias(Tensor, self, self._requires_grad)


class _Uninitialized:
    """Shared by the placeholders of lazy modules: no shape until ``materialize(shape)``.

    The placeholder holds an empty array of the requested dtype and device, which
    ``materialize`` reads when it is not told otherwise.
    """

    __slots__ = ()
    cls_to_become: type = Tensor

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Allocate (uninitialised) memory of ``shape`` and become ``cls_to_become``."""
        device = self.device if device is None else device
        dtype = self.dtype if dtype is None else dtype
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self._data = creation.empty(shape, device=device, dtype=dtype)._data
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their "
            "attributes."
        )

    def size(self, dim=None):
        return self.shape

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __deepcopy__(self, memo):
        return type(self)(self._requires_grad, self.device, self.dtype)


class UninitializedParameter(_Uninitialized, Parameter):
    """A Parameter of a lazy module whose shape is fixed by the first forward pass.

    >>> p = UninitializedParameter()
    >>> p.materialize((2, 3))
    >>> type(p).__name__, tuple(p.shape)
    ('Parameter', (2, 3))
    """

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        return _alias(cls, creation.empty(0, device=device, dtype=dtype), requires_grad)

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        pass


class UninitializedBuffer(_Uninitialized, Tensor):
    """A buffer of a lazy module whose shape is fixed by the first forward pass.

    >>> b = UninitializedBuffer()
    >>> b.materialize(4)
    >>> type(b).__name__, tuple(b.shape)
    ('Tensor', (4,))
    """

    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None):
        return _alias(cls, creation.empty(0, device=device, dtype=dtype), requires_grad)

    def __init__(self, requires_grad: bool = False, device=None, dtype=None):
        pass
