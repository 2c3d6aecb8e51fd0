"""The flat fast path gives the same bits as the per-parameter reference path."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import ember
from tests.optim._cases import ALL, case_id, gradient_sequence, initial_params


def _params(init):
    return [ember.tensor(a, requires_grad=True) for a in init]


def _set_grads(params, grads, skip=()):
    for i, (p, g) in enumerate(zip(params, grads)):
        p.grad = None if i in skip else ember.tensor(g)


def _assert_same(a, b):
    for x, y in zip(a, b):
        assert np.array_equal(x.detach().numpy(), y.detach().numpy())


def _assert_same_state(opt_a, opt_b):
    sa, sb = opt_a.state_dict()["state"], opt_b.state_dict()["state"]
    assert sa.keys() == sb.keys()
    for k in sa:
        assert sa[k].keys() == sb[k].keys()
        for name in sa[k]:
            assert np.array_equal(np.asarray(sa[k][name]), np.asarray(sb[k][name])), name


@pytest.mark.parametrize("case", ALL, ids=case_id)
def test_flat_equals_per_parameter_with_mid_run_changes(case):
    name, kwargs = case
    init, grads = initial_params(), gradient_sequence(30)
    runs = []
    for foreach in (None, False):
        params = _params(init[:3])
        opt = getattr(ember.optim, name)(params, foreach=foreach, **kwargs)
        for step, g in enumerate(grads):
            if step == 4:
                opt.param_groups[0]["lr"] *= 0.5
            if step == 10:
                extra = ember.tensor(init[3], requires_grad=True)
                params.append(extra)
                opt.add_param_group({"params": [extra], "lr": 0.002})
            skip = (1,) if 14 <= step < 17 else ()
            _set_grads(params, g[: len(params)], skip)
            opt.step()
        runs.append((params, opt))
    (flat_params, flat_opt), (ref_params, ref_opt) = runs
    _assert_same(flat_params, ref_params)
    _assert_same_state(flat_opt, ref_opt)


def test_flat_path_is_taken_and_params_keep_their_arrays():
    params = _params(initial_params())
    arrays = [p.detach().numpy() for p in params]  # memory a user shares with NumPy
    opt = ember.optim.Adam(params, lr=0.01)
    for g in gradient_sequence(3):
        _set_grads(params, g)
        opt.step()
    (bucket,) = opt._flat.buckets.values()
    assert all(p._data is a for p, a in zip(params, arrays))
    assert not any(np.shares_memory(p._data, bucket.flat) for p in params)
    before = [a.copy() for a in arrays]
    _set_grads(params, gradient_sequence(1)[0])
    opt.step()
    assert all(not np.array_equal(a, b) for a, b in zip(arrays, before)), "updates reach shared memory"
    assert all(p.shape == tuple(s) for p, s in zip(params, [a.shape for a in initial_params()]))


def test_versions_bump_on_both_paths():
    for foreach in (None, False):
        params = _params(initial_params())
        opt = ember.optim.SGD(params, lr=0.1, momentum=0.9, foreach=foreach)
        before = [p._version for p in params]
        for g in gradient_sequence(3):
            _set_grads(params, g)
            opt.step()
        assert all(p._version == v + 3 for p, v in zip(params, before))


def test_replaced_parameter_data_rebuilds_layout():
    init, grads = initial_params(), gradient_sequence(8)
    results = []
    for foreach in (None, False):
        params = _params(init)
        opt = ember.optim.Adam(params, lr=0.01, foreach=foreach)
        for step, g in enumerate(grads):
            if step == 4:
                params[0].data = ember.tensor(np.ones_like(init[0]))
            _set_grads(params, g)
            opt.step()
        results.append(params)
    _assert_same(*results)


def test_new_optimizer_over_same_params_continues():
    init, grads = initial_params(), gradient_sequence(10)
    params = _params(init)
    first = ember.optim.SGD(params, lr=0.1, momentum=0.9)
    for g in grads[:5]:
        _set_grads(params, g)
        first.step()
    snapshot = [p.detach().numpy().copy() for p in params]
    second = ember.optim.Adam(params, lr=0.01)
    _set_grads(params, grads[5])
    second.step()
    reference = _params(snapshot)
    ref_opt = ember.optim.Adam(reference, lr=0.01, foreach=False)
    _set_grads(reference, grads[5])
    ref_opt.step()
    _assert_same(params, reference)
    # and the first optimizer, stepped again, still works on the current weights
    _set_grads(params, grads[6])
    first.step()
    assert all(np.isfinite(p.detach().numpy()).all() for p in params)


def test_state_dict_resume_is_exact_on_flat_path():
    init, grads = initial_params(), gradient_sequence(12)
    params = _params(init)
    opt = ember.optim.AdamW(params, lr=0.01)
    for g in grads[:6]:
        _set_grads(params, g)
        opt.step()
    saved_state = copy.deepcopy(opt.state_dict())
    saved_params = [p.detach().numpy().copy() for p in params]
    for g in grads[6:]:
        _set_grads(params, g)
        opt.step()
    resumed = _params(saved_params)
    fresh = ember.optim.AdamW(resumed, lr=0.01)
    fresh.load_state_dict(saved_state)
    for g in grads[6:]:
        _set_grads(resumed, g)
        fresh.step()
    _assert_same(params, resumed)


def test_mixed_dtypes_fall_back_to_per_parameter():
    init, grads = initial_params(), gradient_sequence(4)
    params = _params(init)
    params[1] = ember.tensor(init[1].astype(np.float64), requires_grad=True)
    opt = ember.optim.Adam(params, lr=0.01)
    for g in grads:
        for p, a in zip(params, g):
            p.grad = ember.tensor(a.astype(p.detach().numpy().dtype))
        opt.step()
    assert not opt._flat.buckets
    assert params[1].dtype == ember.float64
