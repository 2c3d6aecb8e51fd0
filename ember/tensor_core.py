"""The tensor core: ``TensorBase`` (slots, properties, autograd, in-place machinery, Python
protocols), ``make`` and ``Size``.

It imports nothing of the method mixins or of ``ember.creation``, so the modules of layer 3
import one way: this core, then ``ember.creation``, then the mixins (``ember.methods``), then
``ember.tensor``, which assembles ``Tensor(TensorBase, *mixins)`` and registers it here.
Code below layer 3 reaches the class through ``ember.autograd.function``'s registration.
"""

from __future__ import annotations

import builtins
import weakref

import numpy as np

from ember import backend, dtypes
from ember.autograd import engine, function
from ember.autograd.function import AccumulateGrad
from ember.autograd.grad_mode import grad_enabled
from ember.autograd.hooks import add_hook
from ember.layouts import strided as _strided
from ember.methods._util import dtype_category
from ember.ops import views
from ember.tensor_repr import format_tensor

__all__ = ["Size", "TensorBase", "make", "register_tensor_class"]

_ndarray = np.ndarray
_new = object.__new__
_tensor_class = None  # the final ember.Tensor, set once by register_tensor_class


def make(data, requires_grad=False, grad_fn=None, output_nr=0, version_counter=None) -> TensorBase:
    """Wrap an array without checks or copies: the constructor every op goes through."""
    t = _new(_tensor_class)
    t._data = data
    t._requires_grad = requires_grad
    t.grad_fn = grad_fn
    t._output_nr = output_nr
    t._vc = version_counter
    t._grad = None
    t._base = None
    t._accumulator = None
    t._hooks = None
    t._retains_grad = False
    return t


def register_tensor_class(tensor_class: type) -> None:
    """Make ``make`` build ``tensor_class``, and hand it to autograd (called once by ember.tensor).

    A registration, not an import: the final class inherits the mixins, which import this core.
    """
    global _tensor_class
    _tensor_class = tensor_class
    function.register_tensor_type(tensor_class, make)


class TensorBase:
    """What every tensor is without its method families: see ``ember.tensor.Tensor``."""

    __slots__ = (
        "_data",
        "_requires_grad",
        "grad_fn",
        "_output_nr",
        "_vc",
        "_grad",
        "_base",
        "_accumulator",
        "_hooks",
        "_retains_grad",
        "__weakref__",
    )
    # ndarray (+) Tensor defers to Tensor (its reflected operator), so it stays in the graph; a
    # NumPy function called on a tensor (np.exp(t)) reads it through __array__ and gives a
    # Tensor back through __array_wrap__, as with PyTorch
    __array_priority__ = 1000

    def __new__(cls, *args, **kwargs):
        return _new(cls)

    # -- properties -----------------------------------------------------------------------
    @property
    def data(self) -> TensorBase:
        """The same values, detached, with a version counter of their own (changes go unseen)."""
        return make(self._data)

    @data.setter
    def data(self, value: TensorBase) -> None:
        if not isinstance(value, TensorBase):
            raise TypeError(f"Tensor.data: expected a Tensor, got {type(value).__name__}")
        self._data = value._data

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def dtype(self) -> dtypes.dtype:
        return dtypes.from_numpy_dtype(self._data.dtype)

    @property
    def device(self):
        return backend.device_of(self._data)

    @property
    def xp(self):
        """The array module (numpy or cupy) that holds this tensor's data."""
        return backend.xp_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return type(self._data) is not _ndarray

    @property
    def is_cpu(self) -> bool:
        return type(self._data) is _ndarray

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    @property
    def layout(self):
        return _strided

    @property
    def is_sparse(self) -> bool:
        return False

    @property
    def is_quantized(self) -> bool:
        return False

    @property
    def is_meta(self) -> bool:
        return False

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[self._wrap_dim(dim, "size")]

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def stride(self, dim: int | None = None):
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[self._wrap_dim(dim, "stride")]

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._data.flags.c_contiguous)

    def data_ptr(self) -> int:
        if type(self._data) is _ndarray:
            return self._data.__array_interface__["data"][0]
        return self._data.data.ptr

    def is_floating_point(self) -> bool:
        return dtypes.is_floating_np(self._data.dtype)

    def is_complex(self) -> bool:
        return self._data.dtype.kind == "c"

    def is_signed(self) -> bool:
        return self.dtype.is_signed

    def _wrap_dim(self, dim: int, op: str = "dim") -> int:
        ndim = self._data.ndim
        bound = builtins.max(ndim, 1)
        if not -bound <= dim < bound:
            raise IndexError(
                f"{op}: Dimension out of range (expected to be in range of [{-bound}, {bound - 1}], "
                f"but got {dim}) for a tensor of shape {list(self._data.shape)}"
            )
        return dim % bound

    # -- autograd -------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> TensorBase:
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to use "
                    "a computed variable in a subgraph that doesn't require differentiation use "
                    "var_no_grad = var.detach()."
                )
            return self
        if requires_grad and not dtypes.is_inexact_np(self._data.dtype):
            raise RuntimeError(
                f"only Tensors of floating point and complex dtype can require gradients, got {self.dtype} "
                f"(shape {list(self.shape)}); convert with .float() first"
            )
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad(self) -> TensorBase | None:
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, TensorBase):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got {type(value).__name__}"
                )
            if value.shape != self.shape:
                raise RuntimeError(
                    f"assigned grad has data of a different size: grad shape {list(value.shape)}, "
                    f"tensor shape {list(self.shape)}"
                )
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(
                    f"assigned grad has data of a different type: grad {value.dtype}, tensor {self.dtype}"
                )
        self._grad = value

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def output_nr(self) -> int:
        return self._output_nr

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    @property
    def _version(self) -> int:
        vc = self._vc
        return 0 if vc is None else vc[0]

    def _version_counter(self) -> list:
        vc = self._vc
        if vc is None:
            vc = self._vc = [0, None]
        return vc

    def _bump_version(self, op_name: str) -> None:
        vc = self._vc
        if vc is None:
            vc = self._vc = [0, None]
        vc[0] += 1
        vc[1] = op_name

    def _grad_accumulator(self) -> AccumulateGrad:
        acc = self._accumulator
        if acc is None:
            acc = self._accumulator = AccumulateGrad(weakref.ref(self))
        return acc

    def _wrap_like(self, data) -> TensorBase:
        return make(data)

    def _post_accumulate_hooks(self) -> tuple:
        hooks = self._hooks
        return () if hooks is None else tuple(hooks.post.values())

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into each leaf's ``.grad``; see ``ember.autograd.backward``."""
        engine.backward(self, gradient, retain_graph, create_graph, inputs)

    def detach(self) -> TensorBase:
        """The same data, cut from the graph (shares memory and version counter)."""
        t = make(self._data, False, None, 0, self._version_counter())
        t._base = self._base
        return t

    def detach_(self) -> TensorBase:
        self.grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Keep the gradient of this non-leaf in ``.grad`` after backward."""
        if self.grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if not self._retains_grad:
            engine.register_retained(self.grad_fn, self._output_nr, self)
            self._retains_grad = True

    def register_hook(self, hook):
        """``hook(grad)`` runs when this tensor's gradient is computed; it may return a new one."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return add_hook(self.grad_fn._more().tensor_prehooks.setdefault(self._output_nr, {}), hook)
        if self._hooks is None:
            self._hooks = _LeafHooks()
        return add_hook(self._hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """``hook(tensor)`` runs after a leaf's ``.grad`` has been accumulated."""
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if self._hooks is None:
            self._hooks = _LeafHooks()
        return add_hook(self._hooks.post, hook)

    # -- in place -------------------------------------------------------------------------
    def _check_inplace(self, op: str) -> None:
        if not grad_enabled.get():
            return
        if self._requires_grad and self.grad_fn is None:
            raise RuntimeError(
                f"{op}: a leaf Variable that requires grad (shape {list(self.shape)}) is being used "
                "in an in-place operation. Do it under `with ember.no_grad():`, or use the "
                "out-of-place op."
            )
        base = self._base
        if base is not None and base._requires_grad and base.grad_fn is None:
            raise RuntimeError(
                f"{op}: a view of a leaf Variable that requires grad (shape {list(base.shape)}) is "
                "being used in an in-place operation. Do it under `with ember.no_grad():`, or "
                "clone() first."
            )

    def _check_writeable(self, op: str) -> None:
        data = self._data
        if not (data.flags.writeable if type(data) is _ndarray else backend.writeable(data)):
            raise RuntimeError(
                f"{op}: unsupported operation: more than one element of the written-to tensor "
                f"(shape {list(self.shape)}) refers to a single memory location (an expanded view?). "
                "Please clone() the tensor before performing the operation."
            )

    def _set_from(self, op: str, result: TensorBase) -> TensorBase:
        """Finish an in-place op: ``result`` (computed out of place) becomes this tensor's value."""
        self._check_writeable(op)
        if result.shape != self.shape:
            raise RuntimeError(
                f"{op}: output with shape {list(self.shape)} doesn't match the broadcast shape "
                f"{list(result.shape)}"
            )
        if result._data.dtype != self._data.dtype:
            if dtype_category(result._data.dtype) > dtype_category(self._data.dtype):
                raise RuntimeError(
                    f"{op}: result type {result.dtype} can't be cast to the desired output type {self.dtype}"
                )
            result = result._cast(self._data.dtype)
        self._check_inplace(op)
        if result.grad_fn is not None:
            function.keep_saved_copy(result.grad_fn, self)
        base = self._base
        if base is not None and result.grad_fn is not None and grad_enabled.get():
            return self._set_through_view(op, base, result)
        if function._trace_hook is not None:
            function._trace_hook.inplace(self, result)
        self.xp.copyto(self._data, result._data)
        if result.grad_fn is not None:
            self.grad_fn, self._output_nr, self._requires_grad = result.grad_fn, result._output_nr, True
        elif self.grad_fn is not None and grad_enabled.get():  # a non-differentiable op (eq_, ...)
            self.grad_fn, self._requires_grad = None, False
        self._bump_version(op)
        return self

    def _set_through_view(self, op: str, base: TensorBase, result: TensorBase) -> TensorBase:
        """In-place on a view of a graph tensor: the base gets a new history, the view follows it."""
        base_data, data = base._data, self._data
        if not base_data.flags.c_contiguous:
            raise RuntimeError(
                f"{op}: in-place changes through a view need a contiguous base tensor (the base has "
                f"shape {list(base.shape)} and strides {list(base.stride())}); clone() the view first"
            )
        offset = _address(data) - _address(base_data)
        place = (offset, data.shape, data.strides)
        new_base = views.ViewScatter.apply(base, result, *place)
        self.xp.copyto(data, result._data)
        base.grad_fn, base._output_nr, base._requires_grad = new_base.grad_fn, 0, True
        base._bump_version(op)
        regenerated = views.StridedView.apply(base, *place)
        self.grad_fn, self._output_nr, self._requires_grad = regenerated.grad_fn, 0, True
        return self

    def _needs_graph(self, *others) -> bool:
        if not grad_enabled.get():
            return function._trace_hook is not None  # an export trace must see in-place ops

        if self._requires_grad:
            return True
        return builtins.any(isinstance(o, TensorBase) and o._requires_grad for o in others)

    # -- Python protocols -----------------------------------------------------------------
    def _scalar(self, what: str):
        if self._data.size != 1:  # ValueError, PyTorch's type for float()/int()/complex()
            raise ValueError(
                f"only one element tensors can be converted to Python scalars ({what}: a Tensor with "
                f"{self._data.size} elements, shape {list(self.shape)}; reduce it first, e.g. .sum())"
            )
        return self.item()

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous (shape "
                f"{list(self.shape)}); use .any() or .all()"
            )
        return builtins.bool(self.item())

    def __float__(self) -> float:
        return builtins.float(self._scalar("float()"))

    def __int__(self) -> int:
        return builtins.int(self._scalar("int()"))

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError(
                "only integer tensors of a single element can be converted to an index "
                f"(got {self.dtype}, shape {list(self.shape)})"
            )
        return builtins.int(self.item())

    def __complex__(self) -> complex:
        return complex(self._scalar("complex()"))

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0 or (spec and self._data.size == 1):
            return format(self.item(), spec)
        return format(str(self), spec)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __contains__(self, element) -> bool:
        """``element in t``: whether some entry equals ``element`` (broadcast), as PyTorch answers."""
        if not isinstance(element, (TensorBase, builtins.int, builtins.float, builtins.complex, np.generic)):
            raise RuntimeError(
                f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a {type(element)}."
            )
        return builtins.bool((self == element).any())

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return format_tensor(self)

    def __reduce_ex__(self, protocol):
        if self.is_cpu:
            return (_rebuild, (self._data.copy(), self._requires_grad))
        return (_rebuild, (backend.to_device(self._data, "cpu"), self._requires_grad, str(self.device)))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol; detach() first"
            )
        out = type(self).__new__(type(self))
        for slot in TensorBase.__slots__:
            if slot != "__weakref__":
                setattr(out, slot, None)
        out._data = self._data.copy()
        out._requires_grad, out._output_nr, out._retains_grad = self._requires_grad, 0, False
        if self._grad is not None:
            out._grad = make(self._grad._data.copy())
        if hasattr(self, "__dict__"):
            import copy as _copy

            out.__dict__.update(_copy.deepcopy(self.__dict__, memo))
        memo[id(self)] = out
        return out


class Size(tuple):
    """A tensor's shape: a tuple of ints that prints as ``ember.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"ember.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        out = tuple.__getitem__(self, item)
        return Size(out) if isinstance(item, slice) else out

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))


class _LeafHooks(dict):
    """Hooks of a leaf tensor by handle id: ``grad`` hooks here, post-accumulate hooks in ``post``."""

    def __init__(self):
        super().__init__()
        self.post = {}


def _address(array) -> int:
    if type(array) is _ndarray:
        return array.__array_interface__["data"][0]
    return backend.for_xp(backend.xp_of(array)).address(array)


def _rebuild(array, requires_grad, device=None):
    t = make(array if device is None else backend.to_device(array, device))
    t._requires_grad = requires_grad
    return t
