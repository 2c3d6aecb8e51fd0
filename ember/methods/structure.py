"""Structural ops: differences, rotations, diagonals, scatters into views, strided views,
splits, in-place view ops and the ``*_copy`` twins of view ops.

Every value here is built from differentiable views and primitives (``ViewScatter`` writes a
source into a view of a copy), so gradients flow as in PyTorch.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

import numpy as np

from ember import dtypes
from ember.autograd.grad_mode import no_grad
from ember.creation import as_tensor
from ember.methods._util import normalize_dims, size_args, wrap_dim
from ember.methods.arithmetic import ArithmeticMethods
from ember.methods.elementwise import _inplace
from ember.methods.extra_math import INPLACE as _MATH_INPLACE
from ember.methods.join import _promote_all, cat, meshgrid, stack
from ember.methods.stats import INPLACE as _STATS_INPLACE
from ember.ops import views
from ember.tensor_core import TensorBase, _address, make

if TYPE_CHECKING:
    from ember.tensor import Tensor

FUNCTIONS = [
    "diff",
    "rot90",
    "diag_embed",
    "diagflat",
    "diagonal_scatter",
    "select_scatter",
    "slice_scatter",
    "as_strided",
    "as_strided_scatter",
    "narrow_copy",
    "split_with_sizes",
    "hsplit",
    "vsplit",
    "dsplit",
    "unsafe_chunk",
    "unsafe_split",
    "unsafe_split_with_sizes",
    "index_reduce",
    "put",
]
__all__ = [
    "block_diag",
    "cartesian_prod",
    "combinations",
    "cumulative_trapezoid",
    "gradient",
    "trapezoid",
    "trapz",
    "tril_indices",
    "triu_indices",
    "unravel_index",
    "vander",
]

# value ops whose in-place twin is ``x.op_(...) == x.copy_(x.op(...))``
_VALUE_INPLACE = (
    _MATH_INPLACE
    + _STATS_INPLACE
    + ["addbmm", "addmm", "addmv", "addr", "baddbmm", "cumprod", "cumsum", "scatter_reduce", "index_reduce"]
)
# PyTorch's top-level in-place functions: ``ember.abs_(x)`` is ``x.abs_()``
INPLACE_FUNCTIONS = [
    "abs_",
    "acos_",
    "acosh_",
    "addmv_",
    "arccos_",
    "arccosh_",
    "arcsin_",
    "arcsinh_",
    "arctan_",
    "arctanh_",
    "as_strided_",
    "asin_",
    "asinh_",
    "atan_",
    "atanh_",
    "ceil_",
    "clamp_max_",
    "clamp_min_",
    "cos_",
    "cosh_",
    "deg2rad_",
    "detach_",
    "erf_",
    "erfc_",
    "exp2_",
    "expm1_",
    "fix_",
    "floor_",
    "frac_",
    "gcd_",
    "index_put_",
    "lcm_",
    "ldexp_",
    "log10_",
    "log1p_",
    "log2_",
    "log_",
    "nan_to_num_",
    "neg_",
    "negative_",
    "rad2deg_",
    "reciprocal_",
    "round_",
    "rsqrt_",
    "sin_",
    "sinc_",
    "sinh_",
    "square_",
    "tan_",
    "trunc_",
    "xlogy_",
    "resize_as_",
]


def _scatter_into_view(input: Tensor, src, view_of, op: str) -> Tensor:
    """A copy of ``input`` whose view ``view_of(input)`` holds ``src`` (differentiable in both)."""
    base = input.contiguous()  # ViewScatter places the view by offset and strides in C order
    with no_grad():
        view = view_of(base.detach())
    if not isinstance(src, TensorBase) or tuple(src.shape) != tuple(view.shape):
        raise RuntimeError(
            f"{op}: expected src to have a size equal to the slice of self. src size = "
            f"{list(getattr(src, 'shape', []))}, slice size = {list(view.shape)}"
        )
    offset = _address(view._data) - _address(base._data)
    return views.ViewScatter.apply(
        base, src._cast(base._data.dtype), offset, view._data.shape, view._data.strides
    )


def _copied(result):
    if isinstance(result, (tuple, list)):
        return tuple(r.clone() for r in result)
    return result.clone()


class StructureMethods:
    __slots__ = ()

    def diff(self, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
        """The ``n``-th forward difference along ``dim`` (with ``prepend``/``append`` joined)."""
        d = wrap_dim(dim, self._data.ndim, "diff")
        parts = [
            p if p._data.ndim else p.expand(*self.shape[:d], 1, *self.shape[d + 1 :])
            for p in (prepend, self, append)
            if p is not None
        ]
        x = cat(parts, d) if len(parts) > 1 else self
        for _ in range(n):
            length = x.shape[d] - 1
            if length <= 0:
                return x.narrow(d, 0, 0)
            later, earlier = x.narrow(d, 1, length), x.narrow(d, 0, length)
            x = later.logical_xor(earlier) if x._data.dtype.kind == "b" else later - earlier
        return x

    def rot90(self, k: int = 1, dims=(0, 1)) -> Tensor:
        """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first towards the second."""
        if len(dims) != 2 or self._data.ndim < 2:
            raise RuntimeError(
                f"rot90: expected total rotation dims == 2 and total dims >= 2, "
                f"got dims {list(dims)} for shape {list(self.shape)}"
            )
        d0, d1 = (wrap_dim(d, self._data.ndim, "rot90") for d in dims)
        if d0 == d1:
            raise RuntimeError(f"rot90: expected rotation dims to be different, got {list(dims)}")
        k %= 4
        if k == 1:
            return self.flip(d1).transpose(d0, d1)
        if k == 2:
            return self.flip(d0, d1)
        if k == 3:
            return self.flip(d0).transpose(d0, d1)
        return self.clone()

    # -- diagonals --------------------------------------------------------------------------------
    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
        """The last dim of ``self`` placed on diagonals of new (dim1, dim2) planes."""
        ndim = self._data.ndim + 1
        d1, d2 = wrap_dim(dim1, ndim, "diag_embed"), wrap_dim(dim2, ndim, "diag_embed")
        if d1 == d2:
            raise RuntimeError(f"diag_embed: diagonal dimensions cannot be identical {dim1}, {dim2}")
        n = self.shape[-1] + abs(offset)
        shape = list(self.shape[:-1])
        for d in sorted((d1, d2)):
            shape.insert(d, n)
        return self.new_zeros(shape).diagonal_scatter(self, offset, d1, d2)

    def diagflat(self, offset: int = 0) -> Tensor:
        """A 2-D tensor with the flattened ``self`` on diagonal ``offset``."""
        return self.reshape(-1).diag(offset)

    def diagonal_scatter(self, src, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """A copy of ``self`` whose diagonal (as ``diagonal`` reads it) holds ``src``."""
        return _scatter_into_view(self, src, lambda t: t.diagonal(offset, dim1, dim2), "diagonal_scatter")

    def select_scatter(self, src, dim: int, index: int) -> Tensor:
        """A copy of ``self`` whose ``select(dim, index)`` holds ``src``."""
        return _scatter_into_view(self, src, lambda t: t.select(dim, index), "select_scatter")

    def slice_scatter(self, src, dim: int = 0, start=None, end=None, step: int = 1) -> Tensor:
        """A copy of ``self`` whose slice ``start:end:step`` along ``dim`` holds ``src``."""
        return _scatter_into_view(self, src, lambda t: _slice(t, dim, start, end, step), "slice_scatter")

    # -- strided views -----------------------------------------------------------------------------
    def as_strided(self, size, stride, storage_offset=None) -> Tensor:
        """A view with the given sizes and strides (in elements) over this tensor's elements.

        ember tensors own arrays, not storages: offsets count from this tensor's first element
        of its contiguous layout (which is PyTorch's meaning for a tensor that owns its storage).
        """
        base = self.contiguous()
        size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
        offset = int(storage_offset or 0)
        reach = offset + sum((s - 1) * st for s, st in zip(size, stride) if s > 0)
        if len(size) != len(stride) or (math.prod(size) and reach >= base.numel()):
            raise RuntimeError(
                f"as_strided: sizes {list(size)}, strides {list(stride)} and storage offset "
                f"{offset} reach element {reach}, out of bounds for a tensor of "
                f"{base.numel()} elements"
            )
        item = base._data.itemsize
        return views.StridedView.apply(base, offset * item, size, tuple(s * item for s in stride))

    def as_strided_scatter(self, src, size, stride, storage_offset=None) -> Tensor:
        """A copy of ``self`` whose ``as_strided(size, stride, storage_offset)`` view holds ``src``."""
        return _scatter_into_view(
            self, src, lambda t: t.as_strided(size, stride, storage_offset), "as_strided_scatter"
        )

    # -- splits ------------------------------------------------------------------------------------
    def narrow_copy(self, dim: int, start, length: int) -> Tensor:
        return self.narrow(dim, start, length).clone()

    def split_with_sizes(self, split_sizes, dim: int = 0) -> tuple:
        """Pieces of the listed sizes along ``dim`` (they must add up to the dim's size)."""
        d = wrap_dim(dim, self._data.ndim, "split_with_sizes")
        if sum(split_sizes) != self.shape[d]:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {self.shape[d]} (input "
                f"tensor's size at dimension {dim}), but got split_sizes={list(split_sizes)}"
            )
        return self.split(list(split_sizes), d)

    def _directional_split(self, sections, dim: int, least_ndim: int, op: str) -> tuple:
        if self._data.ndim < least_ndim:
            raise RuntimeError(
                f"{op} requires a tensor with at least {least_ndim} dimension, "
                f"but got a tensor with {self._data.ndim} dimensions!"
            )
        if isinstance(sections, int) and (sections == 0 or self.shape[dim] % sections):
            raise RuntimeError(
                f"{op} attempted to split along dimension {dim}, but the size of the dimension "
                f"{self.shape[dim]} is not divisible by the split_size {sections}!"
            )
        return self.tensor_split(sections, dim)

    def hsplit(self, sections=None, *, indices=None) -> tuple:
        dim = 1 if self._data.ndim > 1 else 0
        return self._directional_split(_either(sections, indices), dim, 1, "torch.hsplit")

    def vsplit(self, sections=None, *, indices=None) -> tuple:
        return self._directional_split(_either(sections, indices), 0, 2, "torch.vsplit")

    def dsplit(self, sections=None, *, indices=None) -> tuple:
        return self._directional_split(_either(sections, indices), 2, 3, "torch.dsplit")

    def unsafe_chunk(self, chunks: int, dim: int = 0) -> tuple:
        return self.chunk(chunks, dim)

    def unsafe_split(self, split_size, dim: int = 0) -> tuple:
        return self.split(split_size, dim)

    def unsafe_split_with_sizes(self, split_sizes, dim: int = 0) -> tuple:
        return self.split_with_sizes(split_sizes, dim)

    # -- writes by index ------------------------------------------------------------------------
    def fill_diagonal_(self, fill_value, wrap: bool = False) -> Tensor:
        """Fill the main diagonal in place (all dims equal, or 2-D with ``wrap`` for tall ones)."""
        shape = self.shape
        if len(shape) < 2 or (len(shape) > 2 and len(set(shape)) != 1):
            raise RuntimeError(
                f"fill_diagonal_: dimensions must larger than 1 and all of equal "
                f"length when more than 2 (got shape {list(shape)})"
            )
        mask = np.zeros(shape, dtype=bool)
        np.fill_diagonal(mask, True, wrap=wrap)
        return self.masked_fill_(make(self.xp.asarray(mask)), fill_value)

    def index_reduce(self, dim: int, index, source, reduce: str, *, include_self: bool = True):
        """Reduce (prod, mean, amax, amin) rows of ``source`` into the ``index`` rows along ``dim``."""
        if reduce not in ("prod", "mean", "amax", "amin"):
            raise RuntimeError(
                f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}."
            )
        d = wrap_dim(dim, max(source._data.ndim, 1), "index_reduce")
        view = [1] * source._data.ndim
        view[d] = -1
        expanded = index.reshape(view).expand(*source.shape) if view else index
        return self.scatter_reduce(d, expanded, source, reduce, include_self=include_self)

    def put(self, index, source, accumulate: bool = False) -> Tensor:
        """A copy with ``source`` written at the flat positions ``index``."""
        flat = self.reshape(-1).index_put((index.reshape(-1),), source.reshape(-1), accumulate)
        return flat.view(self.shape)

    def put_(self, index, source, accumulate: bool = False) -> Tensor:
        return self._set_from("put_", self.put(index, source, accumulate))

    # -- in-place view ops: the tensor takes the view's shape ---------------------------------------
    def _become_view(self, op: str, result: Tensor) -> Tensor:
        self._check_inplace(op)
        self._data = result._data
        if result.grad_fn is not None:
            self.grad_fn, self._output_nr = result.grad_fn, result._output_nr
        return self

    def unsqueeze_(self, dim: int) -> Tensor:
        return self._become_view("unsqueeze_", self.unsqueeze(dim))

    def squeeze_(self, dim=None) -> Tensor:
        return self._become_view("squeeze_", self.squeeze(dim))

    def transpose_(self, dim0: int, dim1: int) -> Tensor:
        return self._become_view("transpose_", self.transpose(dim0, dim1))

    def swapdims_(self, dim0: int, dim1: int) -> Tensor:
        return self.transpose_(dim0, dim1)

    def swapaxes_(self, axis0: int, axis1: int) -> Tensor:
        return self.transpose_(axis0, axis1)

    def t_(self) -> Tensor:
        return self._become_view("t_", self.t())

    def as_strided_(self, size, stride, storage_offset=None) -> Tensor:
        return self._become_view("as_strided_", self.as_strided(size, stride, storage_offset))

    divide_ = true_divide_ = ArithmeticMethods.div_
    multiply_ = ArithmeticMethods.mul_
    subtract_ = ArithmeticMethods.sub_
    negative_ = ArithmeticMethods.neg_


for _name in _VALUE_INPLACE:
    setattr(StructureMethods, _name + "_", _inplace(_name))


def _either(sections, indices):
    return indices if sections is None else sections


def _slice(t: Tensor, dim: int, start, end, step: int) -> Tensor:
    d = wrap_dim(dim, t._data.ndim, "slice")
    return t[(slice(None),) * d + (slice(start, end, step),)]


# -- free functions ------------------------------------------------------------------------------
def gradient(input, *, spacing=1, dim=None, edge_order: int = 1) -> tuple:
    """Central differences inside, one-sided at the edges, along each of ``dim`` (all dims)."""
    dims = (
        normalize_dims(dim, input._data.ndim, "gradient")
        if dim is not None
        else tuple(range(input._data.ndim))
    )
    if isinstance(dim, int):
        dims = (wrap_dim(dim, input._data.ndim, "gradient"),)
    spacings = list(spacing) if isinstance(spacing, (list, tuple)) else [spacing] * len(dims)
    if len(spacings) != len(dims):
        raise RuntimeError(
            f"torch.gradient expected spacing to be unspecified, a scalar or a "
            f"list of length {len(dims)}, got {len(spacings)} entries"
        )
    if edge_order not in (1, 2):
        raise RuntimeError(f"torch.gradient only supports edge_order=1 and edge_order=2, got {edge_order}")
    x = input if dtypes.is_floating_np(input._data.dtype) else input.to(dtypes.get_default_dtype())
    return tuple(_gradient_along(x, d, h, edge_order) for d, h in zip(dims, spacings))


def _gradient_along(x: Tensor, d: int, h, edge_order: int) -> Tensor:
    n = x.shape[d]
    if n < edge_order + 1:
        raise RuntimeError(
            f"torch.gradient expected each dimension size to be at least "
            f"edge_order+1 (got size {n} along dim {d})"
        )
    if isinstance(h, TensorBase):
        return _gradient_coordinates(x, d, h, edge_order)
    h = float(h.item() if isinstance(h, TensorBase) else h)
    f = [x.narrow(d, i, 1) for i in (0, 1, 2)] if n > 2 else [x.narrow(d, 0, 1), x.narrow(d, 1, 1)]
    g = [x.narrow(d, n - 1 - i, 1) for i in (0, 1, 2)] if n > 2 else [x.narrow(d, 1, 1), x.narrow(d, 0, 1)]
    if edge_order == 1:
        first, last = (f[1] - f[0]) / h, (g[0] - g[1]) / h
    else:
        first = (-1.5 * f[0] + 2 * f[1] - 0.5 * f[2]) / h
        last = (1.5 * g[0] - 2 * g[1] + 0.5 * g[2]) / h
    inner = (x.narrow(d, 2, n - 2) - x.narrow(d, 0, n - 2)) / (2 * h)
    return cat([first, inner, last], d)


def _gradient_coordinates(x: Tensor, d: int, coords: Tensor, edge_order: int) -> Tensor:
    if edge_order != 1:
        raise NotImplementedError("gradient: coordinate spacing supports edge_order=1 only")
    n = x.shape[d]
    shape = [1] * x._data.ndim
    shape[d] = -1
    c = coords.to(x.dtype).reshape(shape)
    step = c.diff(dim=d)
    hl, hr = step.narrow(d, 0, n - 2), step.narrow(d, 1, n - 2)
    left, mid, right = x.narrow(d, 0, n - 2), x.narrow(d, 1, n - 2), x.narrow(d, 2, n - 2)
    inner = (hl * hl * right - hr * hr * left + (hr * hr - hl * hl) * mid) / (hl * hr * (hl + hr))
    first = (x.narrow(d, 1, 1) - x.narrow(d, 0, 1)) / step.narrow(d, 0, 1)
    last = (x.narrow(d, n - 1, 1) - x.narrow(d, n - 2, 1)) / step.narrow(d, n - 2, 1)
    return cat([first, inner, last], d)


def block_diag(*tensors) -> Tensor:
    """The tensors (0-, 1- or 2-D) placed on the diagonal of a block matrix."""
    if not tensors:
        return make(np.zeros((1, 0), dtype=np.float32))
    mats = [t.reshape(1, -1) if t._data.ndim < 2 else t for t in _promote_all(list(tensors))]
    for t in mats:
        if t._data.ndim != 2:
            raise RuntimeError(
                f"torch.block_diag: Input tensors must have 2 or fewer dimensions. "
                f"Input has {t._data.ndim} dimensions"
            )
    width = sum(t.shape[1] for t in mats)
    rows, left = [], 0
    for t in mats:
        r, c = t.shape
        rows.append(cat([t.new_zeros((r, left)), t, t.new_zeros((r, width - left - c))], 1))
        left += c
    return cat(rows, 0)


def cartesian_prod(*tensors) -> Tensor:
    """All combinations of one element from each 1-D tensor, as rows."""
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def combinations(input, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-``r`` combinations of a 1-D tensor's elements, as rows."""
    if input._data.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    index = list(pick(range(input.shape[0]), r))
    if not index or r == 0:
        return input.new_empty((0,) if r == 0 else (0, r))
    idx = make(input.xp.asarray(index, dtype=np.int64))
    return input[idx]


def _triangle_indices(op, np_fn, row, col, offset, dtype, device) -> Tensor:
    rows, cols = np_fn(int(row), int(offset), int(col))
    array = np.stack([rows, cols]).astype(dtypes.as_dtype(dtype or dtypes.int64).np)
    return as_tensor(array, device=device)


def tril_indices(
    row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None, pin_memory: bool = False
) -> Tensor:
    """The (row, col) indices of the lower triangle of a row x col matrix, as 2 rows."""
    return _triangle_indices("tril_indices", np.tril_indices, row, col, offset, dtype, device)


def triu_indices(
    row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None, pin_memory: bool = False
) -> Tensor:
    """The (row, col) indices of the upper triangle of a row x col matrix, as 2 rows."""
    return _triangle_indices("triu_indices", np.triu_indices, row, col, offset, dtype, device)


def _trapezoid_areas(y, x, dx, dim):
    d = wrap_dim(dim, y._data.ndim, "trapezoid")
    n = y.shape[d]
    if n == 0:
        return y.narrow(d, 0, 0)
    mean_heights = (y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)) / 2
    if x is None:
        return mean_heights * (1 if dx is None else dx)
    widths = x.diff(dim=-1 if x._data.ndim == 1 else d)
    if x._data.ndim == 1:
        shape = [1] * y._data.ndim
        shape[d] = -1
        widths = widths.reshape(shape)
    return mean_heights * widths


def trapezoid(y, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The trapezoid rule along ``dim``, with sample points ``x`` or spacing ``dx``."""
    if x is not None and not isinstance(x, TensorBase):
        x, dx = None, x  # trapezoid(y, dx) positionally
    return _trapezoid_areas(y, x, dx, dim).sum(dim)


trapz = trapezoid


def cumulative_trapezoid(y, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The running trapezoid rule along ``dim`` (one fewer element)."""
    if x is not None and not isinstance(x, TensorBase):
        x, dx = None, x
    return _trapezoid_areas(y, x, dx, dim).cumsum(dim)


def vander(x, N=None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of a 1-D tensor: columns are powers of ``x``."""
    if x._data.ndim != 1:
        raise RuntimeError(f"x must be a one-dimensional tensor, got shape {list(x.shape)}")
    n = x.shape[0] if N is None else int(N)
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    base = x if x._data.dtype.kind in "iu" or dtypes.is_floating_np(x._data.dtype) else x.long()
    columns = [base.pow(k) if k else base.new_ones(base.shape) for k in range(n)]
    if not columns:
        return base.new_empty((x.shape[0], 0))
    out = stack(columns, 1)
    return out if increasing else out.flip(1)


def unravel_index(indices, shape) -> tuple:
    """Flat indices as a tuple of coordinate tensors for ``shape``."""
    shape = size_args((shape,) if isinstance(shape, int) else shape, "unravel_index")
    is_tensor = isinstance(indices, TensorBase)
    flat = np.asarray(indices.tolist() if is_tensor else indices)
    if flat.dtype.kind not in "iu":
        raise TypeError(f"expected 'indices' to be integer dtype, but got {flat.dtype}")
    total = math.prod(shape)
    if flat.size and (flat.min() < -total or flat.max() >= total):
        raise RuntimeError(f"unravel_index: indices out of bounds for shape {list(shape)}")
    coords = np.unravel_index(np.where(flat < 0, flat + total, flat), shape)
    return tuple(make(np.asarray(c, dtype=np.int64)) for c in coords)


# -- the *_copy twins of view ops ------------------------------------------------------------
_COPY_OF = {
    "view_copy": "view",
    "permute_copy": "permute",
    "expand_copy": "expand",
    "transpose_copy": "transpose",
    "t_copy": "t",
    "squeeze_copy": "squeeze",
    "unsqueeze_copy": "unsqueeze",
    "select_copy": "select",
    "diagonal_copy": "diagonal",
    "as_strided_copy": "as_strided",
    "detach_copy": "detach",
    "alias_copy": "view_as",
    "split_copy": "split",
    "split_with_sizes_copy": "split_with_sizes",
    "unbind_copy": "unbind",
    "unfold_copy": "unfold",
}


def _copy_function(name: str, view: str):
    def function(input, *args, **kwargs):
        if view == "view_as":
            return input.clone()
        return _copied(getattr(input, view)(*args, **kwargs))

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``{view}`` as a new tensor instead of a view."
    return function


for _copy_name, _view_name in _COPY_OF.items():
    globals()[_copy_name] = _copy_function(_copy_name, _view_name)
    __all__.append(_copy_name)


def slice_copy(input, dim: int = 0, start=None, end=None, step: int = 1) -> Tensor:
    """``input[..., start:end:step, ...]`` along ``dim``, as a new tensor."""
    return _slice(input, dim, start, end, step).clone()


__all__.append("slice_copy")
