"""float_power, frexp, ldexp, gcd/lcm, nextafter, signbit, logaddexp2, shifts, the complex API on
real tensors, rsub and dtype queries."""

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from tests.helpers import torch_or_skip

RNG = np.random.default_rng(11)


def test_float_power_is_double_and_its_inplace_twin_needs_double():
    x = ember.tensor([1.0, 2.0, 4.0])
    out = ember.float_power(x, 0.5)
    assert out.dtype == ember.float64
    np.testing.assert_allclose(out.numpy(), np.sqrt([1.0, 2.0, 4.0]))
    with pytest.raises(RuntimeError, match="float_power_"):
        x.float_power_(2)
    y = x.double()
    y.float_power_(2)
    assert y.tolist() == [1.0, 4.0, 16.0]


def test_frexp_ldexp_round_trip_and_match_numpy():
    a = RNG.normal(size=8) * 100
    mantissa, exponent = ember.frexp(ember.tensor(a))
    ref_m, ref_e = np.frexp(a)
    np.testing.assert_array_equal(mantissa.numpy(), ref_m)
    np.testing.assert_array_equal(exponent.numpy(), ref_e)
    assert exponent.dtype == ember.int32
    back = ember.ldexp(mantissa, exponent)
    np.testing.assert_allclose(back.numpy(), a)
    x = ember.tensor(RNG.normal(size=3), requires_grad=True)
    assert gradcheck(lambda t: ember.ldexp(t, ember.tensor([1, 2, 3])), (x,))


def test_integer_and_bit_functions_match_pytorch():
    torch = torch_or_skip()
    a, b = np.array([12, -18, 7, 0]), np.array([8, 12, 5, 3])
    for name in ("gcd", "lcm", "bitwise_left_shift", "bitwise_right_shift"):
        ours = getattr(ember, name)(ember.tensor(a), ember.tensor(b % 4 if "shift" in name else b))
        theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(b % 4 if "shift" in name else b))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=name)
    assert (ember.tensor([1, 2]) << 2).tolist() == [4, 8]
    with pytest.raises(RuntimeError, match="integer"):
        ember.gcd(ember.tensor([1.0]), ember.tensor([2.0]))


def test_nextafter_signbit_angle_match_pytorch():
    torch = torch_or_skip()
    a = np.array([-2.0, -0.0, 0.0, 3.0, np.nan])
    b = np.array([0.0, 1.0, -1.0, np.inf, 0.0])
    np.testing.assert_array_equal(
        ember.nextafter(ember.tensor(a), ember.tensor(b)).numpy(),
        torch.nextafter(torch.tensor(a), torch.tensor(b)).numpy(),
    )
    np.testing.assert_array_equal(
        ember.signbit(ember.tensor(a)).numpy(), torch.signbit(torch.tensor(a)).numpy()
    )
    np.testing.assert_array_equal(ember.angle(ember.tensor(a)).numpy(), torch.angle(torch.tensor(a)).numpy())


def test_logaddexp2_is_stable_and_differentiable():
    big = ember.tensor([1000.0, -1000.0], dtype=ember.float64)
    np.testing.assert_allclose(ember.logaddexp2(big, big).numpy(), [1001.0, -999.0])
    x = ember.tensor(RNG.normal(size=4), requires_grad=True)
    y = ember.tensor(RNG.normal(size=4), requires_grad=True)
    assert gradcheck(ember.logaddexp2, (x, y))


def test_rsub_result_type_can_cast():
    torch = torch_or_skip()
    x = ember.tensor([1.0, 2.0])
    assert ember.rsub(x, 5.0, alpha=2).tolist() == torch.rsub(torch.tensor([1.0, 2.0]), 5.0, alpha=2).tolist()
    assert ember.rsub(x, ember.tensor([3.0, 3.0])).tolist() == [2.0, 1.0]
    for a, b in ((ember.tensor([1]), 1.5), (ember.tensor([1], dtype=ember.int8), ember.tensor(1000))):
        ta = torch.tensor(a.tolist(), dtype=getattr(torch, str(a.dtype).split(".")[1]))
        tb = torch.tensor(b.item()) if isinstance(b, ember.Tensor) else b
        assert str(ember.result_type(a, b)).split(".")[1] == str(torch.result_type(ta, tb)).split(".")[1]
    pairs = [
        ("float64", "float32"),
        ("float32", "int64"),
        ("int64", "float32"),
        ("bool", "int8"),
        ("int8", "bool"),
        ("int32", "uint8"),
    ]
    for src, dst in pairs:
        assert ember.can_cast(getattr(ember, src), getattr(ember, dst)) == torch.can_cast(
            getattr(torch, src), getattr(torch, dst)
        ), (src, dst)


def test_complex_api_on_real_tensors():
    x = ember.tensor([[1.0, -2.0], [3.0, 4.0]])
    assert x.adjoint().tolist() == x.t().tolist()
    assert x.isreal().all() and ember.isreal(x).shape == x.shape
    assert x.hardshrink(1.5).tolist() == [[0.0, -2.0], [3.0, 4.0]]
