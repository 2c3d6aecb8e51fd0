"""The NCCL communicator's logic, with stand-ins for CuPy and NCCL (no GPU needed).

What these cannot show (that NCCL itself moves the bytes on a GPU) is for the GPU check.
"""

from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import pytest

from ember.distributed import nccl as nccl_module
from ember.distributed.nccl import NCCLCommunicator, exchange_unique_id
from ember.distributed.process_group import ProcessGroup


class DeviceArray(np.ndarray):
    """NumPy memory that answers ``.data.ptr`` and ``.device.id`` as a CuPy array does."""

    @property
    def data(self):
        return SimpleNamespace(ptr=self.ctypes.data)

    @property
    def device(self):
        return SimpleNamespace(id=1)


def on_device(values, dtype=np.float32):
    return np.asarray(values, dtype=dtype).view(DeviceArray)


class FakeNcclComm:
    def __init__(self, size, unique_id, rank):
        self.args = (size, unique_id, rank)
        self.calls = []

    def __getattr__(self, name):
        return lambda *args: self.calls.append((name, args))


def fake_nccl(with_avg=True):
    names = {
        f"NCCL_{t}": i
        for i, t in enumerate(
            ["INT8", "UINT8", "INT32", "UINT32", "INT64", "UINT64", "FLOAT16", "FLOAT32", "FLOAT64"]
        )
    }
    ops = {"NCCL_SUM": 0, "NCCL_PROD": 1, "NCCL_MAX": 2, "NCCL_MIN": 3}
    if with_avg:
        ops["NCCL_AVG"] = 4
    log = []
    module = SimpleNamespace(
        **names,
        **ops,
        NcclCommunicator=FakeNcclComm,
        log=log,
        get_unique_id=lambda: log.append("id") or (7, 7, 7),
        groupStart=lambda: log.append("start"),
        groupEnd=lambda: log.append("end"),
    )
    return module


class FakeEvent:
    def __init__(self, disable_timing=True):
        self.recorded = False

    def record(self):
        self.recorded = True

    @property
    def done(self):
        return self.recorded

    def synchronize(self):
        pass


class FakeDevice:
    entered: ClassVar[list] = []

    def __init__(self, index):
        self.index = index

    def __enter__(self):
        FakeDevice.entered.append(self.index)

    def __exit__(self, *exc):
        return False


fake_cupy = SimpleNamespace(
    cuda=SimpleNamespace(
        Device=FakeDevice, Event=FakeEvent, get_current_stream=lambda: SimpleNamespace(ptr=1234)
    ),
    divide=np.divide,
    floor_divide=np.floor_divide,
    zeros=np.zeros,
)


class FakeCpuComm:
    """The MPI side of a two-rank rendezvous, seen from ``rank``."""

    shared: ClassVar[dict] = {}

    def __init__(self, rank, size=2):
        self.rank, self.size = rank, size

    def broadcast_object(self, obj, root):
        if self.rank == root:
            FakeCpuComm.shared["value"] = obj
        return FakeCpuComm.shared["value"]


def make(rank=0, size=2, with_avg=True):
    nccl = fake_nccl(with_avg)
    return NCCLCommunicator.create_with(FakeCpuComm(rank, size), 1, fake_cupy, nccl), nccl


def test_unique_id_drawn_by_rank_0_and_shared_over_mpi():
    nccl = fake_nccl()
    assert exchange_unique_id(FakeCpuComm(0), nccl) == (7, 7, 7)
    assert exchange_unique_id(FakeCpuComm(1), nccl) == (7, 7, 7)
    assert nccl.log == ["id"]  # only rank 0 asked NCCL


@pytest.fixture(autouse=True)
def _fresh_rendezvous():
    FakeCpuComm.shared.clear()  # each test's ranks rendezvous anew, whatever ran before


def test_communicator_joins_on_the_arrays_device():
    make(rank=0)  # rank 0 publishes the unique id that rank 1 then reads
    FakeDevice.entered.clear()
    comm, _ = make(rank=1)
    assert comm.comm.args == (2, (7, 7, 7), 1)
    assert FakeDevice.entered == [1]


def test_allreduce_passes_device_pointers_in_place():
    comm, nccl = make()
    x = on_device([1.0, 2.0, 3.0])
    assert comm.allreduce(x, "sum") is None
    name, args = comm.comm.calls[-1]
    assert name == "allReduce"
    assert args == (x.ctypes.data, x.ctypes.data, 3, nccl.NCCL_FLOAT32, nccl.NCCL_SUM, 1234)


def test_avg_without_ncclavg_sums_then_divides():
    comm, nccl = make(with_avg=False)
    x = on_device([2.0, 4.0])
    comm.allreduce(x, "avg")
    assert comm.comm.calls[-1][1][4] == nccl.NCCL_SUM
    np.testing.assert_allclose(np.asarray(x), [1.0, 2.0])  # fake sum leaves x; then / 2


def test_async_returns_a_work_on_a_cuda_event():
    comm, _ = make()
    work = comm.broadcast(on_device([1.0]), 0, async_op=True)
    assert work.is_completed() and work.wait()


def test_gather_is_grouped_point_to_point():
    comm, nccl = make(rank=0)
    recv = on_device(np.zeros((2, 3)))
    comm.gather(on_device([1.0, 2.0, 3.0]), recv, 0)
    assert nccl.log[-1] == "end" and nccl.log[-2] == "start"
    kinds = [c[0] for c in comm.comm.calls]
    assert kinds == ["send", "recv", "recv"]


def test_unsupported_dtype_and_op_are_named():
    comm, _ = make()
    with pytest.raises(TypeError, match="complex64"):
        comm.allreduce(on_device([1j], np.complex64), "sum")
    with pytest.raises(ValueError, match="band"):
        comm.allreduce(on_device([1.0]), "band")


def test_process_group_dispatches_by_device(monkeypatch):
    created = []

    def fake_create(cpu_comm, array):
        created.append(array)
        return "nccl-communicator"

    monkeypatch.setattr(nccl_module.NCCLCommunicator, "create", staticmethod(fake_create))
    pg = ProcessGroup("mpi-communicator", [0, 1], "nccl")
    assert pg.communicator_for(np.zeros(2)) == "mpi-communicator"
    assert pg.communicator_for(on_device([1.0])) == "nccl-communicator"
    assert pg.communicator_for(on_device([2.0])) == "nccl-communicator"
    assert len(created) == 1  # built once, on first use
