"""The stand-in's CUDA graph tape: every kind of device-array operation replays on its buffers."""

from __future__ import annotations

import numpy as np
import pytest

from ember.backend import fake_graph
from ember.backend.fake_array import make_array, xp


def dev(values, dtype=np.float32):
    return make_array(np.array(values, dtype=dtype), 0)


def capture(fn):
    """Capture ``fn()``; return (graph, what fn returned)."""
    fake_graph.begin(fake_graph.FakePool())
    try:
        out = fn()
    except BaseException:
        fake_graph.end()
        raise
    return fake_graph.end(), out


def values(a) -> np.ndarray:
    return a.get()


def test_operators_methods_and_module_calls_replay_on_new_input():
    x = dev([1.0, 2.0, 3.0])
    graph, (y, z, w) = capture(lambda: (x * 2 + 1, xp.exp(-x), x.sum(keepdims=True)))
    assert len(graph) == 5
    x[...] = dev([0.0, 1.0, -1.0])
    graph.launch()
    np.testing.assert_allclose(values(y), [1.0, 3.0, -1.0])
    np.testing.assert_allclose(values(z), np.exp([-0.0, -1.0, 1.0]), rtol=1e-6)
    np.testing.assert_allclose(values(w), [0.0])


def test_in_place_setitem_out_and_ufunc_at_accumulate_per_replay():
    acc = dev([0.0, 0.0, 0.0])
    counts = dev([0.0, 0.0])
    index = dev([1, 1], dtype=np.int64)
    other = dev([1.0, 1.0, 1.0])

    def step():
        acc.__iadd__(other)  # acc += other, on the closed-over array
        acc[0] = acc[2]
        xp.multiply(acc, 2, out=acc)
        xp.add.at(counts, index, 1.0)

    graph, _ = capture(step)
    np.testing.assert_array_equal(values(acc), [0.0, 0.0, 0.0])  # the capture did not run it
    np.testing.assert_array_equal(values(counts), [0.0, 0.0])
    graph.launch()
    graph.launch()
    np.testing.assert_array_equal(values(acc), [6.0, 6.0, 6.0])
    np.testing.assert_array_equal(values(counts), [0.0, 4.0])


def test_views_write_through_and_multiple_outputs_refresh():
    x = dev([[1.0, 2.0], [3.0, 4.0]])
    graph, (flat, (q, r)) = capture(lambda: (x.reshape(-1), xp.divmod(x, 3.0)))
    x[...] = dev([[5.0, 6.0], [7.0, 8.0]])
    np.testing.assert_array_equal(values(flat), [5.0, 6.0, 7.0, 8.0])  # a view, not a copy
    graph.launch()
    np.testing.assert_array_equal(values(q), [[1.0, 2.0], [2.0, 2.0]])
    np.testing.assert_array_equal(values(r), [[2.0, 0.0], [1.0, 2.0]])


@pytest.mark.parametrize(
    "operation",
    [
        lambda x: x.get(),
        lambda x: x.item(0),
        lambda x: float(x[0]),
        lambda x: x.tolist(),
        lambda x: xp.asarray(np.ones(2)),
        lambda x: xp.asnumpy(x),
        lambda x: xp.nonzero(x),
        lambda x: x[x > 1],
    ],
    ids=["get", "item", "float", "tolist", "asarray-host", "asnumpy", "nonzero", "bool-mask"],
)
def test_refused_operations_raise_cudas_error_and_invalidate(operation):
    x = dev([1.0, 2.0])
    fake_graph.begin(fake_graph.FakePool())
    with pytest.raises(fake_graph.CaptureError, match="operation not permitted when stream is capturing"):
        operation(x)
    with pytest.raises(fake_graph.CaptureError, match="StreamCaptureInvalidated"):
        fake_graph.end()
    assert not fake_graph.is_capturing()
    assert x.item(0) == 1.0


def test_device_copies_are_recorded():
    x = dev([1.0, 2.0])
    graph, y = capture(lambda: xp.asarray(x, dtype=np.float64))
    x[...] = dev([3.0, 4.0])
    graph.launch()
    assert values(y).dtype == np.float64
    np.testing.assert_array_equal(values(y), [3.0, 4.0])


def test_the_pool_holds_what_the_capture_allocated():
    x = dev(np.ones(1000))
    pool = fake_graph.FakePool()
    fake_graph.begin(pool)
    y = x * 2
    fake_graph.end()
    assert pool.used_bytes() >= 4000
    assert np.isnan(values(y)).all()  # unwritten until the first replay


def test_captures_do_not_nest():
    fake_graph.begin(fake_graph.FakePool())
    try:
        with pytest.raises(fake_graph.CaptureError, match="already underway"):
            fake_graph.begin(fake_graph.FakePool())
    finally:
        fake_graph.end()
