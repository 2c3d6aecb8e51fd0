"""The Learner's multi-process wiring, against stand-ins for ember.distributed (not built here yet)."""

import importlib.machinery
import sys
import types

import ember
from ember.train import distributed
from ember.train.callbacks import CSVLogger, Recorder
from ember.utils import data


def test_single_process_without_ember_distributed():
    assert distributed.rank_and_world_size() == (0, 1)


def _fake_world(monkeypatch, rank, world):
    fake = types.ModuleType("ember.distributed")
    fake.__spec__ = importlib.machinery.ModuleSpec("ember.distributed", None)
    fake.is_available = lambda: True
    fake.is_initialized = lambda: True
    fake.get_world_size = lambda: world
    fake.get_rank = lambda: rank
    monkeypatch.setitem(sys.modules, "ember.distributed", fake)
    monkeypatch.delattr(ember, "distributed", raising=False)
    parallel = types.ModuleType("ember.nn.parallel")
    parallel.__spec__ = importlib.machinery.ModuleSpec("ember.nn.parallel", None)

    class DDP(ember.nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

        def forward(self, *args):
            return self.module(*args)

    parallel.DistributedDataParallel = DDP
    monkeypatch.setitem(sys.modules, "ember.nn.parallel", parallel)

    class FakeDistributedSampler(data.Sampler):
        def __init__(self, dataset, shuffle=True):
            self.dataset, self.shuffle, self.epochs = dataset, shuffle, []

        def set_epoch(self, epoch):
            self.epochs.append(epoch)

        def __iter__(self):
            return iter(range(rank, len(self.dataset), world))

        def __len__(self):
            return len(range(rank, len(self.dataset), world))

    monkeypatch.setattr(data, "DistributedSampler", FakeDistributedSampler, raising=False)
    return DDP, FakeDistributedSampler


def test_several_ranks_wrap_model_and_samplers(monkeypatch, make_learner, tmp_path):
    ddp, sampler_class = _fake_world(monkeypatch, rank=1, world=2)
    learn = make_learner(cbs=[CSVLogger("log.csv")])
    assert (learn.rank, learn.world_size) == (1, 2)
    assert isinstance(learn.train_model, ddp) and learn.train_model.module is learn.model
    assert isinstance(learn.train_loader.sampler, sampler_class) and learn.train_loader.sampler.shuffle
    assert not learn.valid_loader.sampler.shuffle
    learn.fit(2, lr=0.01)
    assert learn.train_loader.sampler.epochs == [0, 1]
    assert len(learn.recorder.losses) == 2 * 2  # 32 of 64 samples, batches of 16
    assert not (tmp_path / "log.csv").exists()  # loggers run on rank 0 only
    assert learn.save("w") is None
    handlers = learn._handlers["after_epoch"]
    assert any(isinstance(h.__self__, Recorder) for h in handlers)
    assert not any(isinstance(h.__self__, CSVLogger) for h in handlers)
