"""``SparseTensor``: a COO (or CSR) sparse tensor, an ``ember.Tensor`` whose data are its
coordinates and values.

A sparse tensor holds ``indices`` (int64, ``(sparse_dim, nnz)``) and ``values`` (an ordinary
Tensor of shape ``(nnz, *dense_shape)``). Autograd goes through ``values``: a sparse tensor
requires grad when its values do, and its ``.grad`` is a sparse tensor with the same indices
(PyTorch's ``sparse.mm`` semantics: the gradient of the sparse operand is sparse at its
nonzeros). Dense-only operations raise an error that says to call ``.to_dense()``.
"""

from __future__ import annotations

import math

import ember
from ember import layouts as _layout
from ember.ops.sparse import SparseToDense
from ember.tensor import Size, Tensor, make

__all__ = ["SparseTensor"]


class _NoDenseArray:
    """Stands in for the dense array of a sparse tensor: every use is a clear error."""

    __slots__ = ()

    def __getattr__(self, name):
        if name.startswith("__"):  # protocol probes (copy, doctest, inspect) answer normally
            raise AttributeError(name)
        raise RuntimeError(
            f"ember: this operation needs a dense (strided) tensor, but got a sparse one "
            f"(array attribute {name!r} requested); convert with .to_dense() first"
        )

    def __repr__(self) -> str:
        return "<sparse tensor: no dense array>"


_NO_DENSE = _NoDenseArray()


class SparseTensor(Tensor):
    """A sparse COO tensor (``layout=ember.sparse_coo``); build it with
    ``ember.sparse_coo_tensor`` or ``dense.to_sparse()``.

    >>> import ember
    >>> s = ember.sparse_coo_tensor([[0, 1], [1, 0]], [3.0, 4.0], (2, 2))
    >>> s.to_dense()
    tensor([[0., 3.],
            [4., 0.]])
    """

    __slots__ = ("_sp_coalesced", "_sp_indices", "_sp_size", "_sp_values")
    _sp_layout = _layout.sparse_coo
    _written_slots = ("_sp_indices", "_sp_values", "_sp_size", "_sp_coalesced")

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        raise TypeError("use ember.sparse_coo_tensor(indices, values, size) to build a sparse tensor")

    @classmethod
    def _from_parts(cls, indices: Tensor, values: Tensor, size, coalesced: bool = False):
        t = object.__new__(cls)
        t._data = _NO_DENSE
        t._requires_grad = False
        t._output_nr = 0
        t._vc = None
        t._grad = None
        t._base = None
        t._accumulator = None
        t._hooks = None
        t._retains_grad = False
        t._sp_indices = indices
        t._sp_values = values
        t._sp_size = Size(tuple(int(s) for s in size))
        t._sp_coalesced = bool(coalesced)
        return t

    def _write_into(self, op: str, out) -> SparseTensor:
        """``out=`` for sparse results (``ember.hspmm(a, b, out=s)``): ``out``, a sparse tensor of
        the same layout, takes this tensor's pattern, values and size, as in PyTorch."""
        if type(out) is not type(self):
            got = getattr(out, "layout", type(out).__name__)
            raise RuntimeError(f"{op}(): out= must be a sparse tensor of layout {self.layout}, got {got}")
        if self._requires_grad or out._requires_grad:
            raise RuntimeError(
                f"{op}(): functions with out=... arguments don't support automatic "
                "differentiation, but one of the arguments requires grad."
            )
        for slot in type(self)._written_slots:
            setattr(out, slot, getattr(self, slot))
        return out

    def _with_values(self, values: Tensor, coalesced: bool | None = None) -> SparseTensor:
        """The same pattern with other values (the result of an op on the values)."""
        flag = self._sp_coalesced if coalesced is None else coalesced
        return type(self)._from_parts(self._sp_indices, values, self._sp_size, flag)

    # -- what a tensor is -----------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return self._sp_size

    def size(self, dim: int | None = None):
        return self._sp_size if dim is None else self._sp_size[self._wrap_dim(dim, "size")]

    def _wrap_dim(self, dim: int, op: str) -> int:
        bound = len(self._sp_size)
        if not -bound <= dim < bound:
            raise IndexError(
                f"{op}: Dimension out of range (expected to be in range of "
                f"[{-bound}, {bound - 1}], but got {dim})"
            )
        return dim % bound

    def dim(self) -> int:
        return len(self._sp_size)

    ndimension = dim

    @property
    def ndim(self) -> int:
        return len(self._sp_size)

    def numel(self) -> int:
        return math.prod(self._sp_size)

    nelement = numel

    @property
    def dtype(self):
        return self._sp_values.dtype

    @property
    def device(self):
        return self._sp_values.device

    @property
    def xp(self):
        return self._sp_values.xp

    @property
    def is_cuda(self) -> bool:
        return self._sp_values.is_cuda

    @property
    def is_cpu(self) -> bool:
        return self._sp_values.is_cpu

    @property
    def layout(self):
        return self._sp_layout

    @property
    def is_sparse(self) -> bool:
        return self._sp_layout is _layout.sparse_coo

    @property
    def is_sparse_csr(self) -> bool:
        return self._sp_layout is _layout.sparse_csr

    def is_floating_point(self) -> bool:
        return self._sp_values.is_floating_point()

    def element_size(self) -> int:
        return self._sp_values.element_size()

    def is_contiguous(self, memory_format=None) -> bool:
        raise RuntimeError("is_contiguous: sparse tensors do not have is_contiguous")

    # -- autograd goes through the values ---------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._sp_values.requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> SparseTensor:
        self._sp_values.requires_grad_(requires_grad)
        return self

    @property
    def grad_fn(self):
        return self._sp_values.grad_fn

    @property
    def is_leaf(self) -> bool:
        return self._sp_values.is_leaf

    @property
    def grad(self):
        """The gradient as a sparse tensor on this tensor's pattern.

        Duplicate entries of an uncoalesced tensor stand for one element, so the gradient
        holds that element's gradient once (as PyTorch's does), not once per duplicate.
        """
        grad = self._sp_values.grad
        if grad is None:
            return None
        if self._sp_coalesced:
            return self._with_values(grad)
        with ember.no_grad():
            summed = self._with_values(grad).coalesce()
            counts = self._with_values(ember.ones_like(grad)).coalesce()._sp_values
        return summed._with_values(summed._sp_values / counts)

    @grad.setter
    def grad(self, value) -> None:
        if value is None:
            self._sp_values.grad = None
            return
        if not isinstance(value, SparseTensor):
            raise TypeError("the grad of a sparse tensor must be a sparse tensor or None")
        self._sp_values.grad = value._values_like(self)

    def _values_like(self, other: SparseTensor) -> Tensor:
        """These values, when the pattern equals ``other``'s (the gradient assignment case)."""
        if not bool((self._sp_indices == other._sp_indices).all()):
            raise RuntimeError("assigned sparse grad must have the same indices as the tensor")
        return self._sp_values

    def retain_grad(self) -> None:
        self._sp_values.retain_grad()

    def detach(self) -> SparseTensor:
        return self._with_values(self._sp_values.detach())

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        raise RuntimeError(
            "backward: call backward on a dense result (e.g. of sparse.mm or "
            "sparse.sum), not on a sparse tensor"
        )

    # -- the parts ---------------------------------------------------------------------------
    def _indices(self) -> Tensor:
        return self._sp_indices

    def _values(self) -> Tensor:
        return self._sp_values

    def indices(self) -> Tensor:
        if not self._sp_coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return self._sp_indices

    def values(self) -> Tensor:
        if not self._sp_coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        return self._sp_values

    def _nnz(self) -> int:
        return self._sp_values.shape[0]

    def sparse_dim(self) -> int:
        return self._sp_indices.shape[0]

    def dense_dim(self) -> int:
        return self._sp_values.dim() - 1

    def is_coalesced(self) -> bool:
        return self._sp_coalesced

    def _coalesced_(self, coalesced: bool) -> SparseTensor:
        self._sp_coalesced = bool(coalesced)
        return self

    def coalesce(self) -> SparseTensor:
        """Duplicates summed, indices sorted (lexicographically); gradients flow to the values."""
        if self._sp_coalesced:
            return self
        idx = self._sp_indices._data
        xp = self._sp_indices.xp
        sparse_shape = tuple(self._sp_size[: self.sparse_dim()])
        if idx.shape[1] == 0:
            return type(self)._from_parts(self._sp_indices, self._sp_values, self._sp_size, True)
        linear = xp.ravel_multi_index(tuple(idx), sparse_shape)
        unique, inverse = xp.unique(linear, return_inverse=True)
        indices = xp.stack(xp.unravel_index(unique, sparse_shape)).astype(xp.int64)
        values = self._sp_values
        summed = values.new_zeros((unique.shape[0],) + tuple(values.shape[1:]))
        summed = summed.index_add(0, make(inverse.reshape(-1).astype(xp.int64)), values)
        return type(self)._from_parts(make(indices), summed, self._sp_size, True)

    # -- conversions ----------------------------------------------------------------------
    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        """The dense tensor (duplicates summed); differentiable in the values."""
        values = self._sp_values if dtype is None else self._sp_values.to(dtype)
        shape = tuple(self._sp_size)
        return SparseToDense.apply(values, self._sp_indices._data, shape)

    def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
        if layout is None or layout is _layout.sparse_coo:
            return self
        if layout is _layout.sparse_csr:
            return self.to_sparse_csr()
        raise RuntimeError(f"to_sparse: layout {layout} is not supported (coo or csr)")

    def to_sparse_coo(self) -> SparseTensor:
        return self

    def to_sparse_csr(self, dense_dim=None):
        from ember.sparse.csr import coo_to_csr

        return coo_to_csr(self)

    def to(self, *args, **kwargs) -> SparseTensor:
        """``to(dtype)``, ``to(device)``: moves indices and values together."""
        values = self._sp_values.to(*args, **kwargs)
        indices = self._sp_indices.to(values.device)
        return type(self)._from_parts(indices, values, self._sp_size, self._sp_coalesced)

    def cpu(self) -> SparseTensor:
        return self.to("cpu")

    def cuda(self, device=None, non_blocking: bool = False) -> SparseTensor:
        return self.to("cuda" if device is None else device)

    def float(self) -> SparseTensor:
        return self.to(ember.float32)

    def double(self) -> SparseTensor:
        return self.to(ember.float64)

    def half(self) -> SparseTensor:
        return self.to(ember.float16)

    def type_as(self, other) -> SparseTensor:
        return self.to(other.dtype)

    def clone(self, memory_format=None) -> SparseTensor:
        return type(self)._from_parts(
            self._sp_indices.clone(), self._sp_values.clone(), self._sp_size, self._sp_coalesced
        )

    def __deepcopy__(self, memo) -> SparseTensor:
        if not self.is_leaf:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) "
                "support the deepcopy protocol; detach() first"
            )
        values = self._sp_values.detach().clone().requires_grad_(self.requires_grad)
        return type(self)._from_parts(self._sp_indices.clone(), values, self._sp_size, self._sp_coalesced)

    def __reduce_ex__(self, protocol):
        from ember.sparse.creation import sparse_coo_tensor

        values = self._sp_values.detach()
        return (
            _rebuild,
            (
                sparse_coo_tensor,
                self._sp_indices,
                values,
                tuple(self._sp_size),
                self.requires_grad,
                self._sp_coalesced,
                self.is_sparse_csr,
            ),
        )

    def numpy(self, force: bool = False):
        raise RuntimeError("numpy: sparse tensors have no NumPy view; call .to_dense() first")

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("ember: sparse tensors have no dense array; call .to_dense() first")

    # -- the ops sparse tensors support -------------------------------------------------------
    def t(self) -> SparseTensor:
        if self.dim() != 2 or self.dense_dim() != 0:
            raise RuntimeError(f"t: expects a 2-D sparse tensor, got size {list(self.shape)}")
        return self.transpose(0, 1)

    def transpose(self, dim0: int, dim1: int) -> SparseTensor:
        d0, d1 = self._wrap_dim(dim0, "transpose"), self._wrap_dim(dim1, "transpose")
        if max(d0, d1) >= self.sparse_dim():
            raise RuntimeError("transpose: only sparse dimensions of a sparse tensor can be transposed here")
        order = list(range(self.sparse_dim()))
        order[d0], order[d1] = order[d1], order[d0]
        size = list(self._sp_size)
        size[d0], size[d1] = size[d1], size[d0]
        indices = make(self._sp_indices._data[order])
        return type(self)._from_parts(indices, self._sp_values, size, False)

    def matmul(self, other):
        from ember.sparse.functional import mm

        return mm(self, other)

    mm = matmul

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        from ember.sparse.functional import mm

        return mm(other, self)

    def sum(self, dim=None, keepdim: bool = False, dtype=None):
        from ember.sparse.functional import sum as sparse_sum

        if keepdim:
            raise RuntimeError("sum: keepdim=True is not supported for sparse tensors")
        return sparse_sum(self, dim, dtype=dtype)

    def _elementwise(self, fn, op: str) -> SparseTensor:
        return self._with_values(fn(self._sp_values))

    def mul(self, other):
        if isinstance(other, SparseTensor):
            return (self.to_dense() * other.to_dense()).to_sparse()
        if isinstance(other, Tensor) and other.dim() > 0:
            return self._mul_dense(other)
        return self._with_values(self._sp_values * other)

    def _mul_dense(self, other: Tensor) -> SparseTensor:
        """``sparse * dense`` stays sparse: the dense factor is read at the nonzeros."""
        dense = other.expand(self.shape)
        coalesced = self.coalesce()
        key = tuple(make(row) for row in coalesced._sp_indices._data)
        return coalesced._with_values(coalesced._sp_values * dense[key])

    __mul__ = mul

    def __rmul__(self, other):
        return self.mul(other)

    def div(self, other):
        if isinstance(other, Tensor) and other.dim() > 0:
            raise RuntimeError("div: a sparse tensor can only be divided by a scalar")
        return self._with_values(self._sp_values / other)

    __truediv__ = div

    def __neg__(self):
        return self._with_values(-self._sp_values)

    def neg(self):
        return -self

    def add(self, other, *, alpha=1):
        if isinstance(other, SparseTensor):
            if other.shape != self.shape:
                raise RuntimeError(
                    f"add: sparse tensors of different sizes {list(self.shape)} and {list(other.shape)}"
                )
            indices = ember.cat([self._sp_indices, other._sp_indices.to(self.device)], 1)
            values = ember.cat([self._sp_values, other._sp_values * alpha], 0)
            return type(self)._from_parts(indices, values, self._sp_size, False)
        return self.to_dense() + other * alpha

    __add__ = add

    def __radd__(self, other):
        return self.add(other)

    def sub(self, other, *, alpha=1):
        return self.add(other, alpha=-alpha)

    __sub__ = sub

    def __rsub__(self, other):
        return (-self).add(other)

    def __len__(self) -> int:
        return self._sp_size[0]

    def __repr__(self) -> str:
        pad = " " * len("tensor(indices=")
        indices = repr(self._sp_indices).replace("\n", "\n" + pad)
        values = repr(self._sp_values).replace("\n", "\n" + " " * len("       values="))
        extras = f"size={tuple(self._sp_size)}, nnz={self._nnz()}"
        if self.dtype is not ember.get_default_dtype() and "dtype=" not in values:
            extras += f", dtype={self.dtype}"
        return (
            f"tensor(indices={indices},\n       values={values},\n       {extras}, layout={self._sp_layout})"
        )

    __str__ = __repr__


def _rebuild(build, indices, values, size, requires_grad, coalesced, csr):
    """Pickle support: the tensor from its parts."""
    out = build(indices, values, size, requires_grad=requires_grad, is_coalesced=coalesced)
    return out.to_sparse_csr() if csr else out
