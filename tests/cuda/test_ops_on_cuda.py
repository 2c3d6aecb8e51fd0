"""Every row of the op table on "cuda": forward and gradients equal the CPU's."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.cuda.conftest import assert_same
from tests.ops.test_ops import ALL_SPECS


def _run(spec, arrays, grad_idx, where):
    tensors = [ember.tensor(a, requires_grad=(i in grad_idx), device=where) for i, a in enumerate(arrays)]
    out = spec.fn(ember, *tensors)
    outs = out if isinstance(out, tuple) else (out,)
    grads = []
    float_outs = [o for o in outs if isinstance(o, ember.Tensor) and o.requires_grad]
    if float_outs:
        rng = np.random.default_rng(1)
        loss = sum(
            (o * ember.tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype, device=where)).sum()
            for o in float_outs
        )
        loss.backward()
        grads = [tensors[i].grad for i in grad_idx]
    return outs, grads


@pytest.mark.parametrize("spec", [pytest.param(s, id=s.name, marks=s.marks) for s in ALL_SPECS])
def test_op_on_cuda_matches_cpu(spec, device):
    arrays = spec.inputs(np.random.default_rng(0))
    grad_idx = spec.grad_indices(arrays)
    cpu_outs, cpu_grads = _run(spec, arrays, grad_idx, "cpu")
    dev_outs, dev_grads = _run(spec, arrays, grad_idx, device)
    for i, (d, c) in enumerate(zip(dev_outs, cpu_outs)):
        if isinstance(c, ember.Tensor):
            assert_same(d, c, atol=1e-6, rtol=1e-6, what=f"{spec.name} output {i}")
        else:
            assert d == c
    for i, (d, c) in zip(grad_idx, zip(dev_grads, cpu_grads)):
        if c is None:
            assert d is None
        else:
            assert_same(d, c, atol=1e-6, rtol=1e-6, what=f"{spec.name} gradient of input {i}")
