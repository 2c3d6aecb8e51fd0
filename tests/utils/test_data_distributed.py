"""DistributedSampler: PyTorch's split of a dataset among ranks."""

import itertools

import pytest

import ember
from ember.utils.data import DataLoader, DistributedSampler, TensorDataset
from tests.helpers import torch_or_skip

CASES = list(itertools.product([1, 5, 7, 10, 11], [1, 2, 3, 4], [False, True]))


def _indices(n, replicas, rank, drop_last, shuffle=False, seed=0, epoch=0):
    sampler = DistributedSampler(
        range(n), num_replicas=replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=drop_last
    )
    sampler.set_epoch(epoch)
    return list(sampler), len(sampler)


@pytest.mark.parametrize(("n", "replicas", "drop_last"), CASES)
def test_same_indices_as_pytorch_without_shuffle(n, replicas, drop_last):
    torch = torch_or_skip()
    from torch.utils.data import DistributedSampler as TorchSampler

    for rank in range(replicas):
        ours, length = _indices(n, replicas, rank, drop_last)
        theirs = TorchSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        assert ours == list(theirs) and length == len(theirs)
    assert torch is not None


@pytest.mark.parametrize(("n", "replicas", "drop_last"), CASES)
def test_shuffled_split_is_a_padded_partition_of_one_permutation(n, replicas, drop_last):
    per_rank = [
        _indices(n, replicas, r, drop_last, shuffle=True, seed=3, epoch=2)[0] for r in range(replicas)
    ]
    generator = ember.Generator()
    generator.manual_seed(3 + 2)
    order = ember.randperm(n, generator=generator).tolist()
    lengths = {len(p) for p in per_rank}
    assert len(lengths) == 1
    total = lengths.pop() * replicas
    padded = (order * (total // n + 1))[:total]
    interleaved = [per_rank[i % replicas][i // replicas] for i in range(total)]
    assert interleaved == padded


def test_set_epoch_reshuffles_and_seed_matters():
    first, _ = _indices(50, 2, 0, False, shuffle=True, epoch=0)
    again, _ = _indices(50, 2, 0, False, shuffle=True, epoch=0)
    later, _ = _indices(50, 2, 0, False, shuffle=True, epoch=1)
    other_seed, _ = _indices(50, 2, 0, False, shuffle=True, seed=9)
    assert first == again and first != later and first != other_seed


def test_bad_rank_and_no_process_group():
    with pytest.raises(ValueError, match="Invalid rank 2"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(range(4))


def test_drives_a_data_loader():
    data = TensorDataset(ember.arange(10.0))
    sampler = DistributedSampler(data, num_replicas=2, rank=1, shuffle=False)
    batches = [b[0].tolist() for b in DataLoader(data, batch_size=2, sampler=sampler)]
    assert batches == [[1.0, 3.0], [5.0, 7.0], [9.0]]


@pytest.mark.parametrize(("n", "replicas", "drop_last"), CASES[::3])
def test_same_indices_as_pytorch_with_shuffle_given_its_permutation(n, replicas, drop_last, monkeypatch):
    torch = torch_or_skip()
    from torch.utils.data import DistributedSampler as TorchSampler

    def torch_order(self):
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        return torch.randperm(len(self.dataset), generator=generator).tolist()

    monkeypatch.setattr(DistributedSampler, "_order", torch_order)
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=True, seed=4, drop_last=drop_last)
        theirs = TorchSampler(range(n), replicas, rank, shuffle=True, seed=4, drop_last=drop_last)
        ours.set_epoch(3)
        theirs.set_epoch(3)
        assert list(ours) == list(theirs)
