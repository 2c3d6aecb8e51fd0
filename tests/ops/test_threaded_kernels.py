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
    "relu": (F.relu, [(64, 300)]),
    "gelu-float32": (F.gelu, [(3, 50000)]),
    "gelu-float64": (F.gelu, [(3, 50000)], ember.float64),
    "attention": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        [(4, 2, 40, 16)] * 3,
    ),
    "cross_entropy": (lambda x: F.cross_entropy(x, ember.arange(64) % 100), [(64, 100)]),
    "batch_norm": (
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        [(8, 4, 6, 6), (4,), (4,)],
    ),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (32,), w, b), [(8, 16, 32), (32,), (32,)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_and_backward_bit_identical_on_two_threads(both, name):
    fn, shapes, *dtype = CASES[name]
    for one, two in both(_forward_backward(fn, *shapes, dtype=dtype[0] if dtype else ember.float32)):
        assert one.dtype == two.dtype and np.array_equal(one, two, equal_nan=True)


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: ember.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-2),
        lambda ps: ember.optim.Adam(ps, lr=1e-3, amsgrad=True),
        lambda ps: ember.optim.AdamW(ps, lr=1e-3),
    ],
)
@pytest.mark.parametrize("sizes", [[(300, 256), (256,)], [(40, 100)] * 20], ids=["large", "flat"])
def test_optimizer_steps_bit_identical_on_two_threads(both, make, sizes):
    def go():
        params = [ember.nn.Parameter(ember.randn(*s)) for s in sizes]
        opt = make(params)
        for _ in range(3):
            for p in params:
                p.grad = ember.randn(*p.shape)
            opt.step()
        return [p.detach().numpy() for p in params]

    for one, two in both(go):
        assert np.array_equal(one, two)


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
