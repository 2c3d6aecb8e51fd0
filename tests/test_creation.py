"""Tensor factories, checked against PyTorch where it is installed."""

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip


def _name(d) -> str:
    return str(d).split(".")[-1]


INFER = [
    [1, 2],
    [1.0, 2],
    [True, False],
    3,
    3.0,
    True,
    [],
    [[]],
    [[1, 2], [3, 4]],
    [np.int32(1), 2],
    [np.float32(1), 2.0],
    [np.float16(1), 2],
    [1, np.float64(2)],
    np.zeros(2, np.float16),
    np.zeros(3, np.int32),
    np.float64(1.5),
    np.int16(3),
    [True, 1],
]


@pytest.mark.parametrize("data", INFER, ids=[repr(d)[:30] for d in INFER])
def test_tensor_dtype_inference_matches_torch(data):
    torch = torch_or_skip()
    e, t = ember.tensor(data), torch.tensor(data)
    assert _name(e.dtype) == _name(t.dtype)
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_tensor_of_zero_dim_tensors():
    torch = torch_or_skip()
    parts = [ember.tensor(1.0, dtype=ember.float64), ember.tensor(2.0, dtype=ember.float64)]
    assert ember.tensor(parts).dtype == ember.float64
    assert ember.tensor([ember.tensor(1, dtype=ember.int32), 2]).dtype == ember.int64
    assert ember.tensor([ember.tensor(1.0, dtype=ember.float16), 2.0]).dtype == ember.float32
    assert ember.tensor([[ember.tensor(1.0), ember.tensor(2.0)]]).shape == (1, 2)
    x = ember.ones(2, requires_grad=True)
    s = ember.tensor([x.sum(), x.sum() * 2])  # copies values, no graph
    assert s.tolist() == [2.0, 4.0] and not s.requires_grad
    assert torch.tensor([torch.tensor(1.0), torch.tensor(2.0)]).shape == s.shape


def test_tensor_copies_and_args():
    a = np.zeros(3)
    t = ember.tensor(a)
    t.add_(1)
    assert a.sum() == 0  # copied
    src = ember.ones(2, requires_grad=True)
    c = ember.tensor(src)
    assert not c.requires_grad and c.is_leaf and c.numpy() is not src.detach().numpy()
    t = ember.tensor([1, 2], dtype=ember.float64, device="cpu", requires_grad=True)
    assert t.dtype == ember.float64 and t.requires_grad and t.is_leaf
    assert ember.tensor(np.arange(6).reshape(2, 3)[:, ::2]).tolist() == [[0, 2], [3, 5]]
    assert ember.tensor([1.0], dtype=ember.bfloat16).dtype == ember.bfloat16


def test_tensor_rejects_bad_data_clearly():
    assert ember.tensor([1 + 2j]).dtype == ember.complex64  # complex is supported since fft
    assert ember.tensor(np.zeros(2, np.complex128)).dtype == ember.complex128
    with pytest.raises(TypeError, match="complex"):
        ember.tensor(np.zeros(2, np.clongdouble))
    with pytest.raises(TypeError, match="str"):
        ember.tensor("abc")
    with pytest.raises(ValueError, match="equal lengths"):
        ember.tensor([[1, 2], [3]])
    with pytest.raises(RuntimeError, match="floating point"):
        ember.tensor([1, 2], requires_grad=True)


def test_default_dtype_follows_set_default_dtype():
    ember.set_default_dtype(ember.float64)
    assert ember.tensor([1.0]).dtype == ember.float64
    assert ember.zeros(2).dtype == ember.float64
    assert ember.arange(0.0, 1.0, 0.5).dtype == ember.float64
    assert ember.tensor([1]).dtype == ember.int64


def test_as_tensor_shares_when_it_can():
    a = np.arange(3.0)
    t = ember.as_tensor(a)
    a[0] = 9
    assert t.numpy()[0] == 9
    assert ember.as_tensor(a, dtype=ember.float32).numpy() is not a
    x = ember.ones(2)
    assert ember.as_tensor(x) is x
    assert ember.as_tensor(x, dtype=ember.float64).dtype == ember.float64
    assert ember.as_tensor([1, 2]).dtype == ember.int64
    assert ember.asarray([1.0]).dtype == ember.float32


def test_from_numpy_shares_memory_both_ways():
    a = np.zeros((2, 3))
    t = ember.from_numpy(a)
    assert t.dtype == ember.float64
    a[0, 0] = 5
    assert t.numpy()[0, 0] == 5
    t.add_(1)
    assert a[1, 2] == 1
    assert np.shares_memory(t.numpy(), a)
    assert ember.from_numpy(a[:, ::2]).shape == (2, 2)
    with pytest.raises(TypeError, match="from_numpy: expected np.ndarray"):
        ember.from_numpy([1, 2])
    assert ember.from_numpy(np.zeros(2, complex)).dtype == ember.complex128
    with pytest.raises(TypeError, match="uint32"):
        ember.from_numpy(np.zeros(2, np.uint32))


def test_from_dlpack_round_trips():
    torch = torch_or_skip()
    a = np.arange(6.0).reshape(2, 3)
    t = ember.from_dlpack(a)
    assert np.shares_memory(t.numpy(), a)
    back = np.from_dlpack(t)
    assert np.shares_memory(back, a)
    tt = torch.arange(4, dtype=torch.float32)
    e = ember.from_dlpack(tt)
    e.add_(1)
    assert tt.tolist() == [1.0, 2.0, 3.0, 4.0]  # shared memory with torch
    t2 = torch.from_dlpack(ember.ones(3))
    assert t2.tolist() == [1.0, 1.0, 1.0]
    x = ember.ones(2)
    assert np.shares_memory(ember.from_dlpack(x).numpy(), x.numpy())
    with pytest.raises(TypeError, match="__dlpack__"):
        ember.from_dlpack([1, 2])


@pytest.mark.parametrize("fn", ["zeros", "ones", "empty"])
def test_basic_factories(fn):
    f = getattr(ember, fn)
    assert f(2, 3).shape == (2, 3) and f((2, 3)).shape == (2, 3) and f([2, 3]).shape == (2, 3)
    assert f(ember.Size([4])).shape == (4,)
    assert f(()).shape == () and f().shape == ()
    assert f(2, dtype=ember.int32).dtype == ember.int32
    assert f(2).dtype == ember.float32
    t = f(2, requires_grad=True)
    assert t.requires_grad and t.is_leaf
    assert f(2, device="cpu").device == ember.device("cpu")
    with pytest.raises(RuntimeError, match=f"{fn}: Dimension size must be non-negative"):
        f(-1, 2)
    like = getattr(ember, fn + "_like")(ember.zeros(3, dtype=ember.float64))
    assert like.shape == (3,) and like.dtype == ember.float64
    assert getattr(ember, fn + "_like")(t, dtype=ember.int64).dtype == ember.int64
    assert not getattr(ember, fn + "_like")(t).requires_grad


def test_full():
    torch = torch_or_skip()
    for value in (2, 2.5, True):
        e, t = ember.full((2, 2), value), torch.full((2, 2), value)
        assert _name(e.dtype) == _name(t.dtype)
        np.testing.assert_array_equal(e.numpy(), t.numpy())
    assert ember.full((2,), 1.7, dtype=ember.int64).tolist() == [1, 1]
    assert ember.full_like(ember.zeros(2, dtype=ember.int64), 3.9).tolist() == [3, 3]
    assert ember.full_like(ember.zeros(2), 3).dtype == ember.float32
    assert ember.scalar_tensor(3).dtype == ember.float32 and ember.scalar_tensor(3).shape == ()


ARANGE = [
    (5,),
    (5.0,),
    (0, 5, 2),
    (10, 0, -3),
    (0, 1, 0.3),
    (1e-9,),
    (1, 2.5, 0.5),
    (0, 1, 0.1),
    (-1.5, 2.2, 0.37),
    (0, 10, 3),
    (3, 3),
]


@pytest.mark.parametrize("args", ARANGE, ids=[str(a) for a in ARANGE])
def test_arange_matches_torch(args):
    torch = torch_or_skip()
    e, t = ember.arange(*args), torch.arange(*args)
    assert _name(e.dtype) == _name(t.dtype)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_arange_dtypes_and_errors():
    torch = torch_or_skip()
    for args in ((0, 5.5), (0.5, 3)):
        e = ember.arange(*args, dtype=ember.int64)
        np.testing.assert_array_equal(e.numpy(), torch.arange(*args, dtype=torch.int64).numpy())
    assert ember.arange(4, dtype=ember.float64).dtype == ember.float64
    assert ember.arange(ember.tensor(3)).tolist() == [0, 1, 2]
    assert ember.arange(3.0, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        ember.arange(0, 5, 0)
    with pytest.raises(RuntimeError, match="inconsistent with step sign"):
        ember.arange(5, 0)
    with pytest.raises(RuntimeError, match="bool"):
        ember.arange(3, dtype=ember.bool)


@pytest.mark.parametrize(
    "args,kwargs",
    [
        ((0, 1, 5), {}),
        ((0, 10, 4), {"dtype": "int64"}),
        ((-2, 2, 1), {}),
        ((0, 1, 0), {}),
        ((1, 0, 7), {"dtype": "float64"}),
    ],
)
def test_linspace_matches_torch(args, kwargs):
    torch = torch_or_skip()
    e = ember.linspace(*args, **{k: getattr(ember, v) for k, v in kwargs.items()})
    t = torch.linspace(*args, **{k: getattr(torch, v) for k, v in kwargs.items()})
    assert _name(e.dtype) == _name(t.dtype)
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)


def test_logspace_and_eye():
    torch = torch_or_skip()
    np.testing.assert_allclose(ember.logspace(0, 2, 3).numpy(), torch.logspace(0, 2, 3).numpy())
    np.testing.assert_allclose(
        ember.logspace(0, 3, 4, base=2).numpy(), torch.logspace(0, 3, 4, base=2).numpy()
    )
    np.testing.assert_array_equal(ember.eye(2, 3).numpy(), torch.eye(2, 3).numpy())
    assert ember.eye(3, dtype=ember.int64).dtype == ember.int64
    assert ember.eye(0).shape == (0, 0)
    with pytest.raises(RuntimeError, match="linspace: number of steps must be non-negative"):
        ember.linspace(0, 1, -1)
    with pytest.raises(RuntimeError, match="eye: n and m must be greater or equal to 0"):
        ember.eye(-1)


def test_tensor_constructor():
    t = ember.Tensor([1, 2])
    assert t.dtype == ember.float32 and t.tolist() == [1.0, 2.0]
    assert ember.Tensor(2, 3).shape == (2, 3)


def test_tensor_from_a_range():
    t = ember.tensor(range(2, 5))
    assert t.dtype == ember.int64 and t.tolist() == [2, 3, 4]
    assert ember.tensor(range(3), dtype=ember.float32).tolist() == [0.0, 1.0, 2.0]
