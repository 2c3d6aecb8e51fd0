"""Shape and movement methods: reshape, view, expand, permute, ... (see ``ember.ops.movement``)."""

from __future__ import annotations

from ember.methods._util import normalize_dims, size_args, wrap_dim
from ember.ops import movement


def _infer_shape(shape, numel: int, op: str, src_shape) -> tuple:
    if -1 in shape:
        if shape.count(-1) > 1:
            raise RuntimeError(f"{op}: only one dimension can be inferred, got {list(shape)}")
        known = 1
        for s in shape:
            if s != -1:
                known *= s
        if known == 0 or numel % known:
            raise RuntimeError(f"{op}: shape {list(shape)} is invalid for input of size {numel} (shape {list(src_shape)})")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    total = 1
    for s in shape:
        total *= s
    if total != numel:
        raise RuntimeError(f"{op}: shape {list(shape)} is invalid for input of size {numel} (shape {list(src_shape)})")
    return shape


# Tensor methods that are also free functions: ember.<name>(t, ...) is t.<name>(...)
FUNCTIONS = ["reshape", "permute", "transpose", "swapaxes", "swapdims", "unsqueeze", "squeeze", "flatten", "t"]
__all__: list = []  # free functions defined here


class ShapeMethods:
    __slots__ = ()

    def reshape(self, *shape):
        shape = _infer_shape(size_args(shape, "reshape"), self._data.size, "reshape", self._data.shape)
        if shape == self._data.shape:
            return self
        return movement.Reshape.apply(self, shape)

    def view(self, *shape):
        if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)):
            return self.to(shape[0])  # view(dtype)
        shape = _infer_shape(size_args(shape, "view"), self._data.size, "view", self._data.shape)
        return movement.Reshape.apply(self, shape)

    def expand(self, *sizes):
        sizes = size_args(sizes, "expand")
        src = self._data.shape
        if len(sizes) < len(src):
            raise RuntimeError(
                f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
                f"the number of dimensions in the tensor ({len(src)})"
            )
        lead = len(sizes) - len(src)
        target = []
        for i, s in enumerate(sizes):
            old = src[i - lead] if i >= lead else None
            if s == -1:
                if old is None:
                    raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
                s = old
            elif old is not None and old != 1 and old != s:
                raise RuntimeError(
                    f"expand: the expanded size of the tensor ({s}) must match the existing size "
                    f"({old}) at non-singleton dimension {i}. Target sizes: {list(sizes)}. Tensor sizes: {list(src)}"
                )
            target.append(s)
        target = tuple(target)
        if target == src:
            return self
        return movement.Expand.apply(self, target)

    def expand_as(self, other):
        return self.expand(other.shape)

    def sum_to_size(self, *size):
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

    def permute(self, *dims):
        dims = size_args(dims, "permute")
        ndim = self._data.ndim
        if len(dims) != ndim:
            raise RuntimeError(
                f"permute: number of dims don't match: the tensor has {ndim} dims "
                f"(shape {list(self._data.shape)}) but {len(dims)} were given"
            )
        dims = tuple(wrap_dim(d, ndim, "permute") for d in dims)
        if len(set(dims)) != ndim:
            raise RuntimeError(f"permute: repeated dim in {list(dims)}")
        return movement.Permute.apply(self, dims)

    def transpose(self, dim0, dim1):
        ndim = self._data.ndim
        if ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
            return self
        d0, d1 = wrap_dim(dim0, ndim, "transpose"), wrap_dim(dim1, ndim, "transpose")
        dims = list(range(ndim))
        dims[d0], dims[d1] = dims[d1], dims[d0]
        return movement.Permute.apply(self, tuple(dims))

    swapaxes = swapdims = transpose

    def t(self):
        if self._data.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self._data.ndim}D")
        return self.transpose(0, 1) if self._data.ndim == 2 else self

    @property
    def T(self):  # noqa: N802 - PyTorch's name
        ndim = self._data.ndim
        return self if ndim < 2 else self.permute(tuple(range(ndim - 1, -1, -1)))

    @property
    def mT(self):  # noqa: N802
        if self._data.ndim < 2:
            raise RuntimeError(f"mT: tensor of shape {list(self._data.shape)} must have at least 2 dimensions")
        return self.transpose(-2, -1)

    def unsqueeze(self, dim: int):
        ndim = self._data.ndim + 1
        d = wrap_dim(dim, ndim, "unsqueeze")
        shape = list(self._data.shape)
        shape.insert(d, 1)
        return movement.Reshape.apply(self, tuple(shape))

    def squeeze(self, dim=None):
        shape = self._data.shape
        dims = normalize_dims(dim, len(shape), "squeeze") if len(shape) else ()
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
        if new == shape:
            return self
        return movement.Reshape.apply(self, new)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        shape = self._data.shape
        if not shape:
            return self.reshape(1)
        s = wrap_dim(start_dim, len(shape), "flatten")
        e = wrap_dim(end_dim, len(shape), "flatten")
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        n = 1
        for d in shape[s:e + 1]:
            n *= d
        return self.reshape(shape[:s] + (n,) + shape[e + 1:])
