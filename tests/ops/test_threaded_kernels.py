"""Every kernel that uses the CPU's intra-op pool gives the same bits on one thread and on two.

The pool's threshold is lowered so that these small arrays split (the chunked kernels split at
their chunk size, so those get arrays of a few chunks).
"""

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.backend import threads


@pytest.fixture
def both(monkeypatch):
    """``both(fn)``: fn's arrays computed on one thread and on two (split), as pairs."""
    monkeypatch.setattr(threads, "MIN_ELEMENTS", 64)
    before = threads.get_num_threads()

    def run(fn):
        results = []
        for count in (1, 2):
            threads.set_num_threads(count)
            ember.manual_seed(0)
            results.append([np.array(a) for a in fn()])
        return zip(*results)

    yield run
    threads.set_num_threads(before)


def _forward_backward(fn, *shapes, dtype=ember.float32):
    def go():
        inputs = [ember.randn(*s, dtype=dtype, requires_grad=True) for s in shapes]
        out = fn(*inputs)
        out.backward(ember.randn(*out.shape, dtype=dtype))
        return [out.detach().numpy()] + [x.grad.numpy() for x in inputs]

    return go


CASES = {
    "gelu-float32": (F.gelu, [(3, 50000)]),
    "gelu-float64": (F.gelu, [(3, 50000)], ember.float64),
    "attention": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        [(4, 2, 40, 16)] * 3,
    ),
    "cross_entropy": (lambda x: F.cross_entropy(x, ember.arange(64) % 100), [(64, 100)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_and_backward_bit_identical_on_two_threads(both, name):
    fn, shapes, *dtype = CASES[name]
    for one, two in both(_forward_backward(fn, *shapes, dtype=dtype[0] if dtype else ember.float32)):
        assert one.dtype == two.dtype and np.array_equal(one, two, equal_nan=True)


def test_one_thread_is_the_plain_code(monkeypatch):
    """A pool of one never dispatches: the kernels run as they did before the pool existed."""
    before = threads.get_num_threads()
    threads.set_num_threads(1)
    monkeypatch.setattr(threads, "MIN_ELEMENTS", 1)

    def refuse(tasks):
        raise AssertionError("dispatched on one thread")

    monkeypatch.setattr(threads, "run", refuse)
    try:
        for name in sorted(CASES):
            fn, shapes, *dtype = CASES[name]
            _forward_backward(fn, *shapes)()
    finally:
        threads.set_num_threads(before)
