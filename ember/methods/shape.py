"""Shape and movement methods: views, reorderings and splits (see ``ember.ops.movement``).

Views (``view``, ``reshape`` when the layout allows, ``squeeze``, ``permute``, ``narrow``,
``select``, ``unfold``, the pieces of ``split``/``chunk``/``unbind``, ...) share memory and the
version counter with their input, as in PyTorch; ``flip``, ``roll``, ``repeat`` and ``cat`` copy.
"""

from __future__ import annotations

import builtins
import numbers
from typing import TYPE_CHECKING

from ember import dtypes
from ember.methods._util import normalize_dims, size_args, wrap_dim
from ember.ops import convert, movement
from ember.tensor_core import make

if TYPE_CHECKING:
    from ember.tensor import Tensor

# Tensor methods that are also free functions: ember.<name>(t, ...) is t.<name>(...)
# fmt: off
FUNCTIONS = [
    "reshape", "permute", "transpose", "swapaxes", "swapdims", "unsqueeze", "squeeze", "flatten",
    "unflatten", "t", "movedim", "moveaxis", "broadcast_to", "repeat_interleave", "tile", "flip",
    "fliplr", "flipud", "roll", "narrow", "select", "diagonal", "tensor_split", "chunk", "unbind",
    "ravel",
]
# fmt: on
# free functions defined here (joining tensors lives in ember.methods.join)
__all__: list = ["split"]


def split(tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """``tensor.split(split_size_or_sections, dim)``."""
    return tensor.split(split_size_or_sections, dim)


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _infer_shape(shape, numel: int, op: str, src_shape) -> tuple:
    """``shape`` with its one ``-1`` filled in; an error unless it holds exactly ``numel`` elements."""
    if -1 in shape:
        if shape.count(-1) > 1:
            raise RuntimeError(f"{op}: only one dimension can be inferred, got {list(shape)}")
        known = _numel(s for s in shape if s != -1)
        if known == 0 or numel % known:
            raise RuntimeError(
                f"{op}: shape {list(shape)} is invalid for input of size {numel} (shape {list(src_shape)})"
            )
        shape = tuple(numel // known if s == -1 else s for s in shape)
    if any(s < 0 for s in shape) or _numel(shape) != numel:
        raise RuntimeError(
            f"{op}: shape {list(shape)} is invalid for input of size {numel} (shape {list(src_shape)})"
        )
    return shape


def _dims_arg(dims) -> tuple:
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    return tuple(int(d) for d in dims)


def _varargs_or_keyword(args: tuple, keyword, op: str, name: str) -> tuple:
    """Sizes or dims given as ``*args`` or as the keyword PyTorch also accepts (``dims=``)."""
    if keyword is None:
        return args
    if args:
        raise TypeError(f"{op}() got multiple values for argument '{name}'")
    return (keyword,)


def _one_of(op: str, **candidates):
    """The one argument given among aliases (``sections=``, ``indices=``, ...)."""
    given = [(k, v) for k, v in candidates.items() if v is not None]
    if len(given) != 1:
        raise TypeError(
            f"{op}() expects exactly one of {', '.join(candidates)}, got {[k for k, _ in given] or 'none'}"
        )
    return given[0][1]


class ShapeMethods:
    __slots__ = ()

    # -- views with a new shape ---------------------------------------------------------
    def _view(self, shape: tuple):
        """A view of ``shape``; None when the strides do not allow one."""
        a = self._data
        if not a.flags.c_contiguous and movement.view_strides(a.shape, a.strides, shape) is None:
            return None
        return movement.Reshape.apply(self, shape)

    def view(self, *shape, size=None, dtype=None) -> Tensor:
        """The same data with another shape; fails where the strides make a copy necessary."""
        shape = _varargs_or_keyword(shape, size if dtype is None else dtype, "view", "size")
        if len(shape) == 1 and not isinstance(shape[0], (numbers.Integral, tuple, list)):
            return self._view_dtype(shape[0])
        shape = _infer_shape(size_args(shape, "view"), self._data.size, "view", self._data.shape)
        out = self._view(shape)
        if out is None:
            raise RuntimeError(
                f"view size is not compatible with input tensor's size and stride (at least one "
                f"dimension spans across two contiguous subspaces): input shape "
                f"{list(self._data.shape)}, stride {list(self.stride())}, requested shape "
                f"{list(shape)}. Use .reshape(...) instead."
            )
        return out

    def _view_dtype(self, dtype):
        np_dtype = dtypes.as_dtype(dtype).np
        if np_dtype == self._data.dtype:
            return movement.Reshape.apply(self, self._data.shape)
        if np_dtype.itemsize != self._data.dtype.itemsize:
            raise RuntimeError(
                f"view(dtype): only dtypes of the same element size are supported, got "
                f"{self.dtype} ({self._data.dtype.itemsize} bytes) -> {dtype} ({np_dtype.itemsize} bytes)"
            )
        out = make(self._data.view(np_dtype), False, None, 0, self._version_counter())
        out._base = self._base if self._base is not None else self
        return out

    def view_as(self, other) -> Tensor:
        """``self.view(other.shape)``."""
        return self.view(other.shape)

    def reshape(self, *args, shape=None) -> Tensor:
        """A view with the new shape where the strides allow one, else a contiguous copy."""
        shape = _varargs_or_keyword(args, shape, "reshape", "shape")
        shape = _infer_shape(size_args(shape, "reshape"), self._data.size, "reshape", self._data.shape)
        out = self._view(shape)
        return out if out is not None else movement.Reshape.apply(self.contiguous(), shape)

    def reshape_as(self, other) -> Tensor:
        """``self.reshape(other.shape)``."""
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge dims ``start_dim..end_dim`` into one (a 0-d tensor becomes 1-d)."""
        shape = self._data.shape
        if not shape:
            return self.reshape(1)
        s = wrap_dim(start_dim, len(shape), "flatten")
        e = wrap_dim(end_dim, len(shape), "flatten")
        if s > e:
            raise RuntimeError(
                f"flatten: start_dim ({start_dim}) cannot come after end_dim ({end_dim}) for shape {list(shape)}"
            )
        return self.reshape(shape[:s] + (_numel(shape[s : e + 1]),) + shape[e + 1 :])

    def ravel(self) -> Tensor:
        """The elements as one dim: a view when contiguous, else a copy."""
        return self.reshape(-1)

    def unflatten(self, dim: int, sizes) -> Tensor:
        """Split dim ``dim`` into ``sizes`` (one entry may be -1)."""
        shape = self._data.shape
        d = wrap_dim(dim, len(shape), "unflatten")
        sizes = size_args(sizes, "unflatten")
        if not sizes:
            raise RuntimeError("unflatten: sizes must be non-empty")
        sizes = _infer_shape(sizes, shape[d], f"unflatten (dim {d})", shape)
        return self.view(shape[:d] + sizes + shape[d + 1 :])

    def unsqueeze(self, dim: int) -> Tensor:
        """A view with a new dim of size 1 at ``dim``."""
        d = wrap_dim(dim, self._data.ndim + 1, "unsqueeze")
        shape = list(self._data.shape)
        shape.insert(d, 1)
        return movement.Reshape.apply(self, tuple(shape))

    def squeeze(self, dim=None) -> Tensor:
        """A view without the size-1 dims (all of them, or those of ``dim``: an int or a tuple)."""
        shape = self._data.shape
        if dim is None:
            dims = range(len(shape))
        elif isinstance(dim, (tuple, list)) and not dim:
            dims = ()
        else:
            dims = normalize_dims(dim, len(shape), "squeeze")
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
        return movement.Reshape.apply(self, new)

    # -- broadcasting -------------------------------------------------------------------
    def expand(self, *sizes) -> Tensor:
        """A view repeating size-1 dims (and new leading dims) to ``sizes`` without copying."""
        sizes = size_args(sizes, "expand")
        src = self._data.shape
        if len(sizes) < len(src):
            raise RuntimeError(
                f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
                f"the number of dimensions in the tensor ({len(src)}, shape {list(src)})"
            )
        lead = len(sizes) - len(src)
        target = []
        for i, s in enumerate(sizes):
            old = src[i - lead] if i >= lead else None
            if s == -1:
                if old is None:
                    raise RuntimeError(
                        f"expand: -1 is not allowed in a leading, non-existing dimension {i} "
                        f"(sizes {list(sizes)}, tensor shape {list(src)})"
                    )
                s = old
            elif old is not None and old != 1 and old != s:
                raise RuntimeError(
                    f"expand: the expanded size of the tensor ({s}) must match the existing size "
                    f"({old}) at non-singleton dimension {i}. Target sizes: {list(sizes)}. "
                    f"Tensor sizes: {list(src)}"
                )
            elif s < 0:
                raise RuntimeError(f"expand: invalid size {s} at dimension {i} (sizes {list(sizes)})")
            target.append(s)
        return movement.Expand.apply(self, tuple(target))

    def expand_as(self, other) -> Tensor:
        """``self.expand(other.shape)``."""
        return self.expand(other.shape)

    def broadcast_to(self, *args, size=None) -> Tensor:
        """``self.expand(size)``."""
        return self.expand(*_varargs_or_keyword(args, size, "broadcast_to", "size"))

    def sum_to_size(self, *size) -> Tensor:
        """Sum over the dims that ``size`` broadcasts, giving a tensor of shape ``size``."""
        shape = size_args(size, "sum_to_size")
        own = self._data.shape
        if own == shape:
            return self
        lead = len(own) - len(shape)
        if lead < 0:
            raise RuntimeError(f"sum_to_size: size {list(shape)} is not expandable to size {list(own)}")
        dims = tuple(range(lead))
        for i, s in enumerate(shape):
            if s == 1 and own[lead + i] != 1:
                dims += (lead + i,)
            elif s != own[lead + i]:
                raise RuntimeError(f"sum_to_size: size {list(shape)} is not expandable to size {list(own)}")
        out = self.sum(dims, keepdim=True) if dims else self
        return out.reshape(shape)

    # -- reordering dims ----------------------------------------------------------------
    def permute(self, *args, dims=None) -> Tensor:
        """A view with the dims in the order ``dims``."""
        dims = size_args(_varargs_or_keyword(args, dims, "permute", "dims"), "permute")
        ndim = self._data.ndim
        if len(dims) != ndim:
            raise RuntimeError(
                f"permute: number of dims don't match: the tensor has {ndim} dims "
                f"(shape {list(self._data.shape)}) but {len(dims)} were given"
            )
        dims = tuple(wrap_dim(d, ndim, "permute") for d in dims)
        if len(set(dims)) != ndim:
            raise RuntimeError(f"permute: repeated dim in {list(dims)} (shape {list(self._data.shape)})")
        return movement.Permute.apply(self, dims)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """A view with dims ``dim0`` and ``dim1`` swapped."""
        ndim = self._data.ndim
        d0, d1 = wrap_dim(dim0, ndim, "transpose"), wrap_dim(dim1, ndim, "transpose")
        dims = list(range(ndim))
        if ndim:
            dims[d0], dims[d1] = dims[d1], dims[d0]
        return movement.Permute.apply(self, tuple(dims))

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        """``transpose(axis0, axis1)``."""
        return self.transpose(axis0, axis1)

    def swapdims(self, dim0: int, dim1: int) -> Tensor:
        """``transpose(dim0, dim1)``."""
        return self.transpose(dim0, dim1)

    def t(self) -> Tensor:
        """Transpose a tensor of at most 2 dims (0-d and 1-d come back as views of themselves)."""
        if self._data.ndim > 2:
            raise RuntimeError(
                f"t() expects a tensor with <= 2 dimensions, but self is {self._data.ndim}D "
                f"(shape {list(self._data.shape)}); use transpose(dim0, dim1) or .mT"
            )
        return self.transpose(0, -1)

    @property
    def T(self) -> Tensor:
        """All dims reversed (a view)."""
        return self.permute(tuple(range(self._data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        """The last two dims swapped (a view)."""
        if self._data.ndim < 2:
            raise RuntimeError(
                f"mT: tensor of shape {list(self._data.shape)} must have at least 2 dimensions"
            )
        return self.transpose(-2, -1)

    @property
    def H(self) -> Tensor:
        """The conjugate transpose of a matrix; the transpose, for real dtypes."""
        if self._data.ndim not in (0, 2):
            raise RuntimeError(
                f"tensor.H is only supported on matrices (2-D tensors). Got {self._data.ndim}-D "
                "tensor. For batches of matrices, consider using tensor.mH"
            )
        return self.T.conj()

    @property
    def mH(self) -> Tensor:
        """The last two dims swapped, conjugated; the same as ``mT`` for real dtypes."""
        return self.mT.conj()

    def movedim(self, source, destination) -> Tensor:
        """A view with dims ``source`` moved to positions ``destination``, the rest in order."""
        ndim = self._data.ndim
        src = (source,) if isinstance(source, numbers.Integral) else tuple(source)
        dst = (destination,) if isinstance(destination, numbers.Integral) else tuple(destination)
        if len(src) != len(dst):
            raise RuntimeError(
                f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
                f"contain the same number of dims as destination ({list(dst)} dims)"
            )
        src = [wrap_dim(d, ndim, "movedim") for d in src]
        dst = [wrap_dim(d, ndim, "movedim") for d in dst]
        if len(set(src)) != len(src) or len(set(dst)) != len(dst):
            raise RuntimeError(f"movedim: repeated dim in source {list(src)} or destination {list(dst)}")
        order = [None] * ndim
        for s, d in zip(src, dst):
            order[d] = s
        rest = iter(d for d in range(ndim) if d not in src)
        return self.permute(tuple(o if o is not None else next(rest) for o in order))

    moveaxis = movedim

    def contiguous(self, memory_format=None) -> Tensor:
        """Itself when already C-contiguous, else a C-contiguous copy."""
        return self if self._data.flags.c_contiguous else convert.Clone.apply(self)

    # -- slicing views ------------------------------------------------------------------
    def narrow(self, dim: int, start, length: int) -> Tensor:
        """A view of ``length`` entries from ``start`` along ``dim``."""
        shape = self._data.shape
        if not shape:
            raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
        d = wrap_dim(dim, len(shape), "narrow")
        start, length, n = int(start), int(length), shape[d]
        if not -n <= start <= n:
            raise IndexError(
                f"narrow: start ({start}) out of range for dimension {d} of size {n} (shape {list(shape)})"
            )
        if start < 0:
            start += n
        if length < 0 or start + length > n:
            raise RuntimeError(
                f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n}) "
                f"at dim {d} of shape {list(shape)}"
            )
        return movement.Slice.apply(self, (slice(None),) * d + (slice(start, start + length),))

    def select(self, dim: int, index: int) -> Tensor:
        """A view of entry ``index`` along ``dim``, without that dim."""
        shape = self._data.shape
        if not shape:
            raise IndexError("select() cannot be applied to a 0-dim tensor.")
        d = wrap_dim(dim, len(shape), "select")
        index = int(index)
        if not -shape[d] <= index < shape[d]:
            raise IndexError(
                f"select(): index {index} out of range for tensor of size {list(shape)} at dimension {d}"
            )
        return movement.Slice.apply(self, (slice(None),) * d + (index % shape[d],))

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        """A view of every window of ``size`` entries, ``step`` apart, along ``dimension``, as a last dim."""
        shape = self._data.shape
        d = wrap_dim(dimension, len(shape), "unfold")
        n = shape[d] if shape else 1
        if step <= 0:
            raise RuntimeError(f"unfold: step is {step} but must be > 0")
        if size < 0 or size > n:
            raise RuntimeError(
                f"unfold: maximum size for tensor at dimension {d} is {n} but size is {size} "
                f"(shape {list(shape)})"
            )
        if not shape:
            return self.reshape(1)
        return movement.Unfold.apply(self, d, int(size), int(step))

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """A view of the diagonal of each (dim1, dim2) plane, shifted by ``offset``, as a last dim."""
        ndim = self._data.ndim
        d1, d2 = wrap_dim(dim1, ndim, "diagonal"), wrap_dim(dim2, ndim, "diagonal")
        if ndim < 2 or d1 == d2:
            raise RuntimeError(
                f"diagonal: dim1 ({dim1}) and dim2 ({dim2}) must be two different dims of a tensor "
                f"with at least 2 dims, got shape {list(self._data.shape)}"
            )
        return movement.Diagonal.apply(self, int(offset), d1, d2)

    # -- splitting ----------------------------------------------------------------------
    def _split_sizes(self, sizes, dim: int) -> tuple:
        return movement.Split.apply(self, dim, tuple(sizes))

    def split(self, split_size_or_sections=None, dim: int = 0, *, split_size=None) -> tuple:
        """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the listed sizes."""
        split_size_or_sections = _one_of(
            "split", split_size_or_sections=split_size_or_sections, split_size=split_size
        )
        shape = self._data.shape
        if not shape:
            raise RuntimeError("split: expected a tensor with at least 1 dimension, got a 0-dim tensor")
        d = wrap_dim(dim, len(shape), "split")
        n = shape[d]
        if isinstance(split_size_or_sections, numbers.Integral):
            size = int(split_size_or_sections)
            if size < 0 or (size == 0 and n != 0):
                raise RuntimeError(f"split: split_size must be positive, got {size} (dim {d} of size {n})")
            sizes = [size] * (n // size) + ([n % size] if n % size else []) if size else [0]
        else:
            sizes = [int(s) for s in split_size_or_sections]
            if any(s < 0 for s in sizes) or sum(sizes) != n:
                raise RuntimeError(
                    f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                    f"at dimension {d}, shape {list(shape)}), but got split_sizes={sizes}"
                )
        return self._split_sizes(sizes or [n], d)

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        """At most ``chunks`` pieces of equal size (ceil(n / chunks)) along ``dim``, the last smaller."""
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        shape = self._data.shape
        if not shape:
            raise RuntimeError("chunk expects at least a 1-dimensional tensor")
        n = shape[wrap_dim(dim, len(shape), "chunk")]
        return self.split(-(-n // chunks), dim) if n else self.split([0] * chunks, dim)

    def tensor_split(
        self,
        indices_or_sections=None,
        dim: int = 0,
        *,
        sections=None,
        indices=None,
        tensor_indices_or_sections=None,
    ) -> tuple:
        """``sections`` near-equal pieces, or pieces cut before each listed index, along ``dim``."""
        indices_or_sections = _one_of(
            "tensor_split",
            indices_or_sections=indices_or_sections,
            sections=sections,
            indices=indices,
            tensor_indices_or_sections=tensor_indices_or_sections,
        )
        shape = self._data.shape
        if not shape:
            raise RuntimeError(
                "tensor_split expected at least a 1-dimensional tensor, but got a 0-dim tensor"
            )
        d = wrap_dim(dim, len(shape), "tensor_split")
        n = shape[d]
        spec = indices_or_sections
        if hasattr(spec, "tolist"):
            spec = spec.tolist()
        if isinstance(spec, numbers.Integral):
            if spec <= 0:
                raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got {spec}")
            q, r = divmod(n, spec)
            sizes = [q + 1] * r + [q] * (spec - r)
            return self._split_sizes(sizes, d)
        cuts = [builtins.min(builtins.max(int(i) + n if i < 0 else int(i), 0), n) for i in spec]
        starts, ends = [0] + cuts, cuts + [n]
        if all(a <= b for a, b in zip(starts, ends)):
            return self._split_sizes([b - a for a, b in zip(starts, ends)], d)
        return tuple(self.narrow(d, a, builtins.max(b - a, 0)) for a, b in zip(starts, ends))

    def unbind(self, dim: int = 0) -> tuple:
        """Every entry along ``dim`` as a view without that dim."""
        if not self._data.ndim:
            raise RuntimeError("unbind: dimension specified as 0 but tensor has no dimensions")
        d = wrap_dim(dim, self._data.ndim, "unbind")
        return movement.Unbind.apply(self, d)

    # -- copies -------------------------------------------------------------------------
    def flip(self, *args, dims=None) -> Tensor:
        """A copy with the order of entries reversed along ``dims``."""
        dims = _dims_arg(_varargs_or_keyword(args, dims, "flip", "dims"))
        ndim = self._data.ndim
        dims = normalize_dims(dims, ndim, "flip") if dims and ndim else ()
        return movement.Flip.apply(self, dims)

    def fliplr(self) -> Tensor:
        """Flip dim 1 (left/right) of a tensor with at least 2 dims."""
        if self._data.ndim < 2:
            raise RuntimeError(f"fliplr: Input must be >= 2-d, got shape {list(self._data.shape)}")
        return self.flip(1)

    def flipud(self) -> Tensor:
        """Flip dim 0 (up/down) of a tensor with at least 1 dim."""
        if self._data.ndim < 1:
            raise RuntimeError("flipud: Input must be >= 1-d, got a 0-d tensor")
        return self.flip(0)

    def roll(self, shifts, dims=None) -> Tensor:
        """Shift entries cyclically by ``shifts`` along ``dims`` (None: over the flattened tensor)."""
        shifts_t = (int(shifts),) if isinstance(shifts, numbers.Integral) else tuple(int(s) for s in shifts)
        if dims is None:
            if len(shifts_t) != 1:
                raise RuntimeError(f"roll: with dims=None, shifts must be a single int, got {list(shifts_t)}")
            return movement.Roll.apply(self, shifts_t[0], None)
        dims_t = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
        if len(shifts_t) != len(dims_t):
            raise RuntimeError(
                f"roll: shifts and dimensions must align. shifts: {len(shifts_t)}, dims: {len(dims_t)}"
            )
        dims_t = tuple(wrap_dim(d, self._data.ndim, "roll") for d in dims_t)
        if not self._data.ndim:
            return movement.Roll.apply(self, 0, None)
        return movement.Roll.apply(self, shifts_t, dims_t)

    def repeat(self, *sizes) -> Tensor:
        """Tile the tensor ``sizes[i]`` times along dim i (extra leading sizes add dims)."""
        sizes = size_args(sizes, "repeat")
        shape = self._data.shape
        if len(sizes) < len(shape):
            raise RuntimeError(
                f"repeat: Number of dimensions of repeat dims ({len(sizes)}) can not be smaller than "
                f"number of dimensions of tensor ({len(shape)}, shape {list(shape)})"
            )
        if any(r < 0 for r in sizes):
            raise RuntimeError(f"repeat: repeats can not be negative, got {list(sizes)}")
        shape = (1,) * (len(sizes) - len(shape)) + shape
        split = tuple(x for s in shape for x in (1, s))
        grown = tuple(x for r, s in zip(sizes, shape) for x in (r, s))
        out = self.reshape(split).expand(grown)
        return out.reshape(tuple(r * s for r, s in zip(sizes, shape)))

    def tile(self, *args, dims=None) -> Tensor:
        """``repeat`` with ``dims`` padded by leading ones to the tensor's number of dims."""
        dims = size_args(_varargs_or_keyword(args, dims, "tile", "dims"), "tile")
        return self.repeat((1,) * (self._data.ndim - len(dims)) + dims)

    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None) -> Tensor:
        """Repeat each entry along ``dim`` (None: of the flattened tensor) ``repeats`` times."""
        if repeats is None:  # ember.repeat_interleave(counts): indices repeated by counts
            counts = tuple(int(r) for r in self.tolist()) if self._data.ndim else (int(self.item()),)
            index = self.xp.arange(len(counts), dtype="int64")
            return make(self.xp.repeat(index, counts))
        src = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else wrap_dim(dim, src._data.ndim, "repeat_interleave")
        if not src._data.ndim:
            src = src.reshape(1)
        n = src._data.shape[d]
        if hasattr(repeats, "tolist"):
            if repeats._data.dtype.kind not in "iu":
                raise RuntimeError(
                    f"repeat_interleave: repeats must be an integer tensor, got {repeats.dtype}"
                )
            repeats = (
                repeats.tolist() if repeats._data.ndim and repeats._data.size != 1 else int(repeats.item())
            )
        if isinstance(repeats, numbers.Integral):
            repeats = (int(repeats),) * n
        repeats = tuple(int(r) for r in repeats)
        if len(repeats) != n:
            raise RuntimeError(
                f"repeat_interleave: repeats must have the same size as input along dim {d}, but got "
                f"repeats.size(0) = {len(repeats)} and input.size({d}) = {n} (shape {list(src.shape)})"
            )
        if any(r < 0 for r in repeats):
            raise RuntimeError(f"repeat_interleave: repeats can not be negative, got {list(repeats)}")
        if output_size is not None and output_size != sum(repeats):
            raise RuntimeError(
                f"repeat_interleave: output_size ({output_size}) must equal the sum of repeats ({sum(repeats)})"
            )
        return movement.RepeatInterleave.apply(src, repeats, d)
