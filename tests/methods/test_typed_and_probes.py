"""Legacy typed constructors, ``Tensor.type``, device probes, process settings and transforms."""

import importlib

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip

_TYPES = {
    "FloatTensor": ember.float32,
    "DoubleTensor": ember.float64,
    "HalfTensor": ember.float16,
    "BFloat16Tensor": ember.bfloat16,
    "LongTensor": ember.int64,
    "IntTensor": ember.int32,
    "ShortTensor": ember.int16,
    "CharTensor": ember.int8,
    "ByteTensor": ember.uint8,
    "BoolTensor": ember.bool,
}


@pytest.mark.parametrize("name", sorted(_TYPES))
def test_typed_constructors_from_data_sizes_and_nothing(name):
    cls = getattr(ember, name)
    from_data = cls([1, 0, 1])
    assert from_data.dtype == _TYPES[name] and from_data.tolist()[1] == 0
    assert cls(2, 3).shape == (2, 3) and cls(ember.Size([4])).shape == (4,)
    assert cls().shape == (0,)
    assert isinstance(from_data, cls)
    other = "LongTensor" if name != "LongTensor" else "FloatTensor"
    assert not isinstance(from_data, getattr(ember, other))
    assert from_data.type() == f"torch.{name}"


def test_isinstance_matches_pytorch_exactly_for_float32_cpu():
    x = ember.zeros(2)
    assert isinstance(x, ember.FloatTensor) and not isinstance(x.double(), ember.FloatTensor)
    assert not isinstance(x, ember.cuda.FloatTensor) and not isinstance([1.0], ember.FloatTensor)


def test_type_converts_by_class_name_or_dtype():
    x = ember.tensor([1.5, 2.5])
    assert x.type(ember.LongTensor).tolist() == [1, 2]
    assert x.type("torch.DoubleTensor").dtype == ember.float64
    assert x.type(ember.int32).dtype == ember.int32
    assert ember.typename(x) == "torch.FloatTensor"


def test_cuda_types_and_default_device_say_there_is_no_gpu():
    if ember.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        ember.cuda.FloatTensor([1.0])
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        ember.set_default_device("cuda")
    ember.set_default_device("cpu")
    assert ember.get_default_device() == ember.device("cpu")


def test_set_default_tensor_type_sets_the_default_dtype_and_warns():
    with pytest.warns(UserWarning, match="deprecated"):
        ember.set_default_tensor_type(ember.DoubleTensor)
    try:
        assert ember.tensor([1.0]).dtype == ember.float64
    finally:
        ember.set_default_dtype(ember.float32)
    with pytest.raises(TypeError), pytest.warns(UserWarning):
        ember.set_default_tensor_type("torch.LongTensor")


def test_typed_constructors_match_pytorch():
    torch = torch_or_skip()
    for name in ("FloatTensor", ("LongTensor"), "ByteTensor"):
        ours, theirs = getattr(ember, name)([[1, 2], [3, 4]]), getattr(torch, name)([[1, 2], [3, 4]])
        assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
        assert ours.type() == theirs.type()
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert (
        ember.tensor([1.0]).type(ember.IntTensor).type() == torch.tensor([1.0]).type(torch.IntTensor).type()
    )


def test_device_probes_and_get_device():
    x = ember.ones(2)
    for probe in (
        "is_xpu",
        "is_mps",
        "is_ipu",
        "is_xla",
        "is_meta",
        "is_mkldnn",
        "is_mtia",
        "is_vulkan",
        "is_nested",
        "is_sparse",
        "is_quantized",
        "is_cuda",
    ):
        assert getattr(x, probe) is False, probe
    assert x.is_cpu and x.get_device() == -1 and ember.get_device(x) == -1
    assert not x.is_pinned() and x.record_stream(None) is None
    if not ember.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            x.pin_memory()


def test_predicates():
    x = ember.tensor([1.0, 2.0])
    assert ember.tensor([3]).is_nonzero() and not ember.tensor([0.0]).is_nonzero()
    with pytest.raises(RuntimeError, match="more than one value"):
        x.is_nonzero()
    assert x.is_same_size(ember.zeros(2)) and not x.is_same_size(ember.zeros(3))
    assert not x.is_inference() and not x.is_conj() and not x.is_neg()
    assert x.conj() is x and x.resolve_conj() is x and x.resolve_neg() is x and x.real is x
    assert ember.is_complex(x) is False and ember.is_signed(x) and not ember.is_storage(x)
    with pytest.raises(RuntimeError, match="non-complex"):
        x.imag  # noqa: B018


def test_storage_era_methods():
    x = ember.arange(6.0)
    assert x.new(2, 3).shape == (2, 3) and x.new([1, 2]).dtype == ember.float32
    view = x[2:]
    assert view.storage_offset() == 2 and x.storage_offset() == 0
    y = ember.arange(4.0)
    y.apply_(lambda v: v * 10)
    assert y.tolist() == [0.0, 10.0, 20.0, 30.0]
    y.map_(ember.ones(4), lambda a, b: a + b)
    assert y.tolist() == [1.0, 11.0, 21.0, 31.0]
    y.resize_(2, 2)
    assert y.shape == (2, 2) and y.tolist() == [[1.0, 11.0], [21.0, 31.0]]
    y.resize_as_(ember.zeros(1))
    assert y.tolist() == [1.0]


def test_settings_are_recorded_and_answered():
    threads = ember.get_num_threads()
    ember.set_num_threads(3)
    assert ember.get_num_threads() == 3
    ember.set_num_threads(threads)  # it sizes real thread pools: leave them as they were
    ember.set_float32_matmul_precision("high")
    assert ember.get_float32_matmul_precision() == "high"
    ember.set_float32_matmul_precision("highest")
    ember.use_deterministic_algorithms(True, warn_only=True)
    assert ember.are_deterministic_algorithms_enabled() and ember.get_deterministic_debug_mode() == 1
    ember.use_deterministic_algorithms(False)
    assert ember.set_flush_denormal(True) is False
    with pytest.raises(RuntimeError):
        ember.set_float32_matmul_precision("fast")
    assert ember.pi == np.pi and ember.inf == np.inf and ember.newaxis is None


def test_compile_returns_its_argument():
    def f(x):
        return x * 2

    assert ember.compile(f) is f and ember.compile(mode="max-autotune")(f) is f


def test_vmap_maps_and_differentiates():
    w = ember.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    xs = ember.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    out = ember.vmap(lambda x: w.mv(x))(xs)
    assert out.tolist() == (xs @ w.t()).tolist()
    out.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.ones((2, 1)) @ xs.sum(0, keepdim=True).numpy())
    pairs = ember.vmap(lambda a, b: (a + b, a * b), in_dims=(0, None))(xs, ember.tensor([2.0, 3.0]))
    assert pairs[1].tolist() == (xs * ember.tensor([2.0, 3.0])).tolist()
    assert ember.vmap(lambda a: a.sum(), in_dims=1)(xs).tolist() == xs.sum(0).tolist()


@pytest.mark.parametrize(
    "name", ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]
)
@pytest.mark.parametrize("periodic", [True, False])
def test_windows_match_pytorch(name, periodic):
    torch = torch_or_skip()
    for n in (0, 1, 7):
        ours = getattr(ember, name)(n, periodic, dtype=ember.float64)
        theirs = getattr(torch, name)(n, periodic, dtype=torch.float64)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-12)


def test_windows_against_numpy():
    np.testing.assert_allclose(
        ember.hann_window(8, periodic=False, dtype=ember.float64).numpy(), np.hanning(8), atol=1e-12
    )
    np.testing.assert_allclose(
        ember.kaiser_window(6, False, 5.0, dtype=ember.float64).numpy(), np.kaiser(6, 5.0), atol=1e-12
    )


def test_nn_functional_aliases_at_the_top_level():
    x = ember.randn(1, 2, 5, 5)
    w = ember.randn(3, 2, 3, 3)
    F = ember.nn.functional
    np.testing.assert_allclose(ember.conv2d(x, w).numpy(), F.conv2d(x, w).numpy())
    assert ember.dropout(x, 0.5, False) is x or ember.dropout(x, 0.5, False).tolist() == x.tolist()
    emb = ember.randn(5, 3)
    idx = ember.tensor([0, 4])
    assert ember.embedding(emb, idx).tolist() == emb[idx].tolist()
    shape = (5,)
    ln = ember.layer_norm(ember.randn(2, 5), shape)
    np.testing.assert_allclose(ln.mean(-1).numpy(), 0, atol=1e-5)
    assert hasattr(ember, "batch_norm") and not hasattr(ember, "no_such_function")


def test_device_as_a_context_manager_sets_and_restores_the_default():
    with ember.device("cpu") as dev:
        assert dev == ember.device("cpu")
        assert ember.ones(1).device == ember.device("cpu")
        assert ember.get_default_device() == ember.device("cpu")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        with ember.device("cuda"):
            pass
    assert ember.get_default_device() == ember.device("cpu")
    assert ember.zeros(1).device == ember.device("cpu")
    device_module = importlib.import_module("ember.device")  # ember.device is the class
    assert device_module._replaced_defaults == []  # a failed enter leaves nothing to restore
