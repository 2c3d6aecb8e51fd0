"""Import paths that code written for PyTorch uses, PyTorch's private-looking ones included."""

import importlib

import pytest

import ember
from tests.helpers import torch_or_skip

# (module under ``torch.``, names imported from it)
PATHS = [
    ("nn.modules.activation", ["MultiheadAttention", "ReLU"]),
    ("nn.init", ["_calculate_fan_in_and_fan_out", "_calculate_correct_fan", "_no_grad_trunc_normal_"]),
    ("nn.init", ["_no_grad_uniform_", "_no_grad_normal_", "_no_grad_fill_", "_no_grad_zero_"]),
    (
        "nn.common_types",
        ["_size_1_t", "_size_2_t", "_size_3_t", "_size_any_t", "_ratio_2_t", "_size_2_opt_t"],
    ),
    (
        "types",
        ["Number", "Device", "_size", "_dtype", "_device", "_int", "_float", "_bool", "_TensorOrTensors"],
    ),
    ("utils.data._utils.collate", ["default_collate", "default_convert"]),
    ("utils._pytree", ["tree_map", "tree_flatten", "tree_unflatten", "tree_leaves", "TreeSpec"]),
    ("nn.attention", ["SDPBackend", "sdpa_kernel"]),
    ("utils.checkpoint", ["checkpoint", "checkpoint_sequential"]),
    ("func", ["functional_call", "grad", "vmap", "jacrev"]),
    ("nn.utils.stateless", ["functional_call"]),
    ("testing", ["assert_close", "make_tensor"]),
    ("jit", ["script", "is_scripting", "ignore", "Final"]),
]


@pytest.mark.parametrize("module, names", PATHS, ids=lambda p: p if isinstance(p, str) else None)
def test_ember_provides_the_path(module, names):
    imported = importlib.import_module(f"ember.{module}")
    missing = [n for n in names if not hasattr(imported, n)]
    assert not missing, f"ember.{module} lacks {missing}"


@pytest.mark.parametrize("module, names", PATHS, ids=lambda p: p if isinstance(p, str) else None)
def test_pytorch_has_the_same_path(module, names):
    torch_or_skip()
    imported = importlib.import_module(f"torch.{module}")
    assert all(hasattr(imported, n) for n in names)


def test_helpers_behave():
    from ember.nn.init import _calculate_fan_in_and_fan_out, _no_grad_trunc_normal_

    w = ember.empty(4, 3, 2)
    assert _calculate_fan_in_and_fan_out(w) == (6, 8)
    _no_grad_trunc_normal_(w, 0.0, 1.0, -0.5, 0.5)
    assert bool((w.abs() <= 0.5).all())
    from ember.nn.modules.activation import MultiheadAttention

    assert MultiheadAttention is ember.nn.MultiheadAttention
    from ember.utils.data._utils.collate import default_collate

    assert default_collate([1, 2]).tolist() == [1, 2]


def test_version_module():
    assert ember.version.__version__ == ember.__version__
    assert ember.version.hip is None and ember.version.debug is False
    cuda = ember.version.cuda
    assert cuda is None or (isinstance(cuda, str) and cuda.count(".") == 1)
    assert (cuda is None) == (not ember.cuda.is_available())
