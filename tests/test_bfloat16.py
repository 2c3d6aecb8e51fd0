"""bfloat16 on the CPU (ml_dtypes' type, whose NumPy kind is 'V'): a floating dtype throughout.

Float math keeps bfloat16 (ml_dtypes' matrix products answer in float32 and are cast back),
tensors can require grad, and reductions, softmax and losses accept it, as in PyTorch.
"""

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip

pytest.importorskip("ml_dtypes")


def _b(lib):
    return lib.tensor([[1.5, -2.25], [0.5, 3.0]], dtype=lib.bfloat16)


OPS = {
    "exp": lambda lib: _b(lib).exp(),
    "sigmoid": lambda lib: _b(lib).sigmoid(),
    "sqrt": lambda lib: _b(lib).abs().sqrt(),
    "matmul": lambda lib: _b(lib) @ _b(lib),
    "linear": lambda lib: lib.nn.functional.linear(_b(lib), _b(lib), _b(lib)[0]),
    "einsum": lambda lib: lib.einsum("ij,jk->ik", _b(lib), _b(lib)),
    "conv1d": lambda lib: lib.nn.functional.conv1d(_b(lib)[None], _b(lib)[:, :, None]),
    "softmax": lambda lib: _b(lib).softmax(-1),
    "mean": lambda lib: _b(lib).mean(),
    "var": lambda lib: _b(lib).var(),
    "norm": lambda lib: _b(lib).norm(),
    "cross_entropy": lambda lib: lib.nn.functional.cross_entropy(_b(lib), lib.tensor([0, 1])),
    "lerp": lambda lib: _b(lib).lerp(_b(lib) * 2, 0.5),
    "sdpa": lambda lib: lib.nn.functional.scaled_dot_product_attention(*(_b(lib)[None],) * 3),
    "exp_grad": lambda lib: (lambda x: ((x.exp() * x).sum().backward(), x.grad)[1])(_b(lib).requires_grad_()),
    "matmul_grad": lambda lib: (lambda x: ((x @ x).sum().backward(), x.grad)[1])(_b(lib).requires_grad_()),
    "conv_grad": lambda lib: (
        lambda x: (lib.nn.functional.conv1d(x[None], x[:, :, None]).sum().backward(), x.grad)[1]
    )(_b(lib).requires_grad_()),
}


@pytest.mark.parametrize("name", OPS)
def test_bfloat16_stays_bfloat16(name):
    out = OPS[name](ember)
    assert out.dtype == ember.bfloat16


@pytest.mark.parametrize("name", OPS)
def test_bfloat16_matches_pytorch(name):
    torch = torch_or_skip()
    ours, theirs = OPS[name](ember), OPS[name](torch)
    assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
    np.testing.assert_allclose(
        ours.detach().float().numpy(), theirs.detach().float().numpy(), rtol=3e-2, atol=3e-2
    )


def test_bfloat16_is_floating_and_can_require_grad():
    x = _b(ember)
    assert x.is_floating_point() and x.requires_grad_().requires_grad
    layer = ember.nn.Linear(2, 2).to(ember.bfloat16)
    out = layer(x)
    out.sum().backward()
    assert out.dtype == layer.weight.grad.dtype == ember.bfloat16
    np.testing.assert_allclose(
        (x.float() @ x.float()).detach().numpy(), (x @ x).float().detach().numpy(), rtol=1e-2
    )
