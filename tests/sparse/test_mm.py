"""sparse @ dense (and friends) with autograd: against dense NumPy, finite differences and
PyTorch's ``sparse.mm`` (whose gradient for the sparse operand is sparse at its nonzeros)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck, gradgradcheck
from tests.helpers import torch_or_skip

rng = np.random.default_rng(0)
INDICES = np.array([[0, 1, 1, 3, 2, 0], [2, 0, 2, 1, 3, 2]])
VALUES = rng.normal(size=6)
SHAPE = (4, 4)


def _dense_ref():
    dense = np.zeros(SHAPE)
    np.add.at(dense, tuple(INDICES), VALUES)
    return dense


def _sparse(values=None, dtype=ember.float64):
    values = ember.tensor(VALUES, dtype=dtype) if values is None else values
    return ember.sparse_coo_tensor(INDICES, values, SHAPE)


@pytest.mark.parametrize("entry", ["sparse.mm", "spmm", "mm", "matmul", "@", "Tensor.mm"])
def test_forward_entry_points(entry):
    x = rng.normal(size=(4, 3))
    s, d = _sparse(), ember.tensor(x)
    out = {
        "sparse.mm": lambda: ember.sparse.mm(s, d),
        "spmm": lambda: ember.spmm(s, d),
        "mm": lambda: ember.mm(s, d),
        "matmul": lambda: ember.matmul(s, d),
        "@": lambda: s @ d,
        "Tensor.mm": lambda: s.mm(d),
    }[entry]()
    assert not out.is_sparse
    np.testing.assert_allclose(out.numpy(), _dense_ref() @ x, rtol=1e-12)


def test_vector_and_dense_at_sparse():
    v, m = rng.normal(size=4), rng.normal(size=(2, 4))
    np.testing.assert_allclose((_sparse() @ ember.tensor(v)).numpy(), _dense_ref() @ v)
    np.testing.assert_allclose((ember.tensor(m) @ _sparse()).numpy(), m @ _dense_ref())
    np.testing.assert_allclose(ember.mm(ember.tensor(m), _sparse()).numpy(), m @ _dense_ref())
    np.testing.assert_allclose((ember.tensor(v) @ _sparse()).numpy(), v @ _dense_ref())


def test_sparse_at_sparse_and_smm_hspmm_addmm():
    ref = _dense_ref()
    prod = ember.sparse.mm(_sparse(), _sparse())
    assert prod.is_sparse
    np.testing.assert_allclose(prod.to_dense().numpy(), ref @ ref, atol=1e-12)
    x = rng.normal(size=(4, 2))
    smm = ember.smm(_sparse(), ember.tensor(x))
    assert smm.is_sparse
    np.testing.assert_allclose(smm.to_dense().numpy(), ref @ x)
    hs = ember.hspmm(_sparse(), ember.tensor(x))
    assert hs.sparse_dim() == 1 and hs.dense_dim() == 1
    np.testing.assert_allclose(hs.to_dense().numpy(), ref @ x)
    base = rng.normal(size=(4, 2))
    out = ember.sparse.addmm(ember.tensor(base), _sparse(), ember.tensor(x), beta=0.5, alpha=2)
    np.testing.assert_allclose(out.numpy(), 0.5 * base + 2 * ref @ x)


def test_dtype_promotion_and_shape_errors():
    out = _sparse(dtype=ember.float32) @ ember.ones(4, 2, dtype=ember.float64)
    assert out.dtype == ember.float64
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        _sparse() @ ember.ones(3, 2, dtype=ember.float64)
    hybrid = ember.sparse_coo_tensor([[0, 1]], [[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(RuntimeError, match="without dense dimensions"):
        ember.sparse.mm(hybrid, ember.ones(2, 2))


def test_gradients_by_finite_differences():
    values = ember.tensor(VALUES, requires_grad=True)
    dense = ember.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    assert gradcheck(lambda v, d: ember.sparse.mm(_sparse(v), d), (values, dense))
    assert gradcheck(lambda v, d: d.t() @ _sparse(v), (values, dense))
    assert gradgradcheck(lambda v, d: ember.sparse.mm(_sparse(v), d), (values, dense))
    vec = ember.tensor(rng.normal(size=4), requires_grad=True)
    assert gradcheck(lambda v, x: _sparse(v) @ x, (values, vec))
    assert gradcheck(lambda v: ember.sparse.mm(_sparse(v), _sparse(v)).to_dense(), (values,))


def test_gradients_match_torch_sparse_mm():
    torch = torch_or_skip()
    x = rng.normal(size=(4, 3))
    s = ember.sparse_coo_tensor(INDICES, VALUES, SHAPE, requires_grad=True)
    d = ember.tensor(x, requires_grad=True)
    (ember.sparse.mm(s, d) ** 2).sum().backward()
    ts = torch.sparse_coo_tensor(INDICES, VALUES, SHAPE, requires_grad=True)
    td = torch.tensor(x, requires_grad=True)
    (torch.sparse.mm(ts, td) ** 2).sum().backward()
    np.testing.assert_allclose(d.grad.numpy(), td.grad.numpy(), rtol=1e-12)
    assert s.grad.is_sparse and ts.grad.is_sparse
    np.testing.assert_allclose(s.grad.to_dense().numpy(), ts.grad.to_dense().numpy(), rtol=1e-12)


def test_csr_basics_against_torch():
    torch = torch_or_skip()
    ref = _dense_ref()
    csr = ember.tensor(ref).to_sparse_csr()
    tcsr = torch.tensor(ref).to_sparse_csr()
    assert csr.layout is ember.sparse_csr and csr.is_sparse_csr and not csr.is_sparse
    np.testing.assert_array_equal(csr.crow_indices().numpy(), tcsr.crow_indices().numpy())
    np.testing.assert_array_equal(csr.col_indices().numpy(), tcsr.col_indices().numpy())
    np.testing.assert_array_equal(csr.values().numpy(), tcsr.values().numpy())
    x = rng.normal(size=(4, 2))
    np.testing.assert_allclose((csr @ ember.tensor(x)).numpy(), ref @ x)
    built = ember.sparse_csr_tensor(
        tcsr.crow_indices().tolist(), tcsr.col_indices().tolist(), tcsr.values().tolist(), SHAPE
    )
    np.testing.assert_allclose(built.to_dense().numpy(), ref)
    assert built.to_sparse_coo().is_sparse
    values = ember.tensor(tcsr.values().numpy(), requires_grad=True)
    crow, col = tcsr.crow_indices().tolist(), tcsr.col_indices().tolist()
    assert gradcheck(
        lambda v, d: ember.sparse_csr_tensor(crow, col, v, SHAPE) @ d,
        (values, ember.tensor(x, requires_grad=True)),
    )


def test_gcn_layer_trains():
    """Two-layer GCN (``adj @ (x @ W)``) on two clusters joined by one edge."""
    ember.manual_seed(0)
    n = 12
    edges = [
        (i, j) for i in range(n) for j in range(n) if i != j and (i < 6) == (j < 6) and abs(i - j) <= 2
    ] + [(5, 6), (6, 5)]
    edges += [(i, i) for i in range(n)]
    rows, cols = zip(*edges)
    degree = np.bincount(rows, minlength=n).astype(np.float32)
    weights = 1.0 / np.sqrt(degree[list(rows)] * degree[list(cols)])
    adj = ember.sparse_coo_tensor([rows, cols], weights.astype(np.float32), (n, n))
    features = ember.randn(n, 5)
    labels = ember.tensor([0] * 6 + [1] * 6)
    w1 = ember.nn.Parameter(ember.randn(5, 8) * 0.3)
    w2 = ember.nn.Parameter(ember.randn(8, 2) * 0.3)
    opt = ember.optim.Adam([w1, w2], lr=0.05)
    for _ in range(60):
        hidden = (adj @ (features @ w1)).relu()
        logits = ember.sparse.mm(adj, hidden @ w2)
        loss = ember.nn.functional.cross_entropy(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2
    assert (logits.argmax(1) == labels).all().item()


def test_missing_scipy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.sparse", None)
    with pytest.raises(ImportError, match=r'pip install "ember\[sparse\]"'):
        _sparse() @ ember.ones(4, 1, dtype=ember.float64)
