"""Building sparse COO tensors: ``sparse_coo_tensor`` and dense -> sparse."""

from __future__ import annotations

import ember
from ember.methods._out import with_out
from ember.sparse.tensor import SparseTensor
from ember.tensor import Tensor, make

__all__ = ["check_sparse_tensor_invariants", "dense_to_sparse", "sparse_coo_tensor", "spdiags"]


def _as_values(values, dtype, device, requires_grad: bool) -> Tensor:
    if isinstance(values, Tensor):
        if dtype is not None:
            values = values.to(dtype)
    else:
        values = ember.as_tensor(values, dtype=dtype)
    if device is not None:
        values = values.to(device)
    if requires_grad:
        values = values.detach().requires_grad_(True)
    return values


def _check_indices(indices: Tensor, values: Tensor, size) -> None:
    if indices.dim() != 2:
        raise RuntimeError(
            f"sparse_coo_tensor: indices must be sparse_dim x nnz, but got: {list(indices.shape)}"
        )
    if indices.shape[1] != values.shape[0]:
        raise RuntimeError(
            f"sparse_coo_tensor: indices and values must have same nnz, but got "
            f"nnz from indices: {indices.shape[1]}, nnz from values: "
            f"{values.shape[0]}"
        )
    sparse_dim, dense_dim = indices.shape[0], values.dim() - 1
    if len(size) != sparse_dim + dense_dim:
        raise RuntimeError(
            f"sparse_coo_tensor: number of dimensions must be sparse_dim "
            f"({sparse_dim}) + dense_dim ({dense_dim}), but got {len(size)}"
        )
    if tuple(size[sparse_dim:]) != tuple(values.shape[1:]):
        raise RuntimeError(
            f"sparse_coo_tensor: values has incorrect size, expected "
            f"{[values.shape[0], *size[sparse_dim:]]}, got {list(values.shape)}"
        )
    if indices.shape[1] == 0:
        return
    low, high = indices.min(1)[0].tolist(), indices.max(1)[0].tolist()
    for d in range(sparse_dim):
        if low[d] < 0:
            raise RuntimeError(f"sparse_coo_tensor: found negative index {low[d]} for dim {d}")
        if high[d] >= size[d]:
            raise RuntimeError(
                f"sparse_coo_tensor: size is inconsistent with indices: for dim "
                f"{d}, size is {size[d]} but found index {high[d]}"
            )


def check_layout(op: str, layout, expected) -> None:
    """A sparse constructor's ``layout=``: None or its own layout, else PyTorch's RuntimeError."""
    if layout is not None and layout is not expected:
        raise RuntimeError(f"{op}: layout must be {expected} but got {layout}")


def sparse_coo_tensor(
    indices,
    values,
    size=None,
    *,
    dtype=None,
    layout=None,
    device=None,
    pin_memory: bool = False,
    requires_grad: bool = False,
    check_invariants=None,
    is_coalesced=None,
) -> SparseTensor:
    """A sparse COO tensor with ``values[k]`` at ``indices[:, k]`` (duplicates add up).

    ``layout``, if given, must be ``ember.sparse_coo``; ``out=`` (a sparse tensor) takes the
    result, as ATen's ``sparse_coo_tensor.out`` does; ``pin_memory`` is accepted and ignored.

    >>> import ember
    >>> s = ember.sparse_coo_tensor([[0, 1, 1], [2, 0, 2]], [3.0, 4.0, 5.0], (2, 3))
    >>> s.to_dense()
    tensor([[0., 0., 3.],
            [4., 0., 5.]])
    """
    from ember import layouts

    check_layout("sparse_coo_tensor", layout, layouts.sparse_coo)
    values = _as_values(values, dtype, device, requires_grad)
    if isinstance(indices, Tensor):
        if indices.dtype not in (ember.int64, ember.int32, ember.int16, ember.int8, ember.uint8):
            raise RuntimeError(f"sparse_coo_tensor: indices must be an int64 tensor, got {indices.dtype}")
        indices = indices.long()
    else:
        indices = ember.as_tensor(indices, dtype=ember.int64)
    if indices.dim() == 1 and indices.numel() == 0:
        indices = indices.reshape(1, 0)
    indices = indices.detach().to(values.device)
    if size is None:
        counts = (indices.max(1)[0] + 1).tolist() if indices.shape[1] else [0] * indices.shape[0]
        size = tuple(counts) + tuple(values.shape[1:])
    size = tuple(int(s) for s in size)
    _check_indices(indices, values, size)
    return SparseTensor._from_parts(indices, values, size, bool(is_coalesced))


sparse_coo_tensor = with_out(sparse_coo_tensor)


def dense_to_sparse(dense: Tensor, sparse_dim: int | None = None) -> SparseTensor:
    """The nonzeros of ``dense`` as a coalesced COO tensor; gradients flow back to ``dense``."""
    sparse_dim = dense.dim() if sparse_dim is None else int(sparse_dim)
    if not 0 < sparse_dim <= dense.dim():
        raise RuntimeError(
            f"to_sparse: sparse_dim {sparse_dim} must be in [1, {dense.dim()}] "
            f"for a tensor of shape {list(dense.shape)}"
        )
    xp = dense.xp
    data = dense._data
    mask = data != 0
    if sparse_dim < dense.dim():
        mask = mask.reshape(data.shape[:sparse_dim] + (-1,)).any(-1)
    coords = xp.stack(xp.nonzero(mask)).astype(xp.int64).reshape(sparse_dim, -1)
    key = tuple(make(row) for row in coords)
    values = dense[key]
    return SparseTensor._from_parts(make(coords), values, dense.shape, True)


def spdiags(diagonals, offsets, shape, layout=None) -> SparseTensor:
    """A sparse matrix with the rows of ``diagonals`` on the diagonals ``offsets``:
    ``diagonals[k, j]`` goes to ``(j - offsets[k], j)`` (SciPy's ``spdiags`` convention).

    >>> import ember
    >>> spdiags(ember.tensor([[1.0, 2.0, 3.0]]), ember.tensor([0]), (3, 3)).to_dense()
    tensor([[1., 0., 0.],
            [0., 2., 0.],
            [0., 0., 3.]])
    """
    if diagonals.dim() != 2:
        raise ValueError(f"spdiags: diagonals must be 2-D, got shape {list(diagonals.shape)}")
    rows, cols, picks = [], [], []
    n_rows, n_cols = int(shape[0]), int(shape[1])
    width = diagonals.shape[1]
    for k, offset in enumerate(ember.as_tensor(offsets).tolist()):
        for j in range(max(0, offset), min(n_cols, n_rows + offset, width)):
            rows.append(j - offset)
            cols.append(j)
            picks.append(k * width + j)
    values = diagonals.reshape(-1)[ember.tensor(picks, dtype=ember.int64, device=diagonals.device)]
    out = sparse_coo_tensor([rows, cols] if rows else [[], []], values, (n_rows, n_cols))
    from ember import layouts

    return out.coalesce().to_sparse_csr() if layout is layouts.sparse_csr else out.coalesce()


class check_sparse_tensor_invariants:
    """PyTorch's switch for invariant checks; ember always checks indices against the size,
    so this only records the flag (usable as a context manager or decorator)."""

    _enabled = True

    def __init__(self, enable: bool = True):
        self.state = enable
        self.saved_state = None

    @staticmethod
    def is_enabled() -> bool:
        return check_sparse_tensor_invariants._enabled

    @staticmethod
    def enable() -> None:
        check_sparse_tensor_invariants._enabled = True

    @staticmethod
    def disable() -> None:
        check_sparse_tensor_invariants._enabled = False

    def __enter__(self):
        self.saved_state = check_sparse_tensor_invariants._enabled
        check_sparse_tensor_invariants._enabled = self.state
        return self

    def __exit__(self, *exc):
        check_sparse_tensor_invariants._enabled = self.saved_state

    def __call__(self, fn):
        def wrapped(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return wrapped
