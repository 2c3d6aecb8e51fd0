"""Mixed precision on "cuda": autocast float16, GradScaler training, TF32 switch."""

from __future__ import annotations

import numpy as np

import ember
import ember.nn.functional as F
from tests.cuda.conftest import host


def test_autocast_cuda_float16_and_the_float32_list(device):
    model = ember.nn.Sequential(ember.nn.Linear(6, 8), ember.nn.ReLU(), ember.nn.Linear(8, 3)).to(device)
    x, y = ember.randn(5, 6, device=device), ember.tensor([0, 1, 2, 0, 1], device=device)
    with ember.autocast("cuda"):
        logits = model(x)
        loss = F.cross_entropy(logits, y)
    assert logits.dtype == ember.float16 and loss.dtype == ember.float32 and logits.is_cuda
    loss.backward()
    assert all(p.grad.dtype == ember.float32 and p.grad.is_cuda for p in model.parameters())
    reference = F.cross_entropy(model(x), y)
    np.testing.assert_allclose(host(loss), host(reference), rtol=1e-2)


def test_cuda_float32_list_covers_reductions_and_exp(device):
    """CUDA's float32 list is longer than the CPU's: softmax, the normalisations, sums, means
    and exp/log run in float32 there, as in PyTorch."""
    a, w = ember.randn(4, 3, device=device), ember.randn(2, 3, device=device)
    with ember.autocast("cuda"):
        low = a @ w.t()
        assert low.dtype == ember.float16
        for wide in (low.softmax(1), F.log_softmax(low, 1), F.layer_norm(low, (2,)), low.sum(),
                     low.mean(), low.exp(), low.abs().log(), F.softplus(low),
                     F.cross_entropy(low, ember.tensor([0, 1, 0, 1], device=device)),
                     F.mse_loss(low, low.detach())):  # fmt: skip
            assert wide.dtype == ember.float32
        assert low.relu().dtype == ember.float16  # follows its input


def test_grad_scaler_training_on_cuda(device):
    ember.manual_seed(0)
    model = ember.nn.Linear(4, 1).to(device)
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    scaler = ember.cuda.amp.GradScaler(init_scale=2.0**10, growth_interval=1)
    x, target = ember.randn(16, 4, device=device), ember.randn(16, 1, device=device)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        with ember.cuda.amp.autocast():
            loss = F.mse_loss(model(x).float(), target)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
    assert losses[-1] < losses[0] and scaler.get_scale() == 2.0**15
    model.weight.grad = ember.full((1, 4), float("inf"), device=device)
    before = host(model.weight).copy()
    scaler.step(opt)
    scaler.update()
    np.testing.assert_array_equal(host(model.weight), before)
    assert scaler.get_scale() == 2.0**14


def test_tf32_switch(device):
    assert ember.get_float32_matmul_precision() == "highest" and not ember.backends.cuda.matmul.allow_tf32
    try:
        ember.set_float32_matmul_precision("high")
        assert ember.backends.cuda.matmul.allow_tf32 and ember.get_float32_matmul_precision() == "high"
        a = ember.randn(32, 32, device=device)
        np.testing.assert_allclose(host(a @ a), host(a.cpu() @ a.cpu()), rtol=1e-2, atol=1e-2)
        ember.backends.cuda.matmul.allow_tf32 = False
        assert ember.get_float32_matmul_precision() == "highest"
    finally:
        ember.set_float32_matmul_precision("highest")
