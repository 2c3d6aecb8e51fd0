"""Each shipped callback's effect."""

import csv
import io
import warnings

import numpy as np
import pytest

import ember
from ember.train import (
    Callback,
    CSVLogger,
    EarlyStopping,
    GradientAccumulation,
    GradientClip,
    MixedPrecision,
    ProgressBar,
    ReduceLROnPlateau,
    SaveModel,
    TensorBoard,
    accuracy,
)


class Values(Callback):
    """Feeds a scripted validation loss to the trackers, one per epoch."""

    order = -40  # after the Recorder wrote the epoch, before the trackers read it

    def __init__(self, values):
        self.values = list(values)

    def after_epoch(self):
        self.learn.recorder.epochs[-1]["valid_loss"] = self.values[self.learn.epoch]


def test_early_stopping_stops_after_patience(make_learner):
    stop = EarlyStopping("valid_loss", patience=2, min_delta=0.01)
    learn = make_learner(cbs=[Values([1.0, 0.5, 0.495, 0.6, 0.1, 0.1]), stop])
    learn.fit(6, lr=0.01)
    assert len(learn.recorder.epochs) == 4 and stop.stopped_epoch == 3
    assert stop.best == 0.5


def test_save_model_keeps_and_reloads_the_best(make_learner, tmp_path):
    saver = SaveModel("accuracy", fname="best")
    learn = make_learner(metrics=[accuracy], cbs=[saver])
    snapshots = []

    class Snap(Callback):
        order = 70

        def after_epoch(self):
            snapshots.append(
                (
                    self.learn.recorder.epochs[-1]["accuracy"],
                    self.learn.model.state_dict()["0.weight"].numpy().copy(),
                )
            )

    learn.add_cb(Snap())
    learn.fit(4, lr=0.05)
    assert (tmp_path / "best.safetensors").exists()
    best = max(range(4), key=lambda i: (snapshots[i][0], -i))
    assert np.array_equal(learn.model.state_dict()["0.weight"].numpy(), snapshots[best][1])


def test_save_model_every_epoch(make_learner, tmp_path):
    learn = make_learner(cbs=[SaveModel(every_epoch=True, fname="m")])
    learn.fit(2, lr=0.01)
    assert sorted(p.name for p in tmp_path.glob("m_*.safetensors")) == ["m_0.safetensors", "m_1.safetensors"]


def test_reduce_lr_on_plateau(make_learner):
    # as PyTorch's: reduce when more than `patience` epochs were not better (epochs 3 and 5)
    learn = make_learner(cbs=[Values([1.0] * 5), ReduceLROnPlateau(patience=1, factor=0.5)])
    learn.fit(5, lr=0.1)
    assert learn.opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 * 0.5)


def test_gradient_clip_bounds_the_norm(make_learner):
    norms = []

    class Norm(Callback):
        order = 20  # after GradientClip

        def before_step(self):
            grads = [p.grad for p in self.learn.model.parameters() if p.grad is not None]
            norms.append(float(ember.stack([g.norm() for g in grads]).norm()))

    learn = make_learner(cbs=[GradientClip(max_norm=1e-3), Norm()])
    learn.fit(1, lr=0.01)
    assert len(norms) == 4 and max(norms) <= 1e-3 * 1.0001


def test_gradient_accumulation_equals_a_larger_batch(make_learner):
    from ember.utils.data import DataLoader

    steps = []

    class Count(Callback):
        def after_step(self):
            steps.append(1)

    small = make_learner(opt_func=ember.optim.SGD, cbs=[GradientAccumulation(2), Count()])
    small.train_loader = DataLoader(small.train_loader.dataset, batch_size=16)
    small.fit(1, lr=0.1)
    assert len(steps) == 2
    big = make_learner(opt_func=ember.optim.SGD)
    big.train_loader = DataLoader(big.train_loader.dataset, batch_size=32)
    big.fit(1, lr=0.1)
    for (k, a), b in zip(small.model.state_dict().items(), big.model.state_dict().values()):
        assert np.allclose(a.numpy(), b.numpy(), atol=1e-6), k


def test_mixed_precision_on_cpu_is_a_noop_with_a_note(make_learner):
    ref = make_learner()
    ref.fit(1, lr=0.01)
    learn = make_learner(cbs=[MixedPrecision()])
    with pytest.warns(UserWarning, match="CPU"):
        learn.fit(1, lr=0.01)
    assert learn.recorder.losses == ref.recorder.losses and learn.scaler is None


def test_csv_logger_writes_a_row_per_epoch(make_learner, tmp_path):
    learn = make_learner(metrics=[accuracy], cbs=[CSVLogger("log/history.csv")])
    learn.fit(3, lr=0.01)
    rows = list(csv.DictReader((tmp_path / "log" / "history.csv").read_text().splitlines()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert set(rows[0]) == {"epoch", "train_loss", "valid_loss", "accuracy", "time"}
    assert float(rows[2]["valid_loss"]) == pytest.approx(learn.recorder.epochs[2]["valid_loss"])
    learn.cbs[-1].append = True
    learn.fit(1, lr=0.01)
    assert len((tmp_path / "log" / "history.csv").read_text().splitlines()) == 5


def test_tensorboard_callback_logs_steps_and_epochs(make_learner, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    learn = make_learner(metrics=[accuracy], cbs=[TensorBoard(str(tmp_path / "tb"), histograms=True)])
    learn.fit_one_cycle(2, 0.05)
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    losses = [e.value for e in acc.Scalars("train/loss")]
    assert np.allclose(losses, learn.recorder.losses)
    assert [e.step for e in acc.Scalars("epoch/accuracy")] == [1, 2]
    assert np.allclose([e.value for e in acc.Scalars("train/lr")], learn.recorder.lrs)
    assert "0.weight" in acc.Tags()["histograms"]


def test_progress_bar_prints_a_line_per_epoch_and_is_quiet_off_a_terminal(make_learner):
    out = io.StringIO()
    learn = make_learner(metrics=[accuracy], cbs=[ProgressBar(file=out)])
    learn.fit(2, lr=0.01)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["epoch", "train_loss", "valid_loss", "accuracy", "time"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2"]  # no bar: not a terminal


def test_progress_bar_forced_shows_bars_with_the_running_loss(make_learner, monkeypatch):
    pytest.importorskip("tqdm")
    from ember.train.callbacks import progress

    monkeypatch.setattr(progress, "_REFRESH_S", -1.0)
    out, seen = io.StringIO(), []

    class Peek(Callback):
        order = 70

        def after_batch(self):
            bar = self.learn.cb(ProgressBar).batch_bar
            seen.append((bar.desc, bar.n, bar.total, bar.postfix))

    learn = make_learner(cbs=[ProgressBar(bars=True, file=out), Peek()])
    learn.fit(1, lr=0.01)
    assert seen[3][:3] == ("epoch 1/1", 4, 4) and seen[3][3].startswith("loss ")
    assert seen[4][0] == "validating"
    assert "epochs: 100%" in out.getvalue()


def test_no_bar_silences(make_learner, capsys):
    learn = make_learner(progress=True)
    with learn.no_bar():
        learn.fit(1, lr=0.01)
    assert capsys.readouterr().out == ""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        learn.fit(1, lr=0.01)
    assert "train_loss" in capsys.readouterr().out
