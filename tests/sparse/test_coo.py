"""Sparse COO tensors: construction, validation, conversions, coalesce (against PyTorch and
dense NumPy references)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from tests.helpers import torch_or_skip

INDICES = [[0, 1, 1, 0, 2], [2, 0, 2, 2, 1]]  # (0, 2) appears twice
VALUES = [3.0, 4.0, 5.0, 1.0, -2.0]


def _reference(indices, values, shape):
    dense = np.zeros(shape)
    np.add.at(dense, tuple(np.asarray(indices)), values)
    return dense


def test_build_and_to_dense():
    s = ember.sparse_coo_tensor(INDICES, VALUES, (3, 3))
    assert s.is_sparse and s.layout is ember.sparse_coo and isinstance(s, ember.Tensor)
    assert s.shape == (3, 3) and s.dim() == 2 and s.dtype == ember.float32
    assert s.sparse_dim() == 2 and s.dense_dim() == 0 and s._nnz() == 5
    assert not s.is_coalesced()
    np.testing.assert_array_equal(s.to_dense().numpy(), _reference(INDICES, VALUES, (3, 3)))
    assert ember.randn(2).layout is ember.strided and not ember.randn(2).is_sparse


def test_size_is_inferred_and_hybrid_values():
    s = ember.sparse_coo_tensor([[0, 2]], [[1.0, 2.0], [3.0, 4.0]])
    assert s.shape == (3, 2) and s.sparse_dim() == 1 and s.dense_dim() == 1
    np.testing.assert_array_equal(s.to_dense().numpy(), [[1, 2], [0, 0], [3, 4]])


def test_coalesce_matches_torch():
    torch = torch_or_skip()
    s = ember.sparse_coo_tensor(INDICES, VALUES, (3, 3)).coalesce()
    t = torch.sparse_coo_tensor(INDICES, VALUES, (3, 3)).coalesce()
    assert s.is_coalesced()
    np.testing.assert_array_equal(s.indices().numpy(), t.indices().numpy())
    np.testing.assert_array_equal(s.values().numpy(), t.values().numpy())


def test_uncoalesced_accessors_raise_like_torch():
    s = ember.sparse_coo_tensor(INDICES, VALUES, (3, 3))
    with pytest.raises(RuntimeError, match="Cannot get indices on an uncoalesced tensor"):
        s.indices()
    with pytest.raises(RuntimeError, match="Cannot get values on an uncoalesced tensor"):
        s.values()
    assert s._values().shape == (5,) and s._indices().shape == (2, 5)


@pytest.mark.parametrize(
    "indices, values, size, message",
    [
        ([[0, 3]], [1.0, 2.0], (3,), "size is inconsistent with indices: for dim 0, size is 3"),
        ([[0, -1]], [1.0, 2.0], (3,), "found negative index -1 for dim 0"),
        ([[0, 1]], [1.0], (3,), "indices and values must have same nnz"),
        ([[0, 1]], [1.0, 2.0], (3, 3), "number of dimensions must be sparse_dim"),
    ],
)
def test_invalid_construction(indices, values, size, message):
    with pytest.raises(RuntimeError, match=message):
        ember.sparse_coo_tensor(indices, values, size)


def test_dense_to_sparse_round_trip_and_torch():
    torch = torch_or_skip()
    dense = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, 0.0]])
    s = ember.tensor(dense).to_sparse()
    t = torch.tensor(dense).to_sparse()
    assert s.is_coalesced()
    np.testing.assert_array_equal(s.indices().numpy(), t.indices().numpy())
    np.testing.assert_array_equal(s.values().numpy(), t.values().numpy())
    np.testing.assert_array_equal(s.to_dense().numpy(), dense)
    hybrid = ember.tensor(dense).to_sparse(1)
    assert hybrid.sparse_dim() == 1 and hybrid.values().shape == (2, 3)
    assert ember.tensor(dense).to_sparse_coo().layout is ember.sparse_coo


def test_gradients_through_to_dense_and_to_sparse():
    values = ember.tensor(VALUES, dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda v: ember.sparse_coo_tensor(INDICES, v, (3, 3)).to_dense() * 2.0, (values,))
    dense = ember.randn(3, 3, dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda d: (d.to_sparse() * 3.0).to_dense(), (dense,))
    assert gradcheck(lambda v: ember.sparse_coo_tensor(INDICES, v, (3, 3)).coalesce().values(), (values,))


def test_leaf_sparse_tensor_requires_grad():
    s = ember.sparse_coo_tensor(INDICES, VALUES, (3, 3), requires_grad=True)
    assert s.requires_grad and s.is_leaf and s.grad is None
    s.to_dense().sum().backward()
    assert s.grad.is_sparse
    # five entries, four distinct elements: the gradient holds each element once
    np.testing.assert_array_equal(s.grad.to_dense().numpy(), _reference(INDICES, np.ones(5), (3, 3)) > 0)
    np.testing.assert_array_equal(s._values().grad.numpy(), np.ones(5))


def test_elementwise_and_structure_ops():
    s = ember.sparse_coo_tensor(INDICES, VALUES, (3, 3))
    ref = _reference(INDICES, VALUES, (3, 3))
    np.testing.assert_array_equal((s * 2).to_dense().numpy(), ref * 2)
    np.testing.assert_array_equal((-s / 2).to_dense().numpy(), -ref / 2)
    np.testing.assert_array_equal((s + s).to_dense().numpy(), ref * 2)
    np.testing.assert_array_equal((s - s).to_dense().numpy(), 0 * ref)
    np.testing.assert_array_equal(s.t().to_dense().numpy(), ref.T)
    dense = np.arange(9.0).reshape(3, 3)
    prod = s * ember.tensor(dense, dtype=ember.float32)
    assert prod.is_sparse
    np.testing.assert_array_equal(prod.to_dense().numpy(), ref * dense)
    np.testing.assert_array_equal((s + ember.ones(3, 3)).numpy(), ref + 1)
    assert s.double().dtype == ember.float64 and s.to(ember.float64).is_sparse
    assert s.detach().is_sparse and s.clone().to_dense().shape == (3, 3)


def test_dense_only_ops_say_to_call_to_dense():
    s = ember.sparse_coo_tensor(INDICES, VALUES, (3, 3))
    with pytest.raises(RuntimeError, match=r"to_dense\(\)"):
        s.exp()
    with pytest.raises(RuntimeError, match=r"to_dense\(\)"):
        s.numpy()


def test_repr_like_torch():
    s = ember.sparse_coo_tensor([[0, 1]], [1.0, 2.0], (2,))
    assert repr(s).startswith("tensor(indices=tensor([[0, 1]]),")
    assert "size=(2,), nnz=2, layout=ember.sparse_coo)" in repr(s)


def test_sparse_sum():
    torch = torch_or_skip()
    s = ember.sparse_coo_tensor(INDICES, VALUES, (3, 3))
    t = torch.sparse_coo_tensor(INDICES, VALUES, (3, 3))
    assert ember.sparse.sum(s).item() == torch.sparse.sum(t).item()
    for dim in (0, 1):
        e_sum, t_sum = ember.sparse.sum(s, dim), torch.sparse.sum(t, dim)
        np.testing.assert_array_equal(e_sum.to_dense().numpy(), t_sum.to_dense().numpy())
    assert ember.sparse.sum(s, (0, 1)).item() == pytest.approx(11.0)
    values = ember.tensor(VALUES, dtype=ember.float64, requires_grad=True)
    assert gradcheck(
        lambda v: ember.sparse.sum(ember.sparse_coo_tensor(INDICES, v, (3, 3)), 1).to_dense(), (values,)
    )


def test_sparse_softmax_matches_torch():
    torch = torch_or_skip()
    values = np.array(VALUES)
    s = ember.sparse_coo_tensor(INDICES, ember.tensor(values, requires_grad=True), (3, 3))
    t_values = torch.tensor(values, requires_grad=True)
    t = torch.sparse_coo_tensor(INDICES, t_values, (3, 3))
    for dim in (0, 1):
        e_out = ember.sparse.softmax(s, dim).to_dense()
        t_out = torch.sparse.softmax(t, dim).to_dense()
        np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12)
        e_log = ember.sparse.log_softmax(s, dim).to_dense()
        t_log = torch.sparse.log_softmax(t, dim).to_dense()
        np.testing.assert_allclose(e_log.detach().numpy(), t_log.detach().numpy(), rtol=1e-12)
    check = ember.tensor(values, requires_grad=True)
    weights = ember.randn(3, 3, dtype=ember.float64)
    assert gradcheck(
        lambda v: ember.sparse.softmax(ember.sparse_coo_tensor(INDICES, v, (3, 3)), 1).to_dense() * weights,
        (check,),
    )


def test_copy_and_pickle():
    import copy
    import pickle

    s = ember.sparse_coo_tensor(INDICES, VALUES, (3, 3), requires_grad=True)
    for clone in (copy.deepcopy(s), pickle.loads(pickle.dumps(s))):
        assert clone.is_sparse and clone.requires_grad
        np.testing.assert_array_equal(clone.to_dense().detach().numpy(), s.to_dense().detach().numpy())
    csr = pickle.loads(pickle.dumps(ember.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse_csr()))
    assert csr.layout is ember.sparse_csr


def test_legacy_typed_constructor_as_pygcn_uses_it():
    coo = pytest.importorskip("scipy.sparse").coo_matrix(np.eye(3, k=1, dtype=np.float32))
    indices = ember.from_numpy(np.vstack((coo.row, coo.col)).astype(np.int64))
    values = ember.from_numpy(coo.data)
    adj = ember.sparse.FloatTensor(indices, values, ember.Size(coo.shape))
    assert isinstance(adj, ember.sparse.FloatTensor) and adj.dtype == ember.float32
    assert not isinstance(adj, ember.sparse.DoubleTensor)
    np.testing.assert_array_equal(ember.spmm(adj, ember.ones(3, 1)).numpy(), [[1], [1], [0]])
    empty = ember.sparse.FloatTensor(2, 3)
    assert empty.shape == (2, 3) and empty._nnz() == 0


def test_spdiags_matches_torch():
    torch = torch_or_skip()
    diagonals = np.arange(12.0).reshape(3, 4)
    offsets = [0, -1, 2]
    e = ember.sparse.spdiags(ember.tensor(diagonals), ember.tensor(offsets), (4, 5))
    t = torch.sparse.spdiags(torch.tensor(diagonals), torch.tensor(offsets), (4, 5))
    np.testing.assert_array_equal(e.to_dense().numpy(), t.to_dense().numpy())
    with ember.sparse.check_sparse_tensor_invariants(False):
        assert not ember.sparse.check_sparse_tensor_invariants.is_enabled()
    assert ember.sparse.check_sparse_tensor_invariants.is_enabled()


def test_dense_tensor_sparse_api():
    dense = ember.tensor([[0.0, 1.0], [2.0, 3.0]], requires_grad=True)
    with pytest.raises(RuntimeError, match="values expected sparse tensor layout"):
        dense.values()
    assert dense.to_dense() is dense and dense.sparse_dim() == 0 and dense.dense_dim() == 2
    mask = ember.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 1.0], (2, 2))
    masked = dense.sparse_mask(mask)
    assert masked.is_sparse
    np.testing.assert_array_equal(masked.to_dense().detach().numpy(), [[0, 1], [2, 0]])
    masked.to_dense().sum().backward()
    np.testing.assert_array_equal(dense.grad.numpy(), [[0, 1], [1, 0]])
