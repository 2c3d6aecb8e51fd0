"""The CPU backend's intra-op pool: splitting, fallbacks, errors, sizing, thread safety."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import ember
from ember.backend import threads


@pytest.fixture
def pool(monkeypatch):
    """Two threads and a tiny threshold, so that small test arrays split; restored after."""
    before = threads.get_num_threads()
    threads.set_num_threads(2)
    monkeypatch.setattr(threads, "MIN_ELEMENTS", 64)
    yield threads
    threads.set_num_threads(before)


def test_default_size_reads_ember_then_blas_variables(monkeypatch):
    for name in ("EMBER_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    assert threads.default_num_threads() == (os.cpu_count() or 1)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.default_num_threads() == 3
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert threads.default_num_threads() == 1
    monkeypatch.setenv("EMBER_NUM_THREADS", "4")
    assert threads.default_num_threads() == 4
    monkeypatch.setenv("EMBER_NUM_THREADS", "lots")  # not a number: the next one counts
    assert threads.default_num_threads() == 1


def test_environment_variable_sizes_the_pool_of_a_new_process():
    env = dict(os.environ, EMBER_NUM_THREADS="3", PYTHONPATH=os.getcwd())
    code = "import ember; print(ember.get_num_threads())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "3"


def test_set_num_threads_resizes_the_pool(pool):
    ember.set_num_threads(3)
    try:
        assert ember.get_num_threads() == threads.get_num_threads() == 3
        seen = set()
        threads.parallel_for(3000, lambda lo, hi: seen.add(threading.get_ident()))
        assert len(seen) == 3
        ember.set_num_threads(1)
        assert len(threads._pool.workers) == 0
        seen.clear()
        threads.parallel_for(3000, lambda lo, hi: seen.add((lo, hi, threading.get_ident())))
        assert seen == {(0, 3000, threading.get_ident())}  # one thread: body(0, n) inline
    finally:
        ember.set_num_threads(2)
    with pytest.raises(RuntimeError, match="positive"):
        ember.set_num_threads(0)


def test_split_covers_the_range_at_aligned_boundaries(pool):
    assert threads.split(10) == [(0, 10)]  # below the threshold
    parts = threads.split(1000, align=64)
    assert parts[0][0] == 0 and parts[-1][1] == 1000 and len(parts) == 2
    assert all(a % 64 == 0 for a, _ in parts)
    assert all(b == c for (_, b), (c, _) in zip(parts, parts[1:]))


@pytest.mark.parametrize(
    "ufunc, shapes",
    [
        (np.add, [(1001,), (1001,)]),
        (np.exp, [(7, 300)]),
        (np.tanh, [(3, 5, 70)]),
        (np.multiply, [(8, 4, 5, 5), (1, 4, 5, 5)]),  # a batch-norm slab, constant over rows
        (np.subtract, [(8, 16, 32), (8, 16, 1)]),  # layer norm's statistics, split by rows
        (np.maximum, [(40, 50), ()]),
    ],
)
def test_split_ufunc_is_bit_identical(pool, ufunc, shapes):
    rng = np.random.default_rng(0)
    operands = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    expected = ufunc(*operands)
    got = threads.parallel_elementwise(ufunc, *operands)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert np.array_equal(got, expected)
    out = np.empty_like(expected)
    assert threads.parallel_elementwise(ufunc, *operands, out=out) is out
    assert np.array_equal(out, expected)


def test_python_numbers_keep_numpy_dtype_rules(pool):
    x = np.arange(500, dtype=np.float32)
    assert threads.parallel_elementwise(np.multiply, x, 2.5).dtype == np.float32
    assert threads.parallel_elementwise(np.less_equal, x, 3).dtype == bool


def _counting(calls):
    def kernel(a, b, out=None):
        calls.append(threading.get_ident())
        return np.add(a, b, out=out)

    return kernel


@pytest.mark.parametrize(
    "make",
    [
        lambda a: (a.T, a.T),  # non-contiguous
        lambda a: (a, a[:, :1]),  # a strided operand split by rows
        lambda a: (a[:, None, :], a[None, :, :1]),  # an outer broadcast
        lambda a: (a[:1], a[:1]),  # one row
    ],
)
def test_non_contiguous_and_other_broadcasts_fall_back(pool, make):
    a = np.arange(60 * 60, dtype=np.float64).reshape(60, 60)
    calls = []
    operands = make(a)
    got = threads.parallel_elementwise(_counting(calls), *operands)
    assert len(calls) == 1 and np.array_equal(got, np.add(*operands))


def test_partially_overlapping_out_falls_back(pool):
    a = np.arange(1000, dtype=np.float64)
    calls = []
    threads.parallel_elementwise(_counting(calls), a[:-1], a[:-1], out=a[1:])
    assert len(calls) == 1
    calls.clear()
    threads.parallel_elementwise(_counting(calls), a, a, out=a)  # in place: splits
    assert len(calls) == 2


def test_exceptions_in_workers_reach_the_caller_after_all_parts(pool):
    finished = []

    def body(lo, hi):
        if lo > 0:
            raise ValueError(f"part {lo}")
        finished.append(lo)

    with pytest.raises(ValueError, match="part"):
        threads.parallel_for(1000, body)
    assert finished == [0]
    threads.parallel_for(1000, lambda lo, hi: finished.append(hi))  # the pool still works
    assert sorted(finished) == [0, 512, 1000]


def test_nested_use_runs_inline(pool):
    inner = []

    def body(lo, hi):
        outer = threading.get_ident()
        threads.parallel_for(hi - lo, lambda a, b: inner.append((a, b, outer, threading.get_ident())))

    threads.parallel_for(1000, body)
    assert all(outer == ident for _, _, outer, ident in inner)  # each part on its own thread
    assert sum(b - a for a, b, _, _ in inner) == 1000


def test_parts_see_the_callers_numpy_error_state(pool):
    x = np.full(1000, 1e30, np.float32)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        threads.parallel_elementwise(np.multiply, x, x)
    with np.errstate(over="ignore"):
        threads.parallel_elementwise(np.multiply, x, x)  # no warning from any thread


def test_two_python_threads_use_ember_at_once(pool):
    ember.manual_seed(0)
    x = ember.randn(3, 50000, requires_grad=True)  # GELU splits at its 64K-element chunks

    def work():
        y = ember.nn.functional.gelu(x).softmax(-1)
        (g,) = ember.autograd.grad(y.sum(), x)
        return y.detach().numpy().copy(), g.numpy().copy()

    expected = work()
    results, errors = [], []

    def worker():
        try:
            for _ in range(5):
                results.append(work())
        except BaseException as exc:  # reported below
            errors.append(exc)

    runners = [threading.Thread(target=worker) for _ in range(2)]
    for r in runners:
        r.start()
    for r in runners:
        r.join()
    assert not errors and len(results) == 10
    for y, g in results:
        assert np.array_equal(y, expected[0]) and np.array_equal(g, expected[1])


def test_cpu_backend_exposes_the_pool():
    from ember.backend import cpu

    out = cpu.parallel_elementwise(np.add, np.ones(3), 1.0)
    assert out.tolist() == [2.0, 2.0, 2.0]
    seen = []
    cpu.parallel_for(5, lambda lo, hi: seen.append((lo, hi)))
    assert seen == [(0, 5)]
