"""DataLoader in the main process: batching, options, and agreement with PyTorch's order."""

import itertools

import numpy as np
import pytest

import ember
from ember.utils.data import DataLoader, IterableDataset, RandomSampler, TensorDataset
from tests.helpers import torch_or_skip


class Stream(IterableDataset):
    def __init__(self, n, with_len=True):
        self.n, self.with_len = n, with_len

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        if not self.with_len:
            raise TypeError("no len")
        return self.n


def _labels(loader):
    return [b.tolist() if hasattr(b, "tolist") else b for b in loader]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"batch_size": 3},
        {"batch_size": 3, "drop_last": True},
        {"batch_size": None},
        {"batch_size": 1},
        {"batch_size": 4, "sampler": [9, 0, 5, 2, 7]},
        {"batch_sampler": [[1, 2], [0], [9, 8, 7]]},
    ],
)
def test_batches_match_torch(kwargs):
    torch = torch_or_skip()
    data = list(range(10))
    ours, theirs = DataLoader(data, **kwargs), torch.utils.data.DataLoader(data, **kwargs)
    assert _labels(ours) == _labels(theirs)
    assert len(ours) == len(theirs)


@pytest.mark.parametrize(
    "kwargs", [{"batch_size": 4}, {"batch_size": 4, "drop_last": True}, {"batch_size": None}]
)
def test_iterable_batches_match_torch(kwargs):
    torch = torch_or_skip()
    torch_stream = type(
        "TorchStream",
        (torch.utils.data.IterableDataset,),
        {"__iter__": Stream.__iter__, "__len__": Stream.__len__, "__init__": Stream.__init__},
    )
    ours, theirs = DataLoader(Stream(10), **kwargs), torch.utils.data.DataLoader(torch_stream(10), **kwargs)
    assert _labels(ours) == _labels(theirs) and len(ours) == len(theirs)
    with pytest.raises(TypeError, match="no __len__"):
        len(DataLoader(Stream(10, with_len=False), batch_size=2))


def test_tensor_dataset_batches():
    x = ember.tensor(np.arange(20, dtype=np.float32).reshape(10, 2))
    y = ember.tensor(np.arange(10))
    batches = list(DataLoader(TensorDataset(x, y), batch_size=4))
    assert [tuple(b[0].shape) for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert batches[2][1].tolist() == [8, 9] and batches[0][0].dtype == ember.float32


def test_shuffle_is_reproducible_and_changes_per_epoch():
    loader = DataLoader(range(20), batch_size=5, shuffle=True, generator=ember.Generator().manual_seed(7))
    first, second = _labels(loader), _labels(loader)
    assert first != second
    assert sorted(itertools.chain(*first)) == list(range(20))
    again = DataLoader(range(20), batch_size=5, shuffle=True, generator=ember.Generator().manual_seed(7))
    assert _labels(again) == first
    ember.manual_seed(3)
    global_a = _labels(DataLoader(range(20), batch_size=5, shuffle=True))
    ember.manual_seed(3)
    assert _labels(DataLoader(range(20), batch_size=5, shuffle=True)) == global_a


def test_custom_collate_and_sampler():
    loader = DataLoader(
        range(6),
        batch_size=2,
        collate_fn=lambda b: sum(b),
        sampler=RandomSampler(range(6), generator=ember.Generator().manual_seed(0)),
    )
    assert sum(loader) == 15


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_workers": -1}, "non-negative integer"),
        ({"prefetch_factor": 2}, "prefetch_factor option could only be specified in multiprocessing"),
        ({"persistent_workers": True}, "persistent_workers option needs num_workers > 0"),
        ({"timeout": -1}, "timeout option should be non-negative"),
        ({"shuffle": True, "sampler": [0, 1]}, "mutually exclusive with shuffle"),
        ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option is mutually exclusive"),
        ({"batch_size": None, "drop_last": True}, "mutually exclusive with drop_last"),
    ],
)
def test_option_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(range(4), **kwargs)


def test_iterable_rejects_shuffle():
    with pytest.raises(ValueError, match="expected unspecified shuffle"):
        DataLoader(Stream(3), shuffle=True)


def test_errors_in_main_process_propagate_unchanged():
    class Bad:
        def __len__(self):
            return 3

        def __getitem__(self, i):
            raise KeyError(f"missing {i}")

    with pytest.raises(KeyError, match="missing 0"):
        next(iter(DataLoader(Bad())))


def test_single_process_iterator_skip_leaves_the_rest_of_the_epoch_unchanged():
    ds = TensorDataset(ember.arange(20).float(), ember.arange(20))
    g = ember.Generator().manual_seed(3)
    loader = DataLoader(ds, batch_size=3, shuffle=True, generator=g)
    state = g.get_state()
    full = [y.tolist() for _, y in loader]
    g.set_state(state)
    it = iter(loader)
    it._skip(4)
    assert [y.tolist() for _, y in it] == full[4:]


def test_batch_size_attribute_matches_pytorch():
    data = list(range(6))
    assert DataLoader(data, batch_size=4).batch_size == 4
    assert DataLoader(data).batch_size == 1
    assert DataLoader(data, batch_size=None).batch_size is None
    sampler = ember.utils.data.BatchSampler(ember.utils.data.SequentialSampler(data), 2, False)
    assert DataLoader(data, batch_sampler=sampler).batch_size is None
    torch = torch_or_skip()
    assert torch.utils.data.DataLoader(data, batch_size=4).batch_size == 4
    assert torch.utils.data.DataLoader(data, batch_sampler=sampler).batch_size is None
