"""SummaryWriter: every value written is read back by TensorBoard's own event reader."""

import builtins
import os

import numpy as np
import pytest

import ember

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ember.utils.tensorboard import SummaryWriter


def _read(folder):
    acc = EventAccumulator(str(folder), size_guidance={"tensors": 0, "images": 0, "scalars": 0})
    acc.Reload()
    return acc


def test_scalars_histograms_images_text_read_back(tmp_path):
    with SummaryWriter(tmp_path) as w:
        assert w.log_dir == str(tmp_path)
        for step in range(5):
            w.add_scalar("loss/train", 1.0 / (step + 1), step)
        w.add_scalar("tensor_value", ember.tensor(2.5), 7)
        values = np.random.default_rng(0).standard_normal(1000)
        w.add_histogram("weights", ember.from_numpy(values), 3, bins=20)
        w.add_image("chw", np.linspace(0, 1, 3 * 4 * 5).reshape(3, 4, 5), 1)
        w.add_image("hw", np.zeros((6, 7), np.uint8), 2, dataformats="HW")
        w.add_images("batch", np.ones((10, 1, 4, 4)), 1)
        w.add_text("notes", "**hello** ember", 4)
    acc = _read(tmp_path)
    loss = acc.Scalars("loss/train")
    assert [e.step for e in loss] == list(range(5))
    assert np.allclose([e.value for e in loss], [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    assert acc.Scalars("tensor_value")[0].value == 2.5
    hist = acc.Histograms("weights")[0]
    assert hist.step == 3 and hist.histogram_value.num == 1000
    assert hist.histogram_value.sum == pytest.approx(values.sum())
    assert sum(hist.histogram_value.bucket) == 1000 and len(hist.histogram_value.bucket) == 20
    chw = acc.Images("chw")[0]
    assert (chw.height, chw.width) == (4, 5) and chw.encoded_image_string[:4] == b"\x89PNG"
    assert (acc.Images("hw")[0].height, acc.Images("hw")[0].width) == (6, 7)
    assert (acc.Images("batch")[0].height, acc.Images("batch")[0].width) == (8, 32)  # 8 per row
    text = acc.Tensors("notes/text_summary")[0]
    assert text.step == 4 and text.tensor_proto.string_val == [b"**hello** ember"]


def test_png_decodes_to_the_pixels(tmp_path):
    matplotlib_image = pytest.importorskip("matplotlib.image")
    from ember.utils.tensorboard._protos import png

    pixels = np.random.default_rng(1).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    path = tmp_path / "x.png"
    path.write_bytes(png(pixels))
    decoded = (matplotlib_image.imread(str(path)) * 255).round().astype(np.uint8)
    assert np.array_equal(decoded, pixels)


def test_add_scalars_writes_one_run_per_tag(tmp_path):
    w = SummaryWriter(tmp_path)
    for step in range(3):
        w.add_scalars("loss", {"train": step * 1.0, "valid": step * 2.0}, step)
    w.close()
    assert sorted(d for d in os.listdir(tmp_path) if os.path.isdir(tmp_path / d)) == [
        "loss_train",
        "loss_valid",
    ]
    assert [e.value for e in _read(tmp_path / "loss_valid").Scalars("loss")] == [0.0, 2.0, 4.0]


def test_add_hparams_for_the_hparams_plugin(tmp_path):
    from tensorboard.plugins.hparams import metadata

    w = SummaryWriter(tmp_path)
    w.add_hparams({"lr": 0.01, "optimizer": "adamw", "bn": True}, {"hparam/accuracy": 0.97}, run_name="trial")
    w.close()
    acc = _read(tmp_path / "trial")
    assert acc.Scalars("hparam/accuracy")[0].value == pytest.approx(0.97)
    content = acc.SummaryMetadata(metadata.SESSION_START_INFO_TAG).plugin_data.content
    start = metadata.parse_session_start_info_plugin_data(content)
    assert start.hparams["lr"].number_value == 0.01
    assert start.hparams["optimizer"].string_value == "adamw"
    assert start.hparams["bn"].bool_value is True
    experiment = metadata.parse_experiment_plugin_data(
        acc.SummaryMetadata(metadata.EXPERIMENT_TAG).plugin_data.content
    )
    assert [m.name.tag for m in experiment.metric_infos] == ["hparam/accuracy"]


def test_add_figure(tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    fig = plt.figure(figsize=(2, 1), dpi=50)
    plt.plot([0, 1], [1, 0])
    with SummaryWriter(tmp_path) as w:
        w.add_figure("curve", fig, 9)
    image = _read(tmp_path).Images("curve")[0]
    assert (image.step, image.width, image.height) == (9, 100, 50)


def test_flush_makes_values_readable_before_close(tmp_path):
    w = SummaryWriter(tmp_path, flush_secs=1000)
    w.add_scalar("x", 1.0, 0)
    w.flush()
    assert _read(tmp_path).Scalars("x")[0].value == 1.0
    w.close()


def test_missing_tensorboard_names_the_extra(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("tensorboard"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(ImportError, match=r'pip install "ember\[tensorboard\]"'):
        SummaryWriter(tmp_path)
