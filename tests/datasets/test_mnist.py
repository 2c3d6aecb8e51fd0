"""MNIST / FashionMNIST IDX readers over small files written in tmp_path."""

import gzip
import os
import struct

import numpy as np
import pytest

from ember.datasets import MNIST, CorruptFileError, DownloadUnavailableError, FashionMNIST, read_idx
from ember.datasets.transforms import ToTensor


def _idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _write(path, data: bytes, gz: bool):
    if gz:
        path = str(path) + ".gz"
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)
    return str(path)


def _make_mnist(root, name="MNIST", n=5, gz=False, layout=("{name}", "raw")):
    folder = os.path.join(root, *(part.format(name=name) for part in layout))
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    for prefix in ("train", "t10k"):
        _write(os.path.join(folder, f"{prefix}-images-idx3-ubyte"), _idx_bytes(images), gz)
        _write(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"), _idx_bytes(labels), gz)
    return images, labels, folder


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("cls", [MNIST, FashionMNIST])
def test_reads_raw_and_gz(tmp_path, gz, cls):
    images, labels, _ = _make_mnist(tmp_path, cls.__name__, gz=gz)
    for train in (True, False):
        ds = cls(str(tmp_path), train=train)
        assert len(ds) == 5 and ds.data.shape == (5, 28, 28)
        img, target = ds[2]
        assert isinstance(img, np.ndarray) and img.dtype == np.uint8
        np.testing.assert_array_equal(img, images[2])
        assert target == int(labels[2]) and isinstance(target, int)


def test_flat_layout_and_transforms(tmp_path):
    images, labels, _ = _make_mnist(tmp_path, layout=())
    ds = MNIST(tmp_path, transform=ToTensor(), target_transform=lambda y: y + 100)
    img, target = ds[0]
    assert tuple(img.shape) == (1, 28, 28) and target == int(labels[0]) + 100
    np.testing.assert_allclose(img.numpy()[0], images[0] / 255.0, rtol=1e-6)


def test_read_idx_types(tmp_path):
    for dtype, code in (
        (np.int16, 0x0B),
        (np.int32, 0x0C),
        (np.float32, 0x0D),
        (np.float64, 0x0E),
        (np.int8, 0x09),
    ):
        array = np.arange(6, dtype=dtype).reshape(2, 3)
        path = _write(tmp_path / f"a{code}", _idx_bytes(array, code), gz=False)
        out = read_idx(path)
        assert out.dtype == np.dtype(dtype) and out.tolist() == array.tolist()


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda b: b[:-10], "truncated: the header promises shape"),
        (lambda b: b + b"xx", "2 unexpected bytes after the data"),
        (lambda b: b"\x01" + b[1:], "bad magic number"),
        (lambda b: b[:2] + b"\x07" + b[3:], "unknown IDX data type code 0x07"),
        (lambda b: b[:6], "truncated header"),
        (lambda b: b[:3], "too short for an IDX header"),
    ],
)
def test_malformed_files_name_the_file(tmp_path, damage, message):
    _, _, folder = _make_mnist(tmp_path)
    path = os.path.join(folder, "train-images-idx3-ubyte")
    with open(path, "rb") as f:
        good = f.read()
    with open(path, "wb") as f:
        f.write(damage(good))
    with pytest.raises(CorruptFileError, match=message) as info:
        MNIST(tmp_path)
    assert path in str(info.value)


def test_truncated_gzip(tmp_path):
    _, _, folder = _make_mnist(tmp_path, gz=True)
    path = os.path.join(folder, "train-labels-idx1-ubyte.gz")
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="not a readable gzip file") as info:
        MNIST(tmp_path)
    assert path in str(info.value)


def test_mismatched_counts_and_bad_labels(tmp_path):
    _, _, folder = _make_mnist(tmp_path)
    _write(os.path.join(folder, "train-labels-idx1-ubyte"), _idx_bytes(np.zeros(4, np.uint8)), gz=False)
    with pytest.raises(CorruptFileError, match="holds 5 images but .* holds 4 labels"):
        MNIST(tmp_path)
    _write(os.path.join(folder, "train-labels-idx1-ubyte"), _idx_bytes(np.full(5, 12, np.uint8)), gz=False)
    with pytest.raises(CorruptFileError, match=r"labels must lie in \[0, 9\]"):
        MNIST(tmp_path)


def test_missing_files_and_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte") as info:
        MNIST(tmp_path)
    assert os.path.join(str(tmp_path), "MNIST", "raw") in str(info.value)
    with pytest.raises(DownloadUnavailableError, match="never downloads") as info:
        FashionMNIST(tmp_path, download=True)
    text = str(info.value)
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        assert os.path.join(str(tmp_path), "FashionMNIST", "raw", name) in text
