"""Image transforms on NumPy (HWC) images and ember (CHW) tensors."""

import numpy as np
import pytest

import ember
from ember.datasets.transforms import Compose, Lambda, Normalize, RandomCrop, RandomHorizontalFlip, ToTensor


def _image(h=4, w=5, c=3):
    return np.arange(h * w * c, dtype=np.uint8).reshape(h, w, c)


def test_to_tensor():
    img = _image()
    out = ToTensor()(img)
    assert tuple(out.shape) == (3, 4, 5) and out.dtype == ember.float32
    np.testing.assert_allclose(out.numpy(), img.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    gray = ToTensor()(img[:, :, 0])
    assert tuple(gray.shape) == (1, 4, 5)
    floats = ToTensor()(np.ones((2, 2, 1), np.float64))
    assert floats.dtype == ember.float64 and floats.numpy().max() == 1.0
    with pytest.raises(TypeError, match="got a Tensor"):
        ToTensor()(ember.zeros(1, 2, 2))


def test_normalize():
    x = ToTensor()(_image())
    out = Normalize([0.5, 0.4, 0.3], [0.2, 0.2, 0.1])(x)
    expected = (x.numpy() - np.array([0.5, 0.4, 0.3], np.float32)[:, None, None]) / np.array(
        [0.2, 0.2, 0.1], np.float32
    )[:, None, None]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    assert out.dtype == ember.float32
    with pytest.raises(ValueError, match="2 means/stds for an image with 3 channels"):
        Normalize([0.5, 0.5], [1, 1])(x)
    with pytest.raises(ValueError, match="division by zero"):
        Normalize([0.5], [0.0])
    with pytest.raises(TypeError, match="use ToTensor first"):
        Normalize([0.5], [0.5])(_image())


def test_random_crop_padding_and_reproducibility():
    img = _image(6, 6)
    crops = [RandomCrop(6, padding=2, generator=ember.Generator().manual_seed(s))(img) for s in range(8)]
    assert all(c.shape == (6, 6, 3) for c in crops)
    assert any(c[0, 0, 0] == 0 and not np.array_equal(c, img) for c in crops)  # saw some padding
    again = RandomCrop(6, padding=2, generator=ember.Generator().manual_seed(3))(img)
    np.testing.assert_array_equal(again, crops[3])
    tensor_crop = RandomCrop((2, 3))(ToTensor()(img))
    assert tuple(tensor_crop.shape) == (3, 2, 3)
    assert RandomCrop(8, pad_if_needed=True)(img).shape == (8, 8, 3)
    edge = RandomCrop(8, padding=1, padding_mode="edge")(img)
    assert edge.shape == (8, 8, 3) and edge[0, 0, 0] == img[0, 0, 0]
    with pytest.raises(
        ValueError, match=r"crop size \(7, 7\) is larger than the \(padded\) image size \(6, 6\)"
    ):
        RandomCrop(7)(img)
    with pytest.raises(ValueError, match="padding_mode"):
        RandomCrop(2, padding_mode="wrap")


@pytest.mark.parametrize("padding", [3, (1, 2), (0, 1, 2, 3)])
def test_constant_padding_matches_numpy_pad(padding):
    img = _image(5, 4)
    left, top, right, bottom = RandomCrop._ltrb(padding)
    expected = np.pad(img, ((top, bottom), (left, right), (0, 0)), constant_values=7)
    crop = RandomCrop(expected.shape[:2], padding=padding, fill=7)
    np.testing.assert_array_equal(crop(img), expected)
    chw = ember.tensor(img.transpose(2, 0, 1).copy())
    np.testing.assert_array_equal(crop(chw).numpy(), expected.transpose(2, 0, 1))


def test_crop_covers_every_offset():
    img = np.arange(9, dtype=np.uint8).reshape(3, 3)
    corners = {int(RandomCrop(2)(img)[0, 0]) for _ in range(200)}
    assert corners == {0, 1, 3, 4}


def test_horizontal_flip():
    img = _image()
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(img), img[:, ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(0.0)(img), img)
    t = ToTensor()(img)
    flipped = RandomHorizontalFlip(1.0)(t)
    np.testing.assert_array_equal(flipped.numpy(), t.numpy()[:, :, ::-1])
    flips = sum(RandomHorizontalFlip(0.5)(img)[0, 0, 0] != img[0, 0, 0] for _ in range(400))
    assert 150 < flips < 250
    with pytest.raises(ValueError, match="probability"):
        RandomHorizontalFlip(2.0)


def test_global_seed_reproducibility_and_compose():
    pipeline = Compose(
        [
            RandomCrop(4, padding=1),
            RandomHorizontalFlip(),
            ToTensor(),
            Normalize([0.5] * 3, [0.5] * 3),
            Lambda(lambda t: t * 1),
        ]
    )
    ember.manual_seed(0)
    a = [pipeline(_image()).numpy() for _ in range(5)]
    ember.manual_seed(0)
    b = [pipeline(_image()).numpy() for _ in range(5)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert tuple(a[0].shape) == (3, 4, 4) and "RandomCrop" in repr(pipeline)
    with pytest.raises(TypeError, match="callable"):
        Lambda(3)
