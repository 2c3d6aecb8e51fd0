"""Matrix products and friends: mm, bmm, mv, dot, outer, einsum, tensordot, addmm, ... (see ``ember.ops.linalg``)."""

from __future__ import annotations

import string

from ember import dtypes
from ember.amp.autocast_mode import STATE as autocast_state
from ember.amp.autocast_mode import autocast_to, cast_inputs
from ember.layouts import strided
from ember.methods._util import mixed_dtypes_message
from ember.methods.decompositions import DecompositionMethods, lu_unpack, pca_lowrank, svd_lowrank, vander
from ember.ops import linalg

# Tensor methods that are also free functions: ember.<name>(t, ...) is t.<name>(...)
FUNCTIONS = [
    "mm",
    "bmm",
    "mv",
    "dot",
    "vdot",
    "inner",
    "outer",
    "ger",
    "addmm",
    "addmv",
    "addbmm",
    "baddbmm",
    "addr",
    "kron",
    "matrix_power",
    "trace",
    "diag",
    "det",
    "logdet",
    "slogdet",
    "inverse",
    "pinverse",
    "svd",
    "qr",
    "cholesky",
    "cholesky_solve",
    "cholesky_inverse",
    "lu_solve",
    "triangular_solve",
    "matrix_exp",
    "cross",
    "orgqr",
    "ormqr",
    "geqrf",
    "lu",
]
__all__: list = [
    "chain_matmul",
    "einsum",
    "lu_unpack",
    "pca_lowrank",
    "svd_lowrank",
    "tensordot",
    "vander",
]  # free functions defined here (or in ember.methods.decompositions)


def _shapes(*tensors) -> str:
    return " and ".join(str(list(t.shape)) for t in tensors)


def _common(op: str, *tensors):
    """The operands cast to their common (PyTorch-promoted) dtype; non-Tensors are rejected."""
    for t in tensors:
        if not hasattr(t, "_data"):
            raise TypeError(f"{op}: expected Tensor operands, got {type(t).__name__}")
    target = dtypes.result_type(*tensors).np
    return tuple(t._cast(target) for t in tensors)


def _same(op: str, *tensors, primitive=linalg.MatMul):
    """The operands as they are, once they are Tensors of one dtype: matrix products do not
    promote (PyTorch refuses ``float32 @ float64``), so a float64 batch never silently turns a
    float32 model's products into float64 ones."""
    for t in tensors:
        if not hasattr(t, "_data"):
            raise TypeError(f"{op}: expected Tensor operands, got {type(t).__name__}")
    if autocast_state.active:  # the region's casts come first, as in the primitive
        tensors = cast_inputs(primitive, tensors)
    first = tensors[0]._data.dtype
    if any(t._data.dtype != first for t in tensors[1:]):
        raise RuntimeError(mixed_dtypes_message(op, *tensors))
    return tensors


def _need_ndim(op: str, ndims: tuple, *tensors) -> None:
    if tuple(t._data.ndim for t in tensors) != ndims:
        wanted = " and ".join(f"{n}-D" for n in ndims)
        raise RuntimeError(f"{op}: expected {wanted} tensors, got shapes {_shapes(*tensors)}")


def _need_equal(op: str, a, b, k_a: int, k_b: int, what: str = "cannot be multiplied") -> None:
    if k_a != k_b:
        raise RuntimeError(f"{op}: shapes {list(a.shape)} and {list(b.shape)} {what} ({k_a} != {k_b})")


def _scaled_sum(op: str, input, product, beta, alpha):
    """``beta * input + alpha * product``; ``input`` must broadcast to the product's shape."""
    shape = tuple(product.shape)
    try:
        ok = _broadcast(tuple(input.shape), shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(
            f"{op}: input of shape {list(input.shape)} does not broadcast to the product's shape "
            f"{list(shape)}"
        )
    if alpha != 1:
        product = product * alpha
    if beta == 0:  # PyTorch ignores input here, even NaN or inf
        return product
    return product + (input if beta == 1 else input * beta)


def _broadcast(a: tuple, b: tuple) -> tuple:
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and 1 not in (x, y):
            raise ValueError("shapes do not broadcast")
        out.append(max(x, y) if 0 not in (x, y) else 0)
    return tuple(reversed(out))


class LinalgMethods(DecompositionMethods):
    __slots__ = ()

    def mm(self, mat2):
        """Matrix product of two 2-D tensors (no broadcasting)."""
        if self.layout is not strided or getattr(mat2, "layout", strided) is not strided:
            return self._sparse_matmul(mat2)
        a, b = _same("mm", self, mat2)
        _need_ndim("mm", (2, 2), a, b)
        _need_equal("mm", a, b, a.shape[1], b.shape[0])
        return linalg.MatMul.apply(a, b)

    def bmm(self, mat2):
        """Batched matrix product of (b, n, m) and (b, m, p) tensors (no broadcasting)."""
        a, b = _same("bmm", self, mat2)
        _need_ndim("bmm", (3, 3), a, b)
        _need_equal("bmm", a, b, a.shape[0], b.shape[0], "have different batch sizes")
        _need_equal("bmm", a, b, a.shape[2], b.shape[1])
        return linalg.MatMul.apply(a, b)

    def mv(self, vec):
        """Matrix-vector product of a 2-D and a 1-D tensor."""
        a, b = _same("mv", self, vec)
        _need_ndim("mv", (2, 1), a, b)
        _need_equal("mv", a, b, a.shape[1], b.shape[0])
        return linalg.MatMul.apply(a, b)

    def dot(self, tensor):
        """Inner product of two 1-D tensors of the same length."""
        a, b = _same("dot", self, tensor)
        _need_ndim("dot", (1, 1), a, b)
        _need_equal("dot", a, b, a.shape[0], b.shape[0], "have different lengths")
        return linalg.MatMul.apply(a, b)

    def vdot(self, other):
        """``dot`` of the conjugate of ``self`` (the same for real tensors)."""
        return self.dot(other)

    def inner(self, other):
        """Sum of products over the last dims; a 0-d operand scales the other."""
        a, b = _same("inner", self, other)
        if a._data.ndim == 0 or b._data.ndim == 0:
            return a * b
        _need_equal("inner", a, b, a.shape[-1], b.shape[-1], "have different last dims")
        return tensordot(a, b, ([-1], [-1]))

    def outer(self, vec2):
        """Outer product of two 1-D tensors: ``out[i, j] = self[i] * vec2[j]``."""
        a, b = _common("outer", self, vec2)
        _need_ndim("outer", (1, 1), a, b)
        return a.unsqueeze(1) * b

    ger = outer

    @autocast_to("lower")
    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        """``beta * self + alpha * (mat1 @ mat2)``."""
        _same("addmm", self, mat1, mat2)
        return _scaled_sum("addmm", self, mat1.mm(mat2), beta, alpha)

    @autocast_to("lower")
    def addmv(self, mat, vec, *, beta=1, alpha=1):
        """``beta * self + alpha * (mat @ vec)``."""
        _same("addmv", self, mat, vec)
        return _scaled_sum("addmv", self, mat.mv(vec), beta, alpha)

    @autocast_to("lower")
    def addr(self, vec1, vec2, *, beta=1, alpha=1):
        """``beta * self + alpha * outer(vec1, vec2)``."""
        return _scaled_sum("addr", self, vec1.outer(vec2), beta, alpha)

    @autocast_to("lower")
    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        """``beta * self + alpha * bmm(batch1, batch2)``."""
        _same("baddbmm", self, batch1, batch2)
        return _scaled_sum("baddbmm", self, batch1.bmm(batch2), beta, alpha)

    @autocast_to("lower")
    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        """``beta * self + alpha * sum_b(batch1[b] @ batch2[b])``."""
        _same("addbmm", self, batch1, batch2)
        return _scaled_sum("addbmm", self, batch1.bmm(batch2).sum(0), beta, alpha)

    def kron(self, other):
        """Kronecker product: blocks ``self[i] * other`` laid out over a grid of ``self``'s shape."""
        a, b = _common("kron", self, other)
        nd = max(a._data.ndim, b._data.ndim)
        sa = (1,) * (nd - a._data.ndim) + tuple(a.shape)
        sb = (1,) * (nd - b._data.ndim) + tuple(b.shape)
        left = a.reshape(tuple(x for s in sa for x in (s, 1)))
        right = b.reshape(tuple(x for s in sb for x in (1, s)))
        return (left * right).reshape(tuple(x * y for x, y in zip(sa, sb)))

    def matrix_power(self, n: int):
        """``self @ self @ ... (n times)`` for square matrices (batches allowed); n >= 0."""
        shape = tuple(self.shape)
        if len(shape) < 2 or shape[-1] != shape[-2]:
            raise RuntimeError(
                f"matrix_power: expected a (batch of) square matrices, got shape {list(shape)}"
            )
        if n < 0:
            return self.inverse().matrix_power(-n)
        if n == 0:
            xp = self.xp
            eye = xp.broadcast_to(xp.eye(shape[-1], dtype=self._data.dtype), shape).copy()
            return self._wrap_like(eye)
        result, base = None, self
        while n:  # square-and-multiply
            if n & 1:
                result = base if result is None else result.matmul(base)
            n >>= 1
            if n:
                base = base.matmul(base)
        return result

    def diag(self, diagonal: int = 0):
        """1-D: a matrix with ``self`` on the given diagonal. 2-D: that diagonal, as 1-D."""
        if self._data.ndim not in (1, 2):
            raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got shape {list(self.shape)}")
        return linalg.Diag.apply(self, int(diagonal))

    def trace(self):
        """Sum of the main diagonal of a 2-D tensor (ints give int64)."""
        if self._data.ndim != 2:
            raise RuntimeError(f"trace: expected a 2-D tensor, got shape {list(self.shape)}")
        return self.diag().sum()


# -- einsum ---------------------------------------------------------------------------------


def einsum(equation: str, *operands):
    """Sum of products over the labels that ``equation`` contracts (NumPy's and PyTorch's einsum).

    >>> import ember
    >>> a, b = ember.ones(2, 3), ember.ones(3, 4)
    >>> ember.einsum("ij,jk->ik", a, b).shape
    ember.Size([2, 4])
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = _same("einsum", *operands, primitive=linalg.Einsum) if operands else operands
    terms, out = _parse_einsum(equation, operands)
    sizes = _label_sizes(equation, terms, operands)
    expanded = []
    for term, op in zip(terms, operands):
        full = tuple(sizes[c] for c in term)
        expanded.append(op if tuple(op.shape) == full else op.expand(full))
    return linalg.Einsum.apply(",".join(terms) + "->" + out, *expanded)


def _parse_einsum(equation: str, operands) -> tuple:
    """Explicit subscripts per operand and for the output, with ``...`` spelled out as letters."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError(
            f"einsum(): the equation {equation!r} has {len(terms)} operand(s) but "
            f"{len(operands)} tensor(s) were given"
        )
    letters = {c for c in eq if c.isalpha()}
    bad = set(eq) - letters - set(",.->")
    if bad:
        raise RuntimeError(
            f"einsum(): invalid subscript(s) {sorted(bad)} in {equation!r}; use letters a-z, A-Z"
        )
    spare = [c for c in string.ascii_letters if c not in letters]
    ell_dims = []
    for term, op in zip(terms, operands):
        named = len(term.replace("...", ""))
        ndim = op._data.ndim
        if ("..." in term and ndim < named) or ("..." not in term and ndim != named):
            raise RuntimeError(
                f"einsum(): the subscripts {term!r} do not fit an operand of shape {list(op.shape)}"
            )
        ell_dims.append(ndim - named if "..." in term else 0)
    ell = "".join(spare[: max(ell_dims, default=0)])
    terms = [t.replace("...", ell[len(ell) - n :] if n else "") for t, n in zip(terms, ell_dims)]
    if not arrow:
        counts = "".join(terms)
        out = ell + "".join(sorted(c for c in letters if counts.count(c) == 1))
    else:
        out = out.replace("...", ell)
        if len(set(out)) != len(out) or not set(out) <= set("".join(terms)):
            raise RuntimeError(
                f"einsum(): output subscripts {out!r} must be distinct and each appear in an input"
            )
    return terms, out


def _label_sizes(equation: str, terms, operands) -> dict:
    sizes = {}
    for term, op in zip(terms, operands):
        for c, n in zip(term, op.shape):
            known = sizes.get(c, 1)
            if n != known and known != 1 and n != 1:
                raise RuntimeError(
                    f"einsum(): {equation!r}: label {c!r} has size {n} in operand of shape "
                    f"{list(op.shape)} but size {known} elsewhere (shapes {_shapes(*operands)})"
                )
            sizes[c] = max(n, known) if n and known else 0
    return sizes


def tensordot(a, b, dims=2):
    """Contract ``dims`` (an int: last of a with first of b; or two lists of dims) of a and b."""
    a, b = _same("tensordot", a, b, primitive=linalg.Einsum)
    if isinstance(dims, int):
        if dims < 0 or dims > min(a._data.ndim, b._data.ndim):
            raise RuntimeError(f"tensordot: dims={dims} out of range for shapes {_shapes(a, b)}")
        dims_a = list(range(a._data.ndim - dims, a._data.ndim))
        dims_b = list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
        dims_a = [d % max(a._data.ndim, 1) for d in dims_a]
        dims_b = [d % max(b._data.ndim, 1) for d in dims_b]
    if len(dims_a) != len(dims_b):
        raise RuntimeError(f"tensordot: both sides need the same number of dims, got {dims_a} and {dims_b}")
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(
                f"tensordot: contracted dimension {da} of {list(a.shape)} and {db} of "
                f"{list(b.shape)} differ ({a.shape[da]} != {b.shape[db]})"
            )
    letters = iter(string.ascii_letters)
    ta = [next(letters) for _ in range(a._data.ndim)]
    tb = [next(letters) for _ in range(b._data.ndim)]
    for da, db in zip(dims_a, dims_b):
        tb[db] = ta[da]
    out = [c for i, c in enumerate(ta) if i not in dims_a] + [c for i, c in enumerate(tb) if i not in dims_b]
    return linalg.Einsum.apply("".join(ta) + "," + "".join(tb) + "->" + "".join(out), a, b)


def chain_matmul(*matrices):
    """The product of 2-D matrices, left to right."""
    result = matrices[0]
    for m in matrices[1:]:
        result = result.mm(m)
    return result
