"""Memory: no growth across training steps, graphs freed after backward, ember starts no threads.

Refcounting must free a step's graph (no reference cycles that wait for the garbage collector),
so the graph tests run with the collector disabled.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import subprocess
import sys
import weakref

import numpy as np
import pytest

import ember
from ember import nn

MIB = 2**20


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _rss() -> int:
    kb = _status_kb("VmRSS")
    if kb is None:
        pytest.skip("needs /proc/self/status (Linux) to read the resident set size")
    return kb * 1024


def _live(kind) -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, kind))


class _NoGC:
    def __enter__(self):
        self.was = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self.was:
            gc.enable()


def _small_mlp_step(batch: int = 32):
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = ember.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    batches = [
        (
            ember.tensor(rng.standard_normal((batch, 784)).astype(np.float32)),
            ember.tensor(rng.integers(0, 10, batch)),
        )
        for _ in range(4)
    ]

    def step(i: int) -> float:
        x, y = batches[i % len(batches)]
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def _one_blas_thread():
    """Pin BLAS to one thread: a threaded BLAS on a busy machine makes this test slow, not wrong."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


@pytest.mark.slow
def test_rss_flat_from_step_50_to_500():
    with _one_blas_thread():
        _check_rss_flat()


def _check_rss_flat():
    step = _small_mlp_step()
    losses = []
    for i in range(50):
        losses.append(step(i))
    gc.collect()
    tensors_at_50, rss = _live(ember.Tensor), []
    for i in range(50, 500):
        losses.append(step(i))
        if i % 10 == 0:
            rss.append(_rss())
    gc.collect()
    early, late = max(rss[:5]), max(rss[-5:])
    assert late - early < 4 * MIB, f"RSS grew {(late - early) / MIB:.1f} MiB from step 50 to 500"
    assert _live(ember.Tensor) <= tensors_at_50, "Tensors accumulate across steps"
    assert all(isinstance(v, float) for v in losses) and np.isfinite(losses).all()


def _graph():
    """A small graph; weak references to an intermediate's array and node, and the loss."""
    x = ember.randn(32, 20)
    w1 = ember.randn(20, 30, requires_grad=True)
    w2 = ember.randn(30, 5, requires_grad=True)
    hidden = (x @ w1).relu()
    loss = (hidden @ w2).square().mean()
    refs = weakref.ref(hidden._data), weakref.ref(hidden.grad_fn)
    return loss, refs, (w1, w2)


def test_graph_buffers_freed_after_backward():
    with _NoGC():
        loss, (array, node), params = _graph()
        assert array() is not None and node() is not None  # saved for backward
        loss.backward()
        assert array() is None, "a buffer saved for backward outlived backward()"
        assert all(p.grad is not None for p in params)
        del loss
        assert node() is None, "graph nodes outlived the loss (a reference cycle?)"


def test_retain_graph_keeps_buffers_until_the_last_backward():
    with _NoGC():
        loss, (array, _), _ = _graph()
        loss.backward(retain_graph=True)
        assert array() is not None
        loss.backward()
        assert array() is None


def test_graph_without_backward_freed_with_its_loss():
    with _NoGC():
        loss, (array, node), _ = _graph()
        value = loss.item()
        del loss
        assert array() is None and node() is None
        assert isinstance(value, float)


def test_holding_item_values_does_not_keep_graphs_alive():
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 1))
    x, refs, history = ember.randn(8, 16), [], []
    with _NoGC():
        for _ in range(5):
            hidden = model[1](model[0](x))
            loss = model[2](hidden).square().mean()
            refs += [weakref.ref(hidden), weakref.ref(hidden._data), weakref.ref(loss.grad_fn)]
            history.append(loss.item())
            loss.backward()
            del hidden, loss
        assert all(r() is None for r in refs), "a graph outlived its step"
    assert all(type(v) is float for v in history)


_THREADS_PROBE = r"""
import json, os, threading
import numpy as np
from threadpoolctl import threadpool_info

def snapshot():
    with open("/proc/self/status") as f:
        os_threads = next(int(l.split()[1]) for l in f if l.startswith("Threads:"))
    pools = sorted((p["user_api"], p["internal_api"], p["num_threads"]) for p in threadpool_info())
    return {"pools": pools, "os_threads": os_threads, "py_threads": threading.active_count()}

a = np.ones((256, 256), np.float32)
a @ a  # BLAS starts its pool
before = snapshot()
import ember, ember.nn as nn
model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))
opt = ember.optim.Adam(model.parameters())
for _ in range(3):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(ember.randn(32, 64)), ember.randint(0, 4, (32,)))
    loss.backward()
    opt.step()
print(json.dumps({"before": before, "after": snapshot()}))
"""


def test_blas_threads_used_and_no_thread_pools_of_our_own():
    pytest.importorskip("threadpoolctl")
    if not os.path.exists("/proc/self/status"):
        pytest.skip("counts OS threads through /proc (Linux)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-c", _THREADS_PROBE],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=120,
        check=True,
    ).stdout
    report = json.loads(out.strip().splitlines()[-1])
    before, after = report["before"], report["after"]
    blas = [p for p in before["pools"] if p[0] == "blas"]
    assert blas, f"threadpoolctl finds no BLAS under NumPy: {before['pools']}"
    cores = os.cpu_count() or 1
    for _, name, threads in before["pools"]:
        assert 1 <= threads <= cores, f"{name} runs {threads} threads on {cores} cores"
    pinned = any(os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"))
    if cores > 1 and not pinned:
        assert max(t for _, _, t in blas) > 1, "NumPy's BLAS is single-threaded on a multi-core machine"
    assert after["pools"] == before["pools"], "importing/training with ember changed the thread pools"
    assert after["os_threads"] == before["os_threads"], "ember started threads of its own"
    assert after["py_threads"] == before["py_threads"]
