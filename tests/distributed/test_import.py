"""``import ember.distributed`` works without mpi4py; using it says what to install."""

import sys

import pytest

import ember


def test_import_and_availability_without_mpi4py(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    monkeypatch.setitem(sys.modules, "mpi4py.MPI", None)
    import ember.distributed as dist

    assert dist.is_available() is False
    assert dist.is_initialized() is False
    with pytest.raises(ImportError, match=r'pip install "ember\[distributed\]"'):
        dist.init_process_group("mpi")


def test_reachable_from_a_bare_import_ember():
    assert hasattr(ember.distributed, "all_reduce")
    assert ember.distributed.ReduceOp.SUM is not ember.distributed.ReduceOp.AVG
    assert ember.nn.parallel.DDP is ember.nn.parallel.DistributedDataParallel


def test_uninitialised_use_is_a_clear_error():
    import ember.distributed as dist

    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.get_rank()
    with pytest.raises(ValueError, match="init_process_group"):  # PyTorch's type
        dist.get_world_size()
    with pytest.raises(RuntimeError, match="init_process_group"):
        ember.nn.parallel.DistributedDataParallel(ember.nn.Linear(2, 2))


def test_unknown_backend_and_init_method():
    import ember.distributed as dist

    with pytest.raises(ValueError, match="Invalid backend"):
        dist.init_process_group("smoke-signals")
    with pytest.raises(ValueError, match="init_method"):
        dist.init_process_group("mpi", init_method="file:///tmp/x")
