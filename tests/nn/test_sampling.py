"""``affine_grid`` and ``grid_sample`` against PyTorch (values, input and grid gradients) and
finite differences."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import ember
from ember.autograd.numerical import gradcheck, gradgradcheck
from ember.nn import functional as F
from tests.helpers import torch_or_skip

MODES_2D = list(
    itertools.product(["bilinear", "nearest", "bicubic"], ["zeros", "border", "reflection"], [False, True])
)
MODES_3D = list(itertools.product(["bilinear", "nearest"], ["zeros", "border", "reflection"], [False, True]))


def _compare(x, g, mode, padding_mode, align_corners):
    torch = torch_or_skip()
    ex, eg = ember.tensor(x, requires_grad=True), ember.tensor(g, requires_grad=True)
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
    e_out = F.grid_sample(ex, eg, mode, padding_mode, align_corners)
    t_out = torch.nn.functional.grid_sample(tx, tg, mode, padding_mode, align_corners)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), atol=1e-12)
    go = np.random.default_rng(9).standard_normal(tuple(t_out.shape))
    e_out.backward(ember.tensor(go))
    t_out.backward(torch.tensor(go))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(eg.grad.numpy(), tg.grad.numpy(), atol=1e-11)


@pytest.mark.parametrize("mode,padding_mode,align_corners", MODES_2D, ids=str)
def test_grid_sample_2d_matches_torch(mode, padding_mode, align_corners):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5))
    g = rng.uniform(-1.3, 1.3, (2, 3, 4, 2))  # some positions outside the input
    _compare(x, g, mode, padding_mode, align_corners)


@pytest.mark.parametrize("mode,padding_mode,align_corners", MODES_3D, ids=str)
def test_grid_sample_3d_matches_torch(mode, padding_mode, align_corners):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 3, 4, 5))
    g = rng.uniform(-1.3, 1.3, (2, 2, 3, 2, 3))
    _compare(x, g, mode, padding_mode, align_corners)


@pytest.mark.parametrize(
    "size,shape",
    [([2, 3, 4, 5], (2, 2, 3)), ([2, 3, 2, 4, 5], (2, 3, 4)), ([1, 1, 1, 3], (1, 2, 3))],
    ids=str,
)
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_matches_torch(size, shape, align_corners):
    torch = torch_or_skip()
    theta = np.random.default_rng(2).standard_normal(shape)
    et, tt = ember.tensor(theta, requires_grad=True), torch.tensor(theta, requires_grad=True)
    e_out = F.affine_grid(et, size, align_corners)
    t_out = torch.nn.functional.affine_grid(tt, size, align_corners)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), atol=1e-12)
    e_out.sum().backward()
    t_out.sum().backward()
    np.testing.assert_allclose(et.grad.numpy(), tt.grad.numpy(), atol=1e-12)


def test_spatial_transformer_identity_and_gradcheck():
    x = ember.tensor(np.random.default_rng(3).standard_normal((1, 2, 3, 4)), requires_grad=True)
    identity = ember.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], dtype=ember.float64)
    grid = F.affine_grid(identity, [1, 2, 3, 4], align_corners=False)
    np.testing.assert_allclose(
        F.grid_sample(x, grid, align_corners=False).detach().numpy(), x.detach().numpy(), atol=1e-12
    )
    theta = ember.tensor([[[0.9, 0.2, 0.1], [-0.1, 0.8, 0.05]]], dtype=ember.float64, requires_grad=True)

    def warp(x, theta):
        grid = F.affine_grid(theta, [1, 2, 3, 3], align_corners=False)
        return F.grid_sample(x, grid, padding_mode="border", align_corners=False)

    assert gradcheck(warp, (x, theta))
    assert gradgradcheck(lambda x: warp(x, theta.detach()), (x,))


def test_grid_sample_errors_and_warnings():
    x, g = ember.ones(1, 1, 3, 3), ember.zeros(1, 2, 2, 2)
    with pytest.warns(UserWarning, match="align_corners"):
        F.grid_sample(x, g)
    with pytest.raises(ValueError, match="mode"):
        F.grid_sample(x, g, mode="area", align_corners=False)
    with pytest.raises(ValueError, match="padding_mode"):
        F.grid_sample(x, g, padding_mode="wrap", align_corners=False)
    with pytest.raises(RuntimeError, match="grid_sample"):
        F.grid_sample(x, ember.zeros(1, 2, 2, 3), align_corners=False)
    with pytest.raises(ValueError, match="affine"):
        F.affine_grid(ember.zeros(1, 3, 3), [1, 1, 2, 2], False)
    assert F.GRID_SAMPLE_PADDING_MODES["reflection"] == 2
