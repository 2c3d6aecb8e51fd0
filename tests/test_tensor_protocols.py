"""The Tensor's Python protocols: NumPy interop, DLPack, sizes, conversions, formatting, repr."""

import copy
import pickle

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip


# -- NumPy interop ------------------------------------------------------------------------------
def test_numpy_shares_memory():
    t = ember.zeros(3)
    a = t.numpy()
    a[0] = 4
    assert t.tolist() == [4.0, 0.0, 0.0]
    t.add_(1)
    assert a.tolist() == [5.0, 1.0, 1.0]
    with pytest.raises(RuntimeError, match=r"requires grad.*detach\(\)\.numpy\(\)"):
        ember.ones(2, requires_grad=True).numpy()
    forced = ember.ones(2, requires_grad=True).numpy(force=True)
    assert forced.tolist() == [1.0, 1.0]


def test_array_protocol_with_copy_keyword():
    t = ember.arange(3.0)
    assert np.shares_memory(np.asarray(t), t.numpy())
    assert not np.shares_memory(np.array(t), t.numpy())  # np.array copies by default
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.array(t, copy=None) is t.numpy() or np.shares_memory(np.array(t, copy=None), t.numpy())
    with pytest.raises(ValueError):
        np.array(t, dtype=np.float64, copy=False)
    assert np.array(t, copy=True).tolist() == [0.0, 1.0, 2.0]


def test_ndarray_op_tensor_stays_in_the_graph():
    x = ember.ones(3, requires_grad=True)
    a = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    for y in (a + x, a * x, a - x, a / x, x + a, a @ x):
        assert isinstance(y, ember.Tensor)
        assert y.requires_grad
    (a * x).sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 3.0]
    assert isinstance(np.float64(2.0) * x, ember.Tensor)


def test_dlpack_protocol():
    torch = torch_or_skip()
    t = ember.arange(4.0)
    assert t.__dlpack_device__() == (1, 0)
    back = np.from_dlpack(t)
    assert np.shares_memory(back, t.numpy())
    tt = torch.from_dlpack(t)
    tt.add_(1)
    assert t.tolist() == [1.0, 2.0, 3.0, 4.0]


# -- sizes and attributes ------------------------------------------------------------------------
def test_size_attributes():
    t = ember.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert repr(t.shape) == "ember.Size([2, 3, 4])" and isinstance(t.shape, ember.Size)
    assert t.shape[1:] == (3, 4) and isinstance(t.shape[1:], ember.Size)
    assert t.dim() == 3 and t.ndim == 3 and t.ndimension() == 3
    assert t.numel() == 24 and t.nelement() == 24 and t.shape.numel() == 24
    assert t.dtype == ember.float32 and t.device == ember.device("cpu") and t.is_cpu and not t.is_cuda
    assert t.element_size() == 4 and t.stride() == (12, 4, 1) and t.is_contiguous()
    assert len(t) == 2
    with pytest.raises(IndexError, match=r"size.*range of \[-3, 2\].*got 3"):
        t.size(3)
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(ember.tensor(1.0))


def test_leaf_and_transposes():
    x = ember.ones(2, 3, requires_grad=True)
    assert x.is_leaf and (x * 2).is_leaf is False and ember.ones(2).is_leaf
    assert x.T.shape == (3, 2) and x.mT.shape == (3, 2)
    b = ember.zeros(4, 2, 3)
    assert b.mT.shape == (4, 3, 2)


def test_iteration():
    t = ember.tensor([[1, 2], [3, 4]])
    rows = list(t)
    assert len(rows) == 2 and rows[1].tolist() == [3, 4]
    assert [v.item() for v in ember.tensor([5, 6])] == [5, 6]
    with pytest.raises(TypeError, match="0-d"):
        iter(ember.tensor(1.0))
    x = ember.ones(2, 2, requires_grad=True)
    sum(r.sum() for r in x).backward()  # rows are differentiable views
    assert x.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]


# -- conversions to Python -----------------------------------------------------------------------
def test_scalar_conversions():
    assert bool(ember.tensor([1.0])) and not bool(ember.tensor(0))
    assert float(ember.tensor([2.5])) == 2.5 and int(ember.tensor(3.9)) == 3
    items = ["a", "b", "c"]
    assert items[ember.tensor(1)] == "b" and items[ember.tensor([2])] == "c"
    assert range(10)[ember.tensor(3)] == 3
    with pytest.raises(TypeError, match="integer tensors of a single element"):
        items[ember.tensor(1.0)]
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(ember.ones(2))
    for convert in (float, int, complex):  # PyTorch's ValueError (this read RuntimeError before)
        with pytest.raises(ValueError, match="only one element tensors.*2 elements"):
            convert(ember.ones(2))
    assert complex(ember.tensor(1.5)) == 1.5 + 0j


def test_item_and_tolist():
    assert ember.tensor(2.5).item() == 2.5 and isinstance(ember.tensor(2).item(), int)
    assert isinstance(ember.tensor(True).item(), bool)
    assert ember.tensor([[7.0]]).item() == 7.0
    with pytest.raises(RuntimeError, match="3 elements cannot be converted to Scalar"):
        ember.ones(3).item()
    assert ember.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert ember.tensor(5).tolist() == 5


def test_format_spec():
    t = ember.tensor(3.14159)
    assert f"{t:.3f}" == "3.142" and f"{ember.tensor([2.5]):.1f}" == "2.5"
    assert f"{ember.tensor(7):4d}" == "   7"
    assert f"{t}" == str(t.item())  # 0-d formats as its item, as in PyTorch
    assert f"{ember.ones(2)}" == "tensor([1., 1.])"
    with pytest.raises((TypeError, ValueError, RuntimeError)):
        f"{ember.ones(2):.2f}"


def test_dtype_conversions():
    x = ember.tensor([1.7, -2.2], requires_grad=True)
    assert x.to(ember.float64).dtype == ember.float64 and x.double().dtype == ember.float64
    assert x.float() is x
    assert x.half().dtype == ember.float16 and x.bfloat16().dtype == ember.bfloat16
    assert x.long().tolist() == [1, -2] and x.int().dtype == ember.int32
    assert x.bool().tolist() == [True, True] and x.short().dtype == ember.int16
    assert x.byte().dtype == ember.uint8 and x.char().dtype == ember.int8
    assert x.type_as(ember.zeros(1, dtype=ember.int64)).dtype == ember.int64
    assert x.to("cpu") is x and x.to("cpu", ember.float64).dtype == ember.float64
    assert x.to(ember.zeros(1, dtype=ember.float64)).dtype == ember.float64
    assert x.to(dtype=ember.float32, copy=True) is not x
    assert x.type() == "torch.FloatTensor" and x.long().type() == "torch.LongTensor"
    x.double().sum().backward()  # casts are differentiable
    assert x.grad.dtype == ember.float32 and x.grad.tolist() == [1.0, 1.0]


def test_copy_and_deepcopy():
    x = ember.ones(2, requires_grad=True)
    y = copy.deepcopy(x)
    assert y.requires_grad and y.is_leaf and not np.shares_memory(y.numpy(force=True), x.numpy(force=True))
    with pytest.raises(RuntimeError, match="deepcopy"):
        copy.deepcopy(x * 2)


# -- repr -------------------------------------------------------------------------------------
def _repr_cases(lib):
    t = lib.tensor
    x = t([1.5, 2.0], requires_grad=True)
    return [
        t([1.0, 2.0, 3.0]),
        t([1.5, 2.25]),
        t([1, 2, 3]),
        t([True, False]),
        x,
        x * 2,
        t([1.0, 2.0], dtype=lib.float64),
        t(3.5),
        t(3),
        t([]),
        lib.zeros(0, 3),
        lib.zeros(2, 0),
        t([[1.0, 2.5], [3.0, 4.0]]),
        t([1.0, 10.0, 100.0]),
        t([1e-5, 1.0]),
        t([1e10, 1.0]),
        t([0.1, 0.12345678]),
        t([float("nan"), 1.0, float("inf")]),
        t([-1.0, 2.0]),
        lib.arange(12).reshape(3, 4),
        lib.arange(2000.0),
        t([[1, -20], [300, 4]]),
        t([1.0, 2.0], dtype=lib.float16),
        t(2.5, dtype=lib.float64),
        t([1, 2], dtype=lib.int32),
        t([1, 2], dtype=lib.uint8),
        t(True),
        t(1e-8),
        t([123456.0, 1.0]),
        t([0.0, 0.0]),
        lib.zeros(2, 2, 2),
        t([[True, False]]),
        t([1.0, 2.0], dtype=lib.bfloat16),
        t(-0.0),
        t([1e8, 1.0]),
        t([1e-4, 1.0]),
        t([1.0, 1001.0]),
        lib.ones(3, requires_grad=True).sum(),
        lib.arange(30.0).reshape(5, 6) / 7,
        t([float("-inf"), 1.5]),
        lib.arange(3000).reshape(30, 100),
        lib.arange(24.0).reshape(2, 3, 4),
        lib.arange(40.0, requires_grad=True) * 1.5,
        lib.arange(2000.0).reshape(2, 10, 100),
        t([[1e-9, 2.0]], dtype=lib.float64),
        lib.full((30,), -3.25),
    ]


def test_repr_matches_torch():
    torch = torch_or_skip()
    for e, t in zip(_repr_cases(ember), _repr_cases(torch)):
        assert repr(e) == repr(t).replace("torch", "ember")
        assert str(e) == repr(e)


def test_repr_follows_default_dtype_and_printoptions():
    torch = torch_or_skip()
    ember.set_default_dtype(ember.float64)
    assert repr(ember.tensor([1.5])) == "tensor([1.5000])"
    assert repr(ember.tensor([1.5], dtype=ember.float32)) == "tensor([1.5000], dtype=ember.float32)"
    try:
        ember.set_printoptions(precision=2)
        torch.set_printoptions(precision=2)
        assert (
            repr(ember.tensor([1.2345]))
            == repr(torch.tensor([1.2345], dtype=torch.float64)).split(",")[0] + ")"
        )
        ember.set_printoptions(sci_mode=True)
        assert repr(ember.tensor([1.5])) == "tensor([1.50e+00])"
    finally:
        ember.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")


PRINT_CASES = [
    [1.23456, 1e-5],
    [1.23456, 100.5],
    [1.23456, 1e-5, 1e6],
    [1.0, 2.0],
    [1.0, 1e9],
    [0.5, float("nan"), float("inf")],
    [[1.5, -2.25], [1e-3, 4.0]],
    [0.0, 0.0],
    [-1e-7, 3.0],
]
PRINT_OPTIONS = [
    {"precision": 2, "sci_mode": False},
    {"sci_mode": True},
    {"sci_mode": False},
    {"precision": 1, "sci_mode": True},
]


def test_forced_notation_sets_the_width_of_the_forced_notation():
    try:
        ember.set_printoptions(precision=2, sci_mode=False)
        assert repr(ember.tensor([1.23456, 1e-5])) == "tensor([1.23, 0.00])"
        assert repr(ember.tensor([0.0, 0.0])) == "tensor([0., 0.])"
        ember.set_printoptions(sci_mode=True)
        assert repr(ember.tensor([0.0, 0.0])) == "tensor([0., 0.])"
    finally:
        ember.set_printoptions(profile="default")


@pytest.mark.parametrize("options", PRINT_OPTIONS, ids=str)
def test_print_options_match_pytorch(options):
    torch = torch_or_skip()
    try:
        ember.set_printoptions(**options)
        torch.set_printoptions(**options)
        for values in PRINT_CASES:
            ours = str(ember.tensor(values, dtype=ember.float32))
            assert ours == str(torch.tensor(values, dtype=torch.float32)), values
    finally:
        ember.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")


def test_contains_asks_whether_some_entry_equals():
    t = ember.tensor([[1, 2], [3, 4]])
    assert 2 in t and ember.tensor([1, 3]) in t and ember.tensor(5) not in t
    assert np.int64(4) in t and 4.0 in t
    with pytest.raises(RuntimeError, match="only supports Tensor or scalar"):
        _ = [1, 2] in t


def test_contains_matches_pytorch():
    torch = torch_or_skip()
    for element in (2, 5, 2.5, [1, 3], [1, 2], 7):
        ours, theirs = ember.tensor([[1, 2], [3, 4]]), torch.tensor([[1, 2], [3, 4]])
        if isinstance(element, list):
            assert (ember.tensor(element) in ours) == (torch.tensor(element) in theirs)
        else:
            assert (element in ours) == (element in theirs)


def test_numpy_functions_on_tensors_give_tensors():
    t = ember.tensor([1.0, 4.0])
    for result in (np.sqrt(t), np.exp(t), np.add(t, 1), np.maximum(t, np.zeros(2))):
        assert isinstance(result, ember.Tensor)
    np.testing.assert_allclose(np.sqrt(t).numpy(), [1.0, 2.0])
    assert np.maximum(t, np.zeros(2)).dtype == ember.float64  # NumPy's promotion, as with PyTorch
    assert float(np.mean([ember.tensor(1.0), ember.tensor(2.0)])) == 1.5


def test_ndarray_operators_still_defer_to_the_tensor():
    w = ember.ones(2, requires_grad=True)
    out = np.full(2, 3.0) * w
    assert isinstance(out, ember.Tensor) and out.requires_grad and out.dtype == ember.float64
    out.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [3.0, 3.0])


def test_numpy_functions_match_pytorch():
    torch = torch_or_skip()
    for fn in (np.sqrt, np.exp, np.negative, lambda t: np.add(t, 1), lambda t: np.maximum(t, np.zeros(2))):
        ours, theirs = fn(ember.tensor([1.0, 4.0])), fn(torch.tensor([1.0, 4.0]))
        assert type(theirs).__name__ == type(ours).__name__ == "Tensor"
        assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
        np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_tensor_without_sizes_is_empty():
    assert ember.Tensor().shape == (0,) and ember.Tensor(()).shape == (0,)
    assert ember.Tensor(2, 3).shape == (2, 3)


def test_scalar_conversion_errors_match_pytorch():
    torch = torch_or_skip()
    for convert in (float, int, complex, bool, lambda t: [1, 2][t]):
        kinds = []
        for lib in (ember, torch):
            try:
                convert(lib.ones(2))
            except Exception as error:  # noqa: BLE001 - the type is what is compared
                kinds.append(type(error))
        assert kinds[0] is kinds[1]


def test_tensor_constructor_keeps_a_tensors_dtype():
    assert ember.Tensor(ember.tensor([1, 2])).dtype == ember.int64
    assert ember.Tensor(ember.tensor([1.0], dtype=ember.float64)).dtype == ember.float64
    assert ember.Tensor([1, 2]).dtype == ember.float32
    torch = torch_or_skip()
    assert str(torch.Tensor(torch.tensor([1, 2])).dtype) == "torch.int64"


def _return_types(lib):
    x = lib.tensor([[1.0, 2.0], [3.0, 4.0]])
    return [
        x.max(1),
        x.sort(1, descending=True),
        x.topk(1),
        x.frexp(),
        lib.linalg.slogdet(lib.eye(2)),
        x.cummax(0),
    ]


def test_return_types_print_one_field_a_line_and_pickle():
    result = ember.tensor([[1.0, 2.0], [3.0, 4.0]]).max(1)
    assert repr(result) == "ember.return_types.max(\nvalues=tensor([2., 4.]),\nindices=tensor([1, 1]))"
    values, indices = result
    assert isinstance(result, tuple) and result.values is values and result[1] is indices
    again = pickle.loads(pickle.dumps(result))
    assert type(again) is type(result) and again.indices.tolist() == [1, 1]


def test_return_type_reprs_match_pytorch():
    torch = torch_or_skip()
    for ours, theirs in zip(_return_types(ember), _return_types(torch)):
        assert repr(ours).replace("ember.", "torch.") == repr(theirs)
