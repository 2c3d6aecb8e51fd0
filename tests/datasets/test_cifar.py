"""CIFAR-10 / CIFAR-100 binary readers over small batches written in tmp_path."""

import os

import numpy as np
import pytest

from ember.datasets import CIFAR10, CIFAR100, CorruptFileError, DownloadUnavailableError
from ember.utils.data import DataLoader


def _records(n, labels, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
    rows = np.concatenate([labels.astype(np.uint8), images.reshape(n, -1)], axis=1)
    return images, rows.tobytes()


def _make_cifar10(root, per_batch=3):
    folder = os.path.join(root, "cifar-10-batches-bin")
    os.makedirs(folder)
    all_images = []
    for i, name in enumerate([f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]):
        images, blob = _records(per_batch, np.arange(per_batch)[:, None] + i, seed=i)
        all_images.append(images)
        with open(os.path.join(folder, name), "wb") as f:
            f.write(blob)
    with open(os.path.join(folder, "batches.meta.txt"), "w") as f:
        f.write("\n".join(f"name{i}" for i in range(10)) + "\n\n")
    return all_images, folder


def test_cifar10_train_and_test(tmp_path):
    all_images, _ = _make_cifar10(tmp_path)
    train, test = CIFAR10(tmp_path), CIFAR10(tmp_path, train=False)
    assert len(train) == 15 and len(test) == 3 and train.data.shape == (15, 32, 32, 3)
    img, label = train[4]  # batch 2, record 1
    np.testing.assert_array_equal(img, all_images[1][1].transpose(1, 2, 0))
    assert label == 2 and test.targets == [5, 6, 7] and train.classes[3] == "name3"
    batch = next(iter(DataLoader(train, batch_size=4)))
    assert tuple(batch[0].shape) == (4, 32, 32, 3) and batch[1].tolist() == [0, 1, 2, 1]


def test_cifar100(tmp_path):
    folder = os.path.join(tmp_path, "cifar-100-binary")
    os.makedirs(folder)
    labels = np.array([[3, 77], [19, 99]])
    for name in ("train.bin", "test.bin"):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(_records(2, labels)[1])
    ds = CIFAR100(tmp_path)
    assert ds.targets == [77, 99] and ds.coarse_targets == [3, 19] and len(ds) == 2


def test_truncated_and_bad_labels(tmp_path):
    _, folder = _make_cifar10(tmp_path)
    path = os.path.join(folder, "data_batch_3.bin")
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[:-100])
    with pytest.raises(CorruptFileError, match="not a positive multiple of the 3073-byte record") as info:
        CIFAR10(tmp_path)
    assert path in str(info.value)
    with open(path, "wb") as f:
        f.write(b"\x0c" + data[1:])
    with pytest.raises(CorruptFileError, match=r"record 0 has label 12 .* \[0, 9\]"):
        CIFAR10(tmp_path)


def test_missing_and_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_batch_1.bin"):
        CIFAR10(tmp_path)
    with pytest.raises(DownloadUnavailableError, match="never downloads") as info:
        CIFAR100(tmp_path, download=True)
    assert os.path.join(str(tmp_path), "cifar-100-binary", "train.bin") in str(info.value)
