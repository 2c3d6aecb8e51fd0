"""Matrix products beyond the op table: shape errors, einsum parsing and gradients, add*mm details."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from tests.helpers import torch_or_skip


def _t(*shape, seed=0, grad=True):
    a = np.random.default_rng(seed).standard_normal(shape)
    return ember.tensor(a, requires_grad=grad)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: ember.mm(_t(2, 3), _t(4, 5)),
            r"mm: shapes \[2, 3\] and \[4, 5\] cannot be multiplied \(3 != 4\)",
        ),
        (
            lambda: ember.mm(_t(2, 3, 1), _t(1, 5)),
            r"mm: expected 2-D and 2-D tensors, got shapes \[2, 3, 1\]",
        ),
        (
            lambda: ember.bmm(_t(2, 3, 4), _t(3, 4, 5)),
            r"bmm: shapes .* have different batch sizes \(2 != 3\)",
        ),
        (lambda: ember.bmm(_t(2, 3, 4), _t(2, 3, 5)), r"bmm: shapes .* cannot be multiplied \(4 != 3\)"),
        (lambda: ember.mv(_t(2, 3), _t(4)), r"mv: shapes \[2, 3\] and \[4\] cannot be multiplied"),
        (lambda: ember.dot(_t(3), _t(4)), r"dot: shapes \[3\] and \[4\] have different lengths"),
        (lambda: ember.outer(_t(3, 1), _t(4)), r"outer: expected 1-D and 1-D tensors"),
        (
            lambda: ember.addmm(_t(3, 3), _t(2, 3), _t(3, 4)),
            r"addmm: input of shape \[3, 3\] does not broadcast",
        ),
        (lambda: ember.einsum("ij,jk", _t(2, 3), _t(4, 5)), r"einsum\(\): 'ij,jk': label 'j' has size 4"),
        (lambda: ember.einsum("ij,jk->ik", _t(2, 3)), r"einsum\(\): the equation 'ij,jk->ik' has 2 operand"),
        (lambda: ember.einsum("ijk", _t(2, 3)), r"einsum\(\): the subscripts 'ijk' do not fit"),
        (lambda: ember.einsum("ij->ix", _t(2, 3)), r"einsum\(\): output subscripts 'ix'"),
        (lambda: ember.tensordot(_t(2, 3), _t(4, 5), 1), r"tensordot: contracted dimension 1 of \[2, 3\]"),
        (lambda: _t(2, 3).matrix_power(2), r"matrix_power: expected a \(batch of\) square"),
        (lambda: _t(2, 2, 2).trace(), r"trace: expected a 2-D tensor"),
    ],
)
def test_shape_errors_name_the_op_and_shapes(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()


_f32, _f64 = np.ones((2, 3), np.float32), np.ones((3, 2))
# (name, call on a module that is ember or torch); every one multiplies float32 by float64
MIXED_PRODUCTS = [
    ("matmul", lambda m, a, b: a @ b),
    ("matmul", lambda m, a, b: a[0] @ b[:, 0]),
    ("matmul", lambda m, a, b: a[None] @ b),
    ("mm", lambda m, a, b: m.mm(a, b)),
    ("bmm", lambda m, a, b: m.bmm(a[None], b[None])),
    ("mv", lambda m, a, b: m.mv(a, b[:, 0])),
    ("dot", lambda m, a, b: m.dot(a[0], b[:, 0])),
    ("inner", lambda m, a, b: m.inner(a, b.T)),
    ("addmm", lambda m, a, b: m.addmm(m.ones(2, 2), a, b)),
    ("addmv", lambda m, a, b: m.addmv(m.ones(2), a, b[:, 0])),
    ("baddbmm", lambda m, a, b: m.baddbmm(m.ones(1, 2, 2), a[None], b[None])),
    ("einsum", lambda m, a, b: m.einsum("ij,jk->ik", a, b)),
    ("tensordot", lambda m, a, b: m.tensordot(a, b, dims=1)),
    ("multi_dot", lambda m, a, b: m.linalg.multi_dot([a, b])),
    ("vecdot", lambda m, a, b: m.linalg.vecdot(a[0], b[:, 0])),
    ("linear", lambda m, a, b: m.nn.functional.linear(a, b.T)),
    ("linear", lambda m, a, b: m.nn.Linear(3, 2)(a.double())),
    ("bilinear", lambda m, a, b: m.nn.functional.bilinear(a, b.T, m.ones(4, 3, 3))),
]


@pytest.mark.parametrize(
    "op, call", MIXED_PRODUCTS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(MIXED_PRODUCTS)]
)
def test_products_refuse_mixed_dtypes(op, call):
    """Matrix products do not promote: float32 @ float64 raises, naming the op, dtypes and shapes."""
    with pytest.raises(
        RuntimeError, match=rf"{op}.*same dtype.*float32.*float64|{op}.*same dtype.*float64.*float32"
    ):
        call(ember, ember.from_numpy(_f32), ember.from_numpy(_f64))


@pytest.mark.parametrize(
    "op, call", MIXED_PRODUCTS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(MIXED_PRODUCTS)]
)
def test_products_refuse_mixed_dtypes_like_torch(op, call):
    torch = torch_or_skip()
    with pytest.raises(RuntimeError):
        call(torch, torch.from_numpy(_f32), torch.from_numpy(_f64))


def test_products_of_one_dtype_and_elementwise_products_keep_working():
    a, b = ember.ones(2, 3, dtype=ember.float32), ember.ones(3, 2, dtype=ember.float64)
    assert ember.dot(ember.tensor([1, 2]), ember.tensor([3, 4])).item() == 11
    assert ember.mm(a.double(), b).dtype == ember.float64
    # outer, kron and addr are element-wise products: they promote, as in PyTorch
    assert ember.outer(a[0], b[:, 0]).dtype == ember.float64
    assert ember.kron(a, b).dtype == ember.float64
    assert ember.addr(ember.ones(3, 3, dtype=ember.float64), a[0], a[0]).dtype == ember.float64


def test_autocast_casts_before_the_dtype_check():
    a, b = ember.ones(2, 3), ember.ones(3, 2, dtype=ember.bfloat16)
    with ember.autocast("cpu"):
        for result in (a @ b, ember.mm(a, b), ember.bmm(a[None], b[None]), ember.einsum("ij,jk->ik", a, b)):
            assert result.dtype == ember.bfloat16
        with pytest.raises(RuntimeError, match="same dtype"):  # float64 is never cast, as in PyTorch
            a @ b.double()


EQUATIONS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("...ij,...jk", [(2, 2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("i,i->", [(3,), (3,)]),
    ("iij->j", [(2, 2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("i...->...", [(2, 3, 4)]),
    ("ba", [(2, 3)]),
    ("...,...->...", [(3, 1), (1, 4)]),
    ("ij,kl->", [(2, 3), (1, 2)]),
    ("a...b,b...->a...", [(2, 3, 4), (4, 3)]),
    ("iji->j", [(2, 3, 2)]),
    ("Ab,bc->Ac", [(2, 3), (3, 2)]),
    ("i, i", [(3,), (3,)]),
]


@pytest.mark.parametrize("equation, shapes", EQUATIONS, ids=[e for e, _ in EQUATIONS])
def test_einsum_matches_pytorch_with_first_and_second_derivatives(equation, shapes):
    torch = torch_or_skip()
    ours = [_t(*s, seed=i) for i, s in enumerate(shapes)]
    theirs = [torch.tensor(t.detach().numpy(), requires_grad=True) for t in ours]
    out = ember.einsum(equation, *ours)
    ref = torch.einsum(equation, *theirs)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = np.random.default_rng(9).standard_normal(tuple(ref.shape))
    (out * ember.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert ember.autograd.gradgradcheck(lambda *ts: ember.einsum(equation, *ts), ours)


def test_einsum_result_does_not_alias_its_input():
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    y = ember.einsum("ij->ji", x)
    y.add_(1.0)
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=1, max_size=4), st.data())
def test_einsum_batched_contraction_gradient_shapes(sizes, data):
    keep = data.draw(st.lists(st.booleans(), min_size=len(sizes), max_size=len(sizes)))
    letters = "abcd"[: len(sizes)]
    out = "".join(c for c, k in zip(letters, keep) if k)
    a, b = _t(*sizes, seed=1), _t(*sizes, seed=2)
    result = ember.einsum(f"{letters},{letters}->{out}", a, b)
    expected = np.einsum(f"{letters},{letters}->{out}", a.detach().numpy(), b.detach().numpy())
    np.testing.assert_allclose(result.detach().numpy(), expected)
    result.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape


def test_tensordot_matches_numpy_for_int_and_list_dims():
    a, b = _t(2, 3, 4, grad=False), _t(4, 3, 5, grad=False)
    np.testing.assert_allclose(
        ember.tensordot(a, b, ([1, 2], [1, 0])).numpy(), np.tensordot(a.numpy(), b.numpy(), ([1, 2], [1, 0]))
    )
    np.testing.assert_allclose(ember.tensordot(a, a, 0).numpy(), np.tensordot(a.numpy(), a.numpy(), 0))
    np.testing.assert_allclose(
        ember.tensordot(a, b, ([-1], [0])).numpy(), np.tensordot(a.numpy(), b.numpy(), ([2], [0]))
    )


def test_addmm_with_beta_zero_ignores_nan_input():
    nan = ember.full((2, 2), float("nan"))
    out = ember.addmm(nan, ember.eye(2), ember.ones(2, 2), beta=0)
    assert out.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_addmm_family_gradients_match_pytorch():
    torch = torch_or_skip()
    calls = [
        (lambda m, c, a, b: m.addmm(c, a, b, beta=0.3, alpha=-2.0), [(1, 4), (3, 2), (2, 4)]),
        (lambda m, c, a, b: m.baddbmm(c, a, b, alpha=0.5), [(3, 4), (2, 3, 2), (2, 2, 4)]),
        (lambda m, c, a, b: m.addbmm(c, a, b, beta=2.0), [(4,), (2, 3, 2), (2, 2, 4)]),
    ]
    for fn, shapes in calls:
        ours = [_t(*s, seed=i) for i, s in enumerate(shapes)]
        theirs = [torch.tensor(t.detach().numpy(), requires_grad=True) for t in ours]
        fn(ember, *ours).sum().backward()
        fn(torch, *theirs).sum().backward()
        for o, t in zip(ours, theirs):
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-10)


def test_matrix_power_zero_is_identity_and_chain_matmul():
    a = _t(2, 3, 3, grad=False)
    np.testing.assert_allclose(a.matrix_power(0).numpy(), np.broadcast_to(np.eye(3), (2, 3, 3)))
    np.testing.assert_allclose(a.matrix_power(5).numpy(), np.linalg.matrix_power(a.numpy(), 5))
    m = [_t(2, 3, grad=False), _t(3, 4, grad=False), _t(4, 1, grad=False)]
    np.testing.assert_allclose(ember.chain_matmul(*m).numpy(), m[0].numpy() @ m[1].numpy() @ m[2].numpy())


def test_trace_of_int_matrix_is_int64():
    x = ember.tensor([[1, 2], [3, 4]], dtype=ember.int32)
    assert x.trace().dtype == ember.int64 and x.trace().item() == 5
