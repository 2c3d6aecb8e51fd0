"""Keyword parameters the API audit found missing (issue #11): each one works as in PyTorch."""

import inspect
import os
import tempfile
import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from tests.helpers import torch_or_skip


def _pair(shape, seed=0, low=-2.0, high=2.0):
    """The same float32 data as an ember tensor and a NumPy array."""
    a = np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)
    return ember.tensor(a), a


# -- nn.functional: out= through ember.methods._out.with_out -----------------------------------
_OUT_CASES = {
    "adaptive_avg_pool1d": ((1, 2, 6), (3,)),
    "avg_pool1d": ((1, 2, 6), (2,)),
    "avg_pool2d": ((1, 2, 4, 4), (2,)),
    "avg_pool3d": ((1, 1, 4, 4, 4), (2,)),
    "channel_shuffle": ((1, 4, 2, 2), (2,)),
    "gelu": ((3, 4), ()),
    "hardshrink": ((3, 4), ()),
    "pixel_shuffle": ((1, 4, 2, 2), (2,)),
    "pixel_unshuffle": ((1, 1, 4, 4), (2,)),
    "softplus": ((3, 4), ()),
    "softshrink": ((3, 4), ()),
}


@pytest.mark.parametrize("name", sorted(_OUT_CASES))
def test_functional_out_writes_the_result(name):
    shape, args = _OUT_CASES[name]
    x, _ = _pair(shape)
    fn = getattr(F, name)
    expected = fn(x, *args)
    out = ember.empty(0)
    assert fn(x, *args, out=out) is out
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


def test_linear_and_conv_tbc_out():
    x, _ = _pair((2, 3))
    w, _ = _pair((4, 3), seed=1)
    b, _ = _pair((4,), seed=2)
    out = ember.empty(2, 4)
    assert F.linear(x, w, b, out=out) is out
    np.testing.assert_allclose(out.numpy(), (x @ w.T + b).numpy(), rtol=1e-6)
    seq, _ = _pair((5, 2, 3))
    kernel, _ = _pair((3, 3, 4), seed=3)
    out = ember.empty(0)
    assert F.conv_tbc(seq, kernel, b, 1, out=out) is out
    np.testing.assert_array_equal(out.numpy(), F.conv_tbc(seq, kernel, b, 1).numpy())


def test_functional_out_refuses_autograd():
    x = ember.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="gelu.*out=.*automatic differentiation"):
        F.gelu(x, out=ember.empty(3))


def test_functional_out_matches_torch():
    torch = torch_or_skip()
    x, a = _pair((2, 3, 4, 4))
    out, t_out = ember.empty(0), torch.empty(0)
    F.avg_pool2d(x, 2, out=out)
    torch.nn.functional.avg_pool2d(torch.tensor(a), 2, out=t_out)
    np.testing.assert_allclose(out.numpy(), t_out.numpy(), rtol=1e-6)


# -- activations ------------------------------------------------------------------------------
def test_elu_scale_and_input_scale():
    x, a = _pair((10,))
    F.elu_(x, 1.5, scale=2.0, input_scale=0.5)
    expected = np.where(a > 0, 2.0 * a, 2.0 * 1.5 * np.expm1(0.5 * a))
    np.testing.assert_allclose(x.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_elu_scale_matches_torch():
    torch = torch_or_skip()
    x, a = _pair((10,))
    t = torch.tensor(a)
    F.elu_(x, 0.7, scale=1.3, input_scale=2.0)
    torch.nn.functional.elu_(t, 0.7, scale=1.3, input_scale=2.0)
    np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-5, atol=1e-6)


def test_rrelu_generator_makes_slopes_reproducible():
    a = -np.ones(50, dtype=np.float32)
    draws = []
    for _ in range(2):
        g = ember.Generator().manual_seed(7)
        x = ember.tensor(a)
        F.rrelu_(x, 0.1, 0.3, training=True, generator=g)
        draws.append(x.numpy())
    np.testing.assert_array_equal(draws[0], draws[1])
    assert np.all((draws[0] <= -0.1) & (draws[0] >= -0.3))
    x = ember.tensor(a)
    ember.rrelu_(x, 0.1, 0.3, True, generator=ember.Generator().manual_seed(7))
    np.testing.assert_array_equal(x.numpy(), draws[0])


def test_one_hot_takes_input_keyword():
    out = F.one_hot(input=ember.tensor([0, 2]), num_classes=3)
    assert out.tolist() == [[1, 0, 0], [0, 0, 1]]
    assert list(inspect.signature(F.one_hot).parameters)[0] == "input"


# -- Tensor conversions --------------------------------------------------------------------
def test_cfloat_cdouble_accept_memory_format():
    x = ember.tensor([1.0, 2.0])
    assert x.cfloat(memory_format=ember.preserve_format).dtype == ember.complex64
    assert x.cdouble(memory_format=ember.preserve_format).dtype == ember.complex128


# -- top level ---------------------------------------------------------------------------------
def _bag_inputs():
    return ember.arange(12.0).reshape(4, 3), ember.tensor([0, 2, 1, 3, 3]), ember.tensor([0, 2, 2])


def test_embedding_bag_top_level_order_and_modes():
    weight, indices, offsets = _bag_inputs()
    output, offset2bag, bag_size, max_indices = ember.embedding_bag(
        weight, indices=indices, offsets=offsets, mode=1
    )
    assert output.tolist() == [[3.0, 4.0, 5.0], [0.0, 0.0, 0.0], [7.0, 8.0, 9.0]]
    assert offset2bag.tolist() == [0, 0, 2, 2, 2]
    assert bag_size.tolist() == max_indices.tolist() == [2, 0, 3]
    maxed = ember.embedding_bag(weight, indices, offsets, mode=2)
    assert maxed[3].tolist() == [[2, 2, 2], [0, 0, 0], [3, 3, 3]]


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("padding_idx", [None, 3])
def test_embedding_bag_top_level_matches_torch(mode, padding_idx):
    torch = torch_or_skip()
    weight, indices, offsets = _bag_inputs()
    ours = ember.embedding_bag(weight, indices, offsets, False, mode, padding_idx=padding_idx)
    theirs = torch.embedding_bag(
        torch.tensor(weight.numpy()),
        torch.tensor(indices.numpy()),
        torch.tensor(offsets.numpy()),
        False,
        mode,
        False,
        None,
        False,
        padding_idx,
    )
    compared = 4 if mode else 1  # PyTorch's CPU sum kernel leaves the other three unfilled
    for a, b in list(zip(ours, theirs))[:compared]:
        assert a.tolist() == b.tolist()


def _sparse():
    return ember.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 2.0], (3, 2))


def _empty_sparse():
    return ember.sparse_coo_tensor(ember.zeros(2, 0, dtype=ember.int64), ember.zeros(0), (0, 0))


def test_hspmm_out_takes_the_sparse_result():
    s, dense = _sparse(), ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    out = _empty_sparse()
    assert ember.hspmm(s, dense, out=out) is out
    assert out.shape == (3, 2)
    np.testing.assert_array_equal(out.to_dense().numpy(), ember.hspmm(s, dense).to_dense().numpy())
    with pytest.raises(RuntimeError, match="hspmm.*out= must be a sparse tensor"):
        ember.hspmm(s, dense, out=ember.empty(0))


def test_smm_takes_mat2():
    s, dense = _sparse(), ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(
        ember.smm(s, mat2=dense).to_dense().numpy(), s.to_dense().numpy() @ dense.numpy()
    )


def test_sparse_constructors_layout_and_out():
    s = ember.sparse_coo_tensor([[0], [1]], [5.0], (2, 2), layout=ember.sparse_coo)
    assert s.to_dense().tolist() == [[0.0, 5.0], [0.0, 0.0]]
    out = _empty_sparse()
    assert ember.sparse_coo_tensor([[0], [1]], [5.0], (2, 2), out=out) is out
    assert out.to_dense().tolist() == [[0.0, 5.0], [0.0, 0.0]]
    with pytest.raises(RuntimeError, match="layout must be ember.sparse_coo but got"):
        ember.sparse_coo_tensor([[0], [1]], [5.0], (2, 2), layout=ember.strided)
    csr = ember.sparse_csr_tensor([0, 1, 1], [0], [1.0], (2, 2), layout=ember.sparse_csr)
    assert csr.to_dense().tolist() == [[1.0, 0.0], [0.0, 0.0]]
    with pytest.raises(RuntimeError, match="layout must be ember.sparse_csr but got"):
        ember.sparse_csr_tensor([0, 1, 1], [0], [1.0], (2, 2), layout=ember.sparse_coo)


def test_save_accepts_disable_byteorder_record():
    path = os.path.join(tempfile.mkdtemp(), "ckpt.pt")
    ember.save({"w": ember.ones(2)}, path, _disable_byteorder_record=True)
    assert ember.load(path)["w"].tolist() == [1.0, 1.0]


# -- linalg: PyTorch's keyword names --------------------------------------------------------
def _spd(n=3, seed=0):
    a = np.random.default_rng(seed).standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


_INPUT_CALLS = {
    "cholesky": {},
    "cholesky_ex": {},
    "cond": {},
    "eig": {},
    "eigh": {},
    "eigvals": {},
    "eigvalsh": {},
    "ldl_factor": {},
    "ldl_factor_ex": {},
    "matrix_exp": {},
    "matrix_norm": {},
    "matrix_power": {"n": 2},
    "matrix_rank": {},
    "pinv": {},
    "tensorinv": {"ind": 1},
    "vector_norm": {},
    "solve_triangular": {"upper": True},
}


def _first(result):
    return result[0] if isinstance(result, tuple) else result


@pytest.mark.parametrize("name", sorted(_INPUT_CALLS))
def test_linalg_accepts_input_keyword(name):
    a = ember.tensor(_spd())
    kwargs = dict(_INPUT_CALLS[name])
    args = (ember.eye(3, dtype=ember.float64),) if name == "solve_triangular" else ()
    fn = getattr(ember.linalg, name)
    by_keyword = fn(input=a.triu() if args else a, **({"B": args[0]} if args else {}), **kwargs)
    by_position = fn(a.triu() if args else a, *args, **kwargs)
    np.testing.assert_array_equal(_first(by_keyword).numpy(), _first(by_position).numpy())


def test_linalg_householder_product_and_tensorsolve_names():
    a, tau = ember.tensor(_spd()), ember.tensor([0.5, 0.2])
    np.testing.assert_array_equal(
        ember.linalg.householder_product(input=a, tau=tau).numpy(),
        ember.linalg.householder_product(a, tau).numpy(),
    )
    b = ember.tensor([1.0, 2.0, 3.0], dtype=ember.float64)
    x = ember.linalg.tensorsolve(input=a, other=b)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(_spd(), b.numpy()))


def test_linalg_refuses_the_documented_names_as_pytorch_does():
    with pytest.raises(TypeError, match="unexpected keyword argument 'A'.*'input'"):
        ember.linalg.cholesky(A=ember.tensor(_spd()))


def test_linalg_keywords_match_torch():
    torch = torch_or_skip()
    a = _spd()
    t = torch.tensor(a)
    np.testing.assert_allclose(
        ember.linalg.cholesky(input=ember.tensor(a)).numpy(), torch.linalg.cholesky(input=t).numpy()
    )
    with pytest.raises(TypeError):
        torch.linalg.cholesky(A=t)  # ember refuses it too (above)
    assert int(ember.linalg.matrix_rank(input=ember.tensor(a), tol=1e-3)) == int(
        torch.linalg.matrix_rank(input=t, tol=1e-3)
    )


def test_pinv_rcond_is_rtol():
    a = np.diag([1.0, 1e-3, 0.0])
    by_rcond = ember.linalg.pinv(ember.tensor(a), rcond=1e-2)
    np.testing.assert_array_equal(by_rcond.numpy(), ember.linalg.pinv(ember.tensor(a), rtol=1e-2).numpy())
    np.testing.assert_allclose(by_rcond.numpy(), np.diag([1.0, 0.0, 0.0]))
    np.testing.assert_array_equal(ember.linalg.pinv(ember.tensor(a), 1e-2, True).numpy(), by_rcond.numpy())
    with pytest.raises(TypeError, match="rcond.*rtol"):
        ember.linalg.pinv(ember.tensor(a), rcond=1e-2, rtol=1e-2)


def test_pinv_rcond_matches_torch():
    torch = torch_or_skip()
    a = np.random.default_rng(1).standard_normal((4, 3))
    np.testing.assert_allclose(
        ember.linalg.pinv(ember.tensor(a), rcond=0.5).numpy(),
        torch.linalg.pinv(torch.tensor(a), rcond=0.5).numpy(),
        atol=1e-12,
    )


# -- special: x and n ----------------------------------------------------------------------------
_POLYNOMIALS = [
    "chebyshev_polynomial_t",
    "chebyshev_polynomial_u",
    "chebyshev_polynomial_v",
    "chebyshev_polynomial_w",
    "hermite_polynomial_h",
    "hermite_polynomial_he",
    "laguerre_polynomial_l",
    "legendre_polynomial_p",
    "shifted_chebyshev_polynomial_t",
    "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w",
]
_X_FUNCTIONS = ["airy_ai", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0"]


@pytest.mark.parametrize("name", _POLYNOMIALS)
def test_special_polynomials_take_x_and_n(name):
    x = ember.tensor([0.1, 0.4, 0.9], dtype=ember.float64)
    fn = getattr(ember.special, name)
    np.testing.assert_array_equal(fn(x=x, n=3).numpy(), fn(x, 3).numpy())


@pytest.mark.parametrize("name", _X_FUNCTIONS)
def test_special_functions_take_x(name):
    x = ember.tensor([0.1, 0.4, 0.9], dtype=ember.float64)
    fn = getattr(ember.special, name)
    np.testing.assert_array_equal(fn(x=x).numpy(), fn(x).numpy())


@pytest.mark.parametrize("name", ["hermite_polynomial_h", "airy_ai"])
def test_special_keywords_match_torch(name):
    torch = torch_or_skip()
    a = np.array([0.1, 0.4, 0.9])
    kwargs = {"n": 3} if "polynomial" in name else {}
    ours = getattr(ember.special, name)(x=ember.tensor(a), **kwargs)
    theirs = getattr(torch.special, name)(x=torch.tensor(a), **kwargs)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10)


# -- fft and backends ---------------------------------------------------------------------------
def test_fftfreq_pin_memory_accepted_and_out_written():
    assert ember.fft.fftfreq(4, pin_memory=True).tolist() == [0.0, 0.25, -0.5, -0.25]
    assert ember.fft.rfftfreq(5, 0.5, pin_memory=False).tolist() == pytest.approx([0.0, 0.4, 0.8])
    out = ember.empty(0, dtype=ember.float64)
    assert ember.fft.fftfreq(4, out=out) is out
    assert out.dtype == ember.float64 and out.tolist() == [0.0, 0.25, -0.5, -0.25]


def test_cudnn_flags_fp32_precision_and_depthwise_kernel():
    cudnn = ember.backends.cudnn
    before = (cudnn.fp32_precision, cudnn.depthwise_kernel)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with cudnn.flags(fp32_precision="tf32", depthwise_kernel="native"):
            assert (cudnn.fp32_precision, cudnn.depthwise_kernel) == ("tf32", "native")
    assert (cudnn.fp32_precision, cudnn.depthwise_kernel) == before == ("none", "auto")
