"""DataLoader with worker processes: order, seeding, sharding, failures, shutdown."""

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import ember
from ember.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info
from tests.helpers import torch_or_skip


class Numbers(Dataset):
    """Sample i is i; selected indices misbehave in the way named by ``mode``."""

    def __init__(self, n=16, mode=None, bad=7):
        self.n, self.mode, self.bad = n, mode, bad

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.bad:
            if self.mode == "raise":
                raise ValueError(f"sample {i} is broken")
            if self.mode == "keyerror":
                raise KeyError("no such key")
            if self.mode == "exit":
                os._exit(3)
            if self.mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.mode == "sleep":
                time.sleep(3)
        return np.int64(i)


class WhoAmI(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return {
            "worker": info.id,
            "seed": info.seed,
            "pid": os.getpid(),
            "np": np.random.randint(1 << 30),
            "ember": float(ember.rand(1)) if hasattr(ember, "rand") else float(np.random.rand()),
            "init": _init_marker,
        }


_init_marker = -1


def _mark(worker_id):
    global _init_marker
    _init_marker = 100 + worker_id


class Sharded(IterableDataset):
    """range(n) split into contiguous shards, one per worker; ``info`` picks whose get_worker_info."""

    def __init__(self, n, info=get_worker_info):
        self.n, self.info = n, info

    def __iter__(self):
        info = self.info()
        if info is None:
            return iter(range(self.n))
        per = -(-self.n // info.num_workers)
        return iter(range(info.id * per, min(self.n, (info.id + 1) * per)))


def _values(loader):
    return [b.tolist() for b in loader]


def test_same_order_with_and_without_workers():
    x = ember.tensor(np.arange(40, dtype=np.float32).reshape(20, 2))
    ds = TensorDataset(x, ember.tensor(np.arange(20)))
    runs = []
    for workers in (0, 2):
        loader = DataLoader(
            ds, batch_size=3, shuffle=True, num_workers=workers, generator=ember.Generator().manual_seed(5)
        )
        runs.append([(a.tolist(), b.tolist()) for a, b in loader])
    assert runs[0] == runs[1] and len(runs[0]) == 7
    unbatched = DataLoader(Numbers(5), batch_size=None, num_workers=2)
    assert [t.item() for t in unbatched] == [0, 1, 2, 3, 4]


def test_worker_seeds_info_and_init_fn():
    def run():
        loader = DataLoader(
            WhoAmI(),
            batch_size=2,
            num_workers=2,
            worker_init_fn=_mark,
            generator=ember.Generator().manual_seed(11),
        )
        return [{k: v.tolist() for k, v in batch.items()} for batch in loader]

    first, second = run(), run()
    assert [{k: v for k, v in b.items() if k != "pid"} for b in first] == [
        {k: v for k, v in b.items() if k != "pid"} for b in second
    ]
    workers = [b["worker"][0] for b in first]
    assert workers == [0, 1, 0, 1]  # round-robin
    seeds = {b["worker"][0]: b["seed"][0] for b in first}
    assert seeds[1] == seeds[0] + 1
    assert all(b["init"] == [100 + b["worker"][0]] * 2 for b in first)
    assert first[0]["np"] != first[1]["np"]


def test_iterable_sharding_matches_torch():
    torch = torch_or_skip()
    ours = _values(DataLoader(Sharded(10), batch_size=2, num_workers=2))
    assert sorted(itertools.chain(*ours)) == list(range(10))
    torch_sharded = type(
        "TorchSharded",
        (torch.utils.data.IterableDataset,),
        {"__iter__": Sharded.__iter__, "__init__": Sharded.__init__},
    )
    theirs = [
        b.tolist()
        for b in torch.utils.data.DataLoader(
            torch_sharded(10, torch.utils.data.get_worker_info), batch_size=2, num_workers=2
        )
    ]
    assert ours == theirs


def test_persistent_workers_reuse_processes_and_survive_abandoned_epochs():
    loader = DataLoader(WhoAmI(), batch_size=2, num_workers=2, persistent_workers=True, prefetch_factor=1)
    pids = {p for b in loader for p in b["pid"].tolist()}
    it = iter(loader)
    next(it)  # abandon this epoch part-way
    again = list(loader)
    assert {p for b in again for p in b["pid"].tolist()} == pids and len(again) == 4
    stream = DataLoader(Sharded(6), batch_size=2, num_workers=2, persistent_workers=True)
    assert (
        sorted(itertools.chain(*_values(stream)))
        == sorted(itertools.chain(*_values(stream)))
        == list(range(6))
    )


def test_worker_exception_names_worker_sample_and_traceback():
    loader = DataLoader(Numbers(mode="raise"), batch_size=4, num_workers=2)
    with pytest.raises(ValueError) as info:
        list(loader)
    text = str(info.value)
    assert "DataLoader worker 1" in text and "sample index 7" in text
    assert "sample 7 is broken" in text and "in __getitem__" in text and "Traceback" in text
    persistent = DataLoader(Numbers(mode="raise"), batch_size=4, num_workers=2, persistent_workers=True)
    for _ in range(2):  # a failed epoch leaves a loader that starts fresh workers next time
        it = iter(persistent)
        with pytest.raises(ValueError, match="sample 7 is broken"):
            list(it)
        assert next(it, "done") == "done"
    with pytest.raises(KeyError, match="no such key") as info:
        list(DataLoader(Numbers(mode="keyerror"), batch_size=4, num_workers=2))
    assert "\n" in str(info.value)  # multi-line, not a quoted repr


@pytest.mark.parametrize("mode, cause", [("exit", "exit code 3"), ("kill", "killed by SIGKILL")])
def test_dead_worker_is_reported_quickly(mode, cause):
    loader = DataLoader(Numbers(mode=mode), batch_size=4, num_workers=2)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=f"DataLoader worker 1 \\(pid \\d+\\) .*{cause}"):
        list(loader)
    assert time.monotonic() - start < 5


def test_timeout():
    loader = DataLoader(Numbers(mode="sleep", bad=0), batch_size=2, num_workers=1, timeout=0.3)
    with pytest.raises(RuntimeError, match="timed out after 0.3 seconds"):
        next(iter(loader))


def test_unpicklable_batch_and_failing_init_fn_are_errors_not_hangs():
    loader = DataLoader(Numbers(4), batch_size=2, num_workers=1, collate_fn=lambda b: lambda: b)
    with pytest.raises(Exception, match="could not be pickled"):
        next(iter(loader))

    def bad_init(worker_id):
        raise OSError(f"init failed in {worker_id}")

    with pytest.raises(OSError, match="init failed in 0"):
        next(iter(DataLoader(Numbers(4), num_workers=1, worker_init_fn=bad_init)))


def test_spawn_context():
    loader = DataLoader(Numbers(4), batch_size=2, num_workers=1, multiprocessing_context="spawn")
    assert _values(loader) == [[0, 1], [2, 3]]


def test_interpreter_exits_with_workers_still_running():
    script = textwrap.dedent("""
        import numpy as np
        from ember.utils.data import DataLoader
        data = [np.ones(3)] * 1000
        it = iter(DataLoader(data, batch_size=2, num_workers=2))
        next(it)
        keep = DataLoader(data, batch_size=2, num_workers=2, persistent_workers=True)
        next(iter(keep))
        print("done")
    """)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=20, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_exit_when_the_main_process_is_killed():
    script = textwrap.dedent("""
        import os, signal
        import numpy as np
        from ember.utils.data import DataLoader
        it = iter(DataLoader([np.ones(3)] * 100, batch_size=2, num_workers=2))
        next(it)
        print(" ".join(str(p.pid) for p in it._workers), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=20, check=False
    )
    pids = [int(p) for p in result.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie has exited already
        return f.read().split()[2] != "Z"


def test_a_temporary_persistent_loader_still_yields_its_epoch():
    class Numbers(ember.utils.data.Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return i

    batches = [
        b.tolist() for b in DataLoader(Numbers(), batch_size=3, num_workers=2, persistent_workers=True)
    ]
    assert batches == [[0, 1, 2], [3, 4, 5]]
    loader = DataLoader(Numbers(), batch_size=3, num_workers=2, persistent_workers=True)
    iterator = iter(loader)
    assert next(iterator).tolist() == [0, 1, 2]
    del loader  # the epoch being read runs to its end, then the workers stop
    assert [b.tolist() for b in iterator] == [[3, 4, 5]]
    assert iterator._closed
