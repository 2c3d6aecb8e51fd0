"""``ember.amp.GradScaler``: scale, unscale, skip steps with inf/NaN gradients, grow, back off."""

from __future__ import annotations

import math

import pytest

import ember


def _setup(scale=8.0, interval=2):
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = ember.optim.SGD([w], lr=0.1)
    scaler = ember.amp.GradScaler("cpu", init_scale=scale, growth_interval=interval)
    return w, opt, scaler


def test_a_clean_step_unscales_and_steps():
    w, opt, scaler = _setup()
    loss = (w * w).sum()
    scaled = scaler.scale(loss)
    assert scaled.item() == pytest.approx(8.0 * loss.item())
    scaled.backward()
    scaler.step(opt)
    assert w.tolist() == pytest.approx([1.0 - 0.1 * 2.0, 2.0 - 0.1 * 4.0])
    scaler.update()
    assert scaler.get_scale() == 8.0


def test_inf_gradients_skip_the_step_and_back_off():
    w, opt, scaler = _setup()
    scaler.scale((w * float("inf")).sum()).backward()
    assert scaler.step(opt) is None
    assert w.tolist() == [1.0, 2.0]
    scaler.update()
    assert scaler.get_scale() == 4.0


def test_nan_gradients_skip_too_and_growth_after_the_interval():
    w, opt, scaler = _setup(interval=2)
    w.grad = ember.tensor([math.nan, 1.0])
    scaler.step(opt)
    scaler.update()
    assert w.tolist() == [1.0, 2.0] and scaler.get_scale() == 4.0
    for _ in range(2):
        opt.zero_grad()
        scaler.scale((w * w).sum()).backward()
        scaler.step(opt)
        scaler.update()
    assert scaler.get_scale() == 8.0


def test_unscale_then_clip_then_step():
    w, opt, scaler = _setup()
    scaler.scale((w * w).sum()).backward()
    scaler.unscale_(opt)
    assert w.grad.tolist() == pytest.approx([2.0, 4.0])
    ember.nn.utils.clip_grad_norm_([w], 1.0)
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.step(opt)
    scaler.update()


def test_state_dict_round_trip_and_disabled():
    _, _, scaler = _setup(scale=16.0)
    other = ember.amp.GradScaler("cpu")
    other.load_state_dict(scaler.state_dict())
    assert other.get_scale() == 16.0 and other.state_dict() == scaler.state_dict()
    off = ember.amp.GradScaler("cpu", enabled=False)
    assert not off.is_enabled() and off.get_scale() == 1.0 and off.state_dict() == {}
    t = ember.ones(1)
    assert off.scale(t) is t


def test_without_cuda_the_cuda_scaler_disables_itself_with_a_warning():
    if ember.cuda.is_available():
        pytest.skip("CUDA is available")
    with pytest.warns(UserWarning, match="CUDA is not available"):
        scaler = ember.cuda.amp.GradScaler()
    assert not scaler.is_enabled()


def test_bad_factors():
    with pytest.raises(ValueError, match="growth factor"):
        ember.amp.GradScaler("cpu", growth_factor=1.0)
    with pytest.raises(ValueError, match="backoff factor"):
        ember.amp.GradScaler("cpu", backoff_factor=1.0)
