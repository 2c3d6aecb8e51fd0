"""``ember.multiprocessing`` and shared tensors: children started with fork and spawn, and
tensors sent through queues, write the memory the parent reads (Hogwild)."""

from __future__ import annotations

import multiprocessing as std_mp
import pickle

import numpy as np
import pytest

import ember
import ember.multiprocessing as mp
from ember import nn


def _fill_slot(rank: int, shared: ember.Tensor) -> None:
    shared[rank] = rank + 1.0


def _train(rank: int, model: nn.Module, steps: int) -> None:
    ember.manual_seed(rank)
    opt = ember.optim.SGD(model.parameters(), lr=0.05)
    x = ember.randn(64, 4)
    y = x @ ember.tensor([[1.0], [-2.0], [0.5], [3.0]])
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()


def _from_queue(queue, done) -> None:
    t = queue.get()
    assert t.is_shared()
    t.add_(10.0)
    done.put("ok")


def test_share_memory_and_is_shared():
    t = ember.arange(6.0).reshape(2, 3)
    assert not t.is_shared()
    assert t.share_memory_() is t and t.is_shared() and t[1].is_shared()
    assert t.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).share_memory()
    assert all(p.is_shared() for p in model.parameters()) and all(b.is_shared() for b in model.buffers())
    assert isinstance(model[0].weight, nn.Parameter) and model[0].weight.requires_grad
    # plain pickling still copies (only multiprocessing's pickler sends a handle)
    back = pickle.loads(pickle.dumps(t))
    assert not back.is_shared() and back.tolist() == t.tolist()


def test_sharing_strategies_and_api():
    assert mp.get_all_sharing_strategies() == {"file_descriptor", "file_system"}
    assert mp.get_sharing_strategy() == "file_descriptor"
    with pytest.raises(ValueError, match="strategy"):
        mp.set_sharing_strategy("carrier_pigeon")
    for name in ("get_context", "Process", "Queue", "set_start_method", "spawn", "Pool", "Event"):
        assert hasattr(mp, name), name


SPAWN = pytest.param("spawn", marks=pytest.mark.slow)  # each spawned child imports ember anew


@pytest.mark.parametrize("method", ["fork", SPAWN])
def test_children_write_the_parents_memory(method):
    if method not in std_mp.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    shared = ember.zeros(3).share_memory_()
    mp.start_processes(_fill_slot, args=(shared,), nprocs=2, start_method=method)
    assert shared.tolist() == [1.0, 2.0, 0.0]


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["file_descriptor", "file_system"])
def test_tensors_through_a_spawn_queue_share_memory(strategy):
    ctx = mp.get_context("spawn")
    mp.set_sharing_strategy(strategy)
    try:
        t = ember.ones(4).share_memory_()
        queue, done = ctx.Queue(), ctx.Queue()
        child = ctx.Process(target=_from_queue, args=(queue, done))
        child.start()
        queue.put(t)
        assert done.get(timeout=60) == "ok"
        child.join(60)
    finally:
        mp.set_sharing_strategy("file_descriptor")
    assert child.exitcode == 0 and t.tolist() == [11.0] * 4


@pytest.mark.parametrize("method", ["fork", SPAWN])
def test_hogwild_children_train_the_parents_parameters(method):
    if method not in std_mp.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    ember.manual_seed(0)
    model = nn.Linear(4, 1)
    model.share_memory()
    before = [p.detach().numpy().copy() for p in model.parameters()]
    x = ember.randn(64, 4)
    y = x @ ember.tensor([[1.0], [-2.0], [0.5], [3.0]])
    loss_before = nn.functional.mse_loss(model(x), y).item()
    ctx = mp.get_context(method)
    workers = [ctx.Process(target=_train, args=(rank, model, 40)) for rank in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    after = [p.detach().numpy() for p in model.parameters()]
    assert all(not np.allclose(a, b) for a, b in zip(after, before))  # the parent sees the updates
    assert nn.functional.mse_loss(model(x), y).item() < 0.5 * loss_before


def _fail(rank: int) -> None:
    if rank == 1:
        raise ValueError("rank one failed")


def test_spawn_reports_a_child_error():
    with pytest.raises(mp.ProcessRaisedException, match="rank one failed") as info:
        mp.spawn(_fail, nprocs=2, start_method="fork")
    assert info.value.error_index == 1
    context = mp.spawn(
        _fill_slot, args=(ember.zeros(1).share_memory_(),), nprocs=1, join=False, start_method="fork"
    )
    assert context.join(timeout=60) and len(context.pids()) == 1
