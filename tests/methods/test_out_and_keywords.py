"""``out=`` on free functions and factories, and the keyword spellings PyTorch accepts."""

import inspect

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip


def test_out_receives_the_result_and_is_returned():
    a, b = ember.tensor([1.0, 2.0]), ember.tensor([3.0, 4.0])
    out = ember.empty(2)
    result = ember.add(a, b, alpha=2, out=out)
    assert result is out and out.tolist() == [7.0, 10.0]
    assert ember.exp(ember.zeros(3), out=ember.empty(3)).tolist() == [1.0, 1.0, 1.0]


def test_out_casts_within_a_category_and_refuses_to_lower_one():
    out = ember.empty(2, dtype=ember.float64)
    ember.mul(ember.tensor([1.5, 2.0]), 2, out=out)
    assert out.dtype == ember.float64 and out.tolist() == [3.0, 4.0]
    ember.add(ember.tensor([1, 2]), 1, out=out)  # int result into a float out: allowed
    assert out.tolist() == [2.0, 3.0]
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        ember.add(ember.tensor([1.5]), 1, out=ember.empty(1, dtype=ember.int64))


def test_out_is_resized_with_pytorch_warning_unless_empty():
    out = ember.empty(0)
    ember.sub(ember.ones(2, 3), 1, out=out)
    assert out.shape == (2, 3)
    with pytest.warns(UserWarning, match="was resized"):
        ember.sub(ember.ones(4), 1, out=out)
    assert out.shape == (4,) and out.tolist() == [0.0] * 4


def test_out_refuses_autograd():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        ember.mul(x, 2, out=ember.empty(2))
    with ember.no_grad():
        assert ember.mul(x, 2, out=ember.empty(2)).tolist() == [2.0, 2.0]


def test_out_on_tuple_results_and_joins_and_factories():
    x = ember.tensor([[1.0, 5.0], [4.0, 2.0]])
    values, indices = ember.empty(2), ember.empty(2, dtype=ember.int64)
    result = ember.max(x, 1, out=(values, indices))
    assert result.values is values and values.tolist() == [5.0, 4.0] and indices.tolist() == [1, 0]
    joined = ember.empty(4)
    assert ember.cat([x[0], x[1]], out=joined) is joined and joined.tolist() == [1.0, 5.0, 4.0, 2.0]
    as_int = ember.empty(0, dtype=ember.int32)
    ember.zeros(2, 2, out=as_int)  # a factory takes out's dtype
    assert as_int.dtype == ember.int32 and as_int.shape == (2, 2)
    assert ember.arange(3, out=ember.empty(0)).tolist() == [0.0, 1.0, 2.0]


def test_out_matches_pytorch():
    torch = torch_or_skip()
    a = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    ours, theirs = ember.empty(3, 4), torch.empty(3, 4)
    ember.atan2(ember.tensor(a), ember.tensor(a.T.copy()).t(), out=ours)
    torch.atan2(torch.tensor(a), torch.tensor(a.T.copy()).t(), out=theirs)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_free_functions_accept_input_and_advertise_their_signature():
    x = ember.tensor([1.0, -2.0])
    assert ember.abs(input=x).tolist() == [1.0, 2.0]
    assert ember.add(input=x, other=x).tolist() == [2.0, -4.0]
    params = inspect.signature(ember.add).parameters
    assert list(params)[:2] == ["input", "other"] and "out" in params and "alpha" in params


def test_keyword_aliases_pytorch_accepts():
    x = ember.arange(6.0).reshape(2, 3)
    assert ember.flip(x, dims=[0]).tolist() == [[3.0, 4.0, 5.0], [0.0, 1.0, 2.0]]
    assert x.flip(dims=(1,)).tolist() == x.flip(1).tolist()
    assert x.permute(dims=(1, 0)).shape == (3, 2)
    assert x.view(size=(3, 2)).shape == (3, 2) and x.reshape(shape=(6,)).shape == (6,)
    assert x.tile(dims=(2, 1)).shape == (4, 3) and x.broadcast_to(size=(2, 2, 3)).shape == (2, 2, 3)
    assert x.swapaxes(axis0=0, axis1=1).shape == (3, 2)
    assert [p.shape[1] for p in x.tensor_split(sections=3, dim=1)] == [1, 1, 1]
    assert [p.shape[1] for p in x.tensor_split(indices=[1], dim=1)] == [1, 2]
    assert [p.shape[0] for p in ember.split(tensor=x, split_size_or_sections=1)] == [1, 1]
    assert x.max(other=x + 1).tolist() == (x + 1).tolist()
    assert ember.tensor([1.0, 2.0]).dot(tensor=ember.tensor([3.0, 4.0])).item() == 11.0
    assert x.new_zeros(size=(2,)).tolist() == [0.0, 0.0]
    assert x.float(memory_format=None) is x
    r = ember.randint(low=2, high=5, size=(20,))
    assert r.min().item() >= 2 and r.max().item() < 5


def test_range_is_an_index_like_a_list():
    torch = torch_or_skip()
    a = np.arange(12.0).reshape(3, 4)
    ours, theirs = ember.tensor(a), torch.tensor(a)
    np.testing.assert_array_equal(ours[range(1, 3)].numpy(), theirs[range(1, 3)].numpy())
    np.testing.assert_array_equal(ours[:, range(0, 4, 2)].numpy(), theirs[:, range(0, 4, 2)].numpy())
    ours[range(2)] = 0.0
    theirs[range(2)] = 0.0
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_numpy_spellings_of_dim_and_keepdim():
    torch = torch_or_skip()
    a = np.random.default_rng(1).normal(size=(3, 4))
    ours, theirs = ember.tensor(a), torch.tensor(a)
    for name in ("sum", "mean", "amax", "std", "logsumexp", "argmax"):
        np.testing.assert_allclose(
            getattr(ours, name)(axis=1, keepdims=True).numpy(),
            getattr(theirs, name)(axis=1, keepdims=True).numpy(),
        )
    np.testing.assert_allclose(ember.sum(ours, axis=0).numpy(), torch.sum(theirs, axis=0).numpy())
    with pytest.raises(TypeError, match="multiple values"):
        ours.sum(dim=0, axis=1)
