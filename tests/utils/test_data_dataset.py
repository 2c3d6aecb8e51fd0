"""Datasets, samplers and random_split."""

import numpy as np
import pytest

import ember
from ember.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    random_split,
)
from tests.helpers import torch_or_skip


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i * i


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


def test_tensor_dataset_rows_and_errors():
    x, y = ember.tensor(np.arange(12.0).reshape(6, 2)), ember.tensor(np.arange(6))
    ds = TensorDataset(x, y)
    assert len(ds) == 6
    row, label = ds[4]
    assert row.tolist() == [8.0, 9.0] and label.item() == 4 and label.ndim == 0
    with pytest.raises(ValueError, match="same size in dim 0"):
        TensorDataset(ember.zeros(3), ember.zeros(4))


def test_concat_and_chain():
    ds = Squares(3) + Squares(2)
    assert isinstance(ds, ConcatDataset) and len(ds) == 5
    assert [ds[i] for i in range(5)] == [0, 1, 4, 0, 1]
    assert ds[-1] == 1
    with pytest.raises(IndexError):
        ds[5]
    with pytest.raises(TypeError, match="ChainDataset"):
        ConcatDataset([Stream(2)])
    chained = Stream(2) + Stream(3)
    assert isinstance(chained, ChainDataset) and list(chained) == [0, 1, 0, 1, 2]
    assert len(ChainDataset([range(2), range(3)])) == 5


def test_subset_and_stack():
    sub = Subset(Squares(10), [3, 1])
    assert len(sub) == 2 and sub[0] == 9 and sub.__getitems__([1, 0]) == [1, 9]
    assert StackDataset([1, 2], [3, 4])[0] == (1, 3)
    with pytest.raises(ValueError, match="equal lengths"):
        StackDataset([1], [1, 2])


def test_random_split_lengths_fractions_and_reproducibility():
    torch = torch_or_skip()
    for lengths in ([0.5, 0.3, 0.2], [0.33, 0.33, 0.34], [3, 7]):
        ours = random_split(range(10), lengths, generator=ember.Generator().manual_seed(0))
        theirs = torch.utils.data.random_split(range(10), lengths, generator=torch.Generator().manual_seed(0))
        assert [len(s) for s in ours] == [len(s) for s in theirs]
        assert sorted(i for s in ours for i in s) == list(range(10))
    a = [list(s) for s in random_split(range(10), [5, 5], generator=ember.Generator().manual_seed(3))]
    b = [list(s) for s in random_split(range(10), [5, 5], generator=ember.Generator().manual_seed(3))]
    assert a == b
    with pytest.raises(ValueError, match="sum to the dataset length 10"):
        random_split(range(10), [3, 3])


def test_samplers():
    assert list(SequentialSampler(range(3))) == [0, 1, 2]
    g = ember.Generator().manual_seed(1)
    perm = list(RandomSampler(range(6), generator=g))
    assert sorted(perm) == list(range(6))
    assert perm == list(RandomSampler(range(6), generator=ember.Generator().manual_seed(1)))
    long = list(RandomSampler(range(4), num_samples=10, generator=g))
    assert len(long) == 10 and sorted(long[:4]) == [0, 1, 2, 3] and sorted(long[4:8]) == [0, 1, 2, 3]
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=50, generator=g))
    assert len(drawn) == 50 and set(drawn) <= {0, 1, 2}
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)
    assert sorted(SubsetRandomSampler([4, 8, 9], generator=g)) == [4, 8, 9]


def test_weighted_sampler():
    g = ember.Generator().manual_seed(0)
    drawn = list(WeightedRandomSampler([0.0, 3.0, 1.0], 400, generator=g))
    assert 0 not in drawn and 250 < drawn.count(1) < 350
    assert sorted(WeightedRandomSampler([1, 1, 1, 0], 3, replacement=False, generator=g)) == [0, 1, 2]
    with pytest.raises(ValueError, match="without replacement"):
        WeightedRandomSampler([1, 0], 2, replacement=False)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1, -1], 2)


def test_batch_sampler_matches_torch():
    torch = torch_or_skip()
    for drop_last in (False, True):
        ours = BatchSampler(SequentialSampler(range(10)), 3, drop_last)
        theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(10)), 3, drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(3), 0, False)
