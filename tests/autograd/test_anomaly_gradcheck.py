"""Anomaly mode, gradcheck/gradgradcheck and the legacy Variable."""

import numpy as np
import pytest

import ember
from ember.autograd import Function, Variable, detect_anomaly, gradcheck, gradgradcheck
from ember.autograd.numerical import GradcheckError


class NanBackward(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 1

    @staticmethod
    def backward(ctx, grad):
        return grad * float("nan")


def _make_nan_forward(x):
    return (x - 1).log()  # log(-1) is nan


def test_detect_anomaly_names_forward_op():
    x = ember.zeros(2, requires_grad=True)
    with (
        detect_anomaly(),
        pytest.raises(RuntimeError, match="'Log' returned nan or inf values in its forward"),
    ):
        _make_nan_forward(x)
    _make_nan_forward(x)  # outside anomaly mode: no check


def test_detect_anomaly_names_backward_op_and_where_it_was_created():
    x = ember.ones(2, requires_grad=True)
    with detect_anomaly():
        y = NanBackward.apply(x)
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
    msg = str(info.value)
    assert "NanBackwardBackward" in msg and "nan" in msg
    assert "test_anomaly_gradcheck.py" in msg and "NanBackward.apply(x)" in msg


def test_set_detect_anomaly_and_decorator():
    assert not ember.autograd.is_anomaly_enabled()
    with ember.autograd.set_detect_anomaly(True):
        assert ember.autograd.is_anomaly_enabled()
    assert not ember.autograd.is_anomaly_enabled()

    @detect_anomaly()
    def f():
        return ember.autograd.is_anomaly_enabled()

    assert f() and not ember.autograd.is_anomaly_enabled()


def test_gradcheck_passes_and_catches_wrong_gradients():
    x = ember.randn(3, dtype=ember.float64, requires_grad=True)
    y = ember.randn(3, dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda a, b: (a * b).exp() / (b * b + 1), (x, y))

    class Wrong(Function):
        @staticmethod
        def forward(ctx, a):
            return a * a

        @staticmethod
        def backward(ctx, grad):
            return grad * 3

    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to input 0"):
        gradcheck(Wrong.apply, (x,))
    assert gradcheck(Wrong.apply, (x,), raise_exception=False) is False
    with pytest.raises(GradcheckError, match="float64"):
        gradcheck(lambda a: a * 2, (ember.ones(2, requires_grad=True),))


def test_gradgradcheck():
    x = ember.randn(2, 3, dtype=ember.float64, requires_grad=True)
    w = ember.randn(3, 2, dtype=ember.float64, requires_grad=True)
    assert gradgradcheck(lambda a, b: (a @ b) ** 3, (x, w))

    class NoSecondOrder(Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            return grad * 2 * a.detach()  # wrong on purpose for the second derivative

    with pytest.raises(GradcheckError):
        gradgradcheck(NoSecondOrder.apply, (x,))


def test_variable_legacy_alias():
    v = Variable(ember.ones(2), requires_grad=True)
    assert type(v) is ember.Tensor and v.requires_grad and v.is_leaf
    assert isinstance(v, Variable) and isinstance(ember.ones(1), Variable)
    assert v.data.tolist() == [1.0, 1.0] and not v.data.requires_grad
    (v * 2).sum().backward()
    assert v.grad.tolist() == [2.0, 2.0]
    assert Variable([1.0, 2.0]).dtype == ember.float32
    assert ember.autograd.Variable is Variable
    np.testing.assert_array_equal(Variable(np.zeros(2)).numpy(), np.zeros(2))
