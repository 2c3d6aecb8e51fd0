"""The Learner's loop: events, cancelling, fitting, the learning-rate finder, saving, evaluation."""

import numpy as np
import pytest

import ember
from ember.train import (
    EVENTS,
    Callback,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    Learner,
    accuracy,
)
from tests.train.conftest import make_model


def _params(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


class Log(Callback):
    def __init__(self):
        self.events = []

    def __getattribute__(self, name):
        if name in EVENTS:
            return lambda: object.__getattribute__(self, "events").append(name)
        return object.__getattribute__(self, name)


for _event in EVENTS:  # so that the learner sees each event as handled
    setattr(Log, _event, lambda self: None)


def test_events_fire_in_order_for_one_epoch(make_learner):
    log = Log()
    learn = make_learner(cbs=[log])
    learn.fit(1, lr=0.01)
    ev = log.events
    assert ev[:4] == ["before_fit", "before_epoch", "before_train", "before_batch"]
    assert ev[3:12] == [
        "before_batch",
        "after_pred",
        "after_loss",
        "before_backward",
        "after_backward",
        "before_step",
        "after_step",
        "after_batch",
        "before_batch",
    ]
    assert ev.count("after_step") == 4  # 64 samples, batches of 16
    assert ev[-3:] == ["after_validate", "after_epoch", "after_fit"]
    valid = ev[ev.index("before_validate") : ev.index("after_validate")]
    assert valid.count("after_batch") == 2 and "before_backward" not in valid


def test_callbacks_read_and_change_the_state(make_learner):
    class Doubler(Callback):
        def after_loss(self):
            assert self.learn.pred.shape == (16, 2) and self.learn.yb[0].shape == (16,)
            self.learn.loss_grad = self.learn.loss_grad * 0  # no gradient: nothing moves

    learn = make_learner(cbs=[Doubler()], opt_func=ember.optim.SGD)
    before = _params(learn.model)
    learn.fit(1, lr=0.1)
    after = _params(learn.model)
    assert all(np.array_equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize(
    "exc, expect_steps, expect_epochs",
    [(CancelBatchException, 0, 2), (CancelEpochException, 0, 2), (CancelFitException, 0, 0)],
)
def test_cancel_exceptions(make_learner, exc, expect_steps, expect_epochs):
    class Cancel(Callback):
        def before_batch(self):
            if self.learn.training:
                raise exc

    steps = []

    class Count(Callback):
        def after_step(self):
            steps.append(1)

    learn = make_learner(cbs=[Cancel(), Count()])
    learn.fit(2, lr=0.01)
    assert len(steps) == expect_steps
    assert len(learn.recorder.epochs) == expect_epochs
    if exc is CancelBatchException:  # every batch was skipped, yet each still ended
        assert learn.train_iter == 8


def test_fit_learns_and_records(make_learner):
    learn = make_learner(metrics=[accuracy])
    learn.fit(8, lr=0.05)
    rec = learn.recorder
    assert len(rec.losses) == len(rec.lrs) == len(rec.moms) == len(rec.times) == 32
    assert [r["epoch"] for r in rec.epochs] == list(range(8))
    assert set(rec.epochs[0]) == {"epoch", "train_loss", "valid_loss", "accuracy", "time"}
    assert rec.epochs[-1]["valid_loss"] < rec.epochs[0]["valid_loss"]
    assert rec.epochs[-1]["accuracy"] > 0.8
    assert rec.moms[0] == 0.9  # AdamW's beta1
    assert learn.validate()["accuracy"] == pytest.approx(rec.epochs[-1]["accuracy"])


def test_fit_one_cycle_schedules_lr_and_momentum(make_learner):
    learn = make_learner()
    learn.fit_one_cycle(4, max_lr=0.1, pct_start=0.25)
    lrs, moms = learn.recorder.lrs, learn.recorder.moms
    top = int(np.argmax(lrs))
    assert lrs[0] == pytest.approx(0.1 / 25) and max(lrs) == pytest.approx(0.1, rel=1e-2)
    assert 2 <= top <= 5 and lrs[-1] < lrs[0] / 100
    assert moms[0] == pytest.approx(0.95) and min(moms) == pytest.approx(0.85, abs=0.01)
    assert moms[top] == min(moms)


def test_lr_find_suggests_and_restores_everything(make_learner):
    learn = make_learner()
    learn.fit(1, lr=0.01)
    params, history = _params(learn.model), list(learn.recorder.losses)
    opt_state = learn.opt.state_dict()
    moments = {k: v["exp_avg"].numpy().copy() for k, v in opt_state["state"].items()}
    rng = ember.get_rng_state().numpy().copy()
    s = learn.lr_find(num_it=30)
    assert len(s.lrs) == len(s.losses) > 3
    assert s.valley in s.lrs and s.steep in s.lrs
    assert s.minimum * 10 == pytest.approx(s.lrs[int(np.argmin(s.losses))])
    after = _params(learn.model)
    assert all(np.array_equal(params[k], after[k]) for k in params)
    assert learn.recorder.losses == history
    assert np.array_equal(ember.get_rng_state().numpy(), rng)
    new_state = learn.opt.state_dict()
    assert new_state["param_groups"][0]["lr"] == opt_state["param_groups"][0]["lr"] == 0.01
    for key, moment in moments.items():
        assert np.array_equal(moment, new_state["state"][key]["exp_avg"].numpy())


def test_lr_find_then_fit_matches_fit_alone(make_learner):
    a, b = make_learner(), make_learner()
    a.lr_find(num_it=10)
    a.fit(1, lr=0.01)
    b.fit(1, lr=0.01)
    assert a.recorder.losses == b.recorder.losses


def test_get_preds_predict_and_interpret(make_learner, tmp_path):
    learn = make_learner()
    learn.fit(3, lr=0.05)
    preds, targets = learn.get_preds()
    assert preds.shape == (32, 2) and targets.shape == (32,)
    x = learn.valid_loader.dataset[0][0]
    assert np.allclose(learn.predict(x).numpy(), preds[0].numpy(), atol=1e-6)
    interp = learn.interpret()
    cm = interp.confusion_matrix()
    assert cm.shape == (2, 2) and cm.sum() == 32
    assert interp.accuracy() == pytest.approx(float(accuracy(preds, targets)))
    losses, _ = interp.top_losses(3)
    assert losses[0] >= losses[1] >= losses[2]
    pytest.importorskip("matplotlib")
    path = interp.plot_confusion_matrix(str(tmp_path / "cm.png"))
    with open(path, "rb") as f:
        assert f.read(4) == b"\x89PNG"


def test_save_load_roundtrip(make_learner):
    learn = make_learner()
    learn.fit(1, lr=0.05)
    path = learn.save("weights")
    assert path.endswith("weights.safetensors")
    saved = _params(learn.model)
    other = make_learner(model=make_model())
    other.load("weights")
    loaded = _params(other.model)
    assert all(np.array_equal(saved[k], loaded[k]) for k in saved)
    assert other.opt.state_dict()["param_groups"][0]["lr"] == 0.05


def test_freeze_trains_only_the_last_group(make_learner):
    learn = make_learner()
    learn.freeze()
    before = _params(learn.model)
    learn.fit(1, lr=0.05)
    after = _params(learn.model)
    assert np.array_equal(before["0.weight"], after["0.weight"])
    assert not np.array_equal(before["2.weight"], after["2.weight"])
    learn.unfreeze()
    learn.fit(1, lr=0.05)
    assert not np.array_equal(after["0.weight"], _params(learn.model)["0.weight"])
    assert len(learn.opt.param_groups) == 2  # Linear, Linear (ReLU has no parameters)


def test_plots_are_pngs(make_learner, tmp_path):
    pytest.importorskip("matplotlib")
    learn = make_learner(metrics=[accuracy])
    learn.fit_one_cycle(2, 0.05)
    for path in (learn.recorder.plot_loss(), learn.recorder.plot_lr(), learn.recorder.plot_metrics()):
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["loss.png", "lr.png", "metrics.png"]


def test_missing_matplotlib_names_the_extra(make_learner, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    learn = make_learner()
    learn.fit(1, lr=0.01)
    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r'pip install "ember\[plot\]"'):
        learn.recorder.plot_loss()


def test_checkpoint_of_another_model_names_the_difference(make_learner, tmp_path):
    learn = make_learner(checkpoint_dir=tmp_path / "ckpt")
    learn.fit(1, lr=0.01)
    wider = ember.nn.Sequential(ember.nn.Linear(4, 9), ember.nn.ReLU(), ember.nn.Linear(9, 2))
    other = make_learner(model=wider, checkpoint_dir=tmp_path / "ckpt")
    with pytest.raises(RuntimeError, match=r"0\.weight: checkpoint \[8, 4\].*model \[9, 4\]"):
        other.fit(2, lr=0.01, resume=True)
    sgd = make_learner(opt_func=ember.optim.SGD, checkpoint_dir=tmp_path / "ckpt")
    with pytest.raises(RuntimeError, match="the optimizer is SGD, the checkpoint's is AdamW"):
        sgd.fit(2, lr=0.01, resume=True)


def test_resume_in_process_after_cancel_matches(make_learner, tmp_path):
    """A fit stopped mid-epoch and resumed in the same process ends where an unbroken one does."""

    class StopAt(Callback):
        order = 150

        def after_batch(self):
            if self.learn.training and self.learn.train_iter == 6:
                raise CancelFitException

    ref = make_learner()
    ref.fit_one_cycle(3, 0.05)
    a = make_learner(checkpoint_dir=tmp_path / "a", checkpoint_every=3)
    a.fit_one_cycle(3, 0.05, cbs=[StopAt()])
    b = make_learner(checkpoint_dir=tmp_path / "a", checkpoint_every=3)
    b.fit_one_cycle(3, 0.05, resume=True)
    assert b.recorder.losses == ref.recorder.losses
    assert all(np.array_equal(v, _params(b.model)[k]) for k, v in _params(ref.model).items())


def test_a_new_fit_replaces_older_checkpoints(make_learner, tmp_path):
    first = make_learner(checkpoint_dir=tmp_path / "c", checkpoint_every=1)
    first.fit(2, lr=0.01)
    second = make_learner(checkpoint_dir=tmp_path / "c")
    second.fit(1, lr=0.01)
    assert [p.name for p in sorted((tmp_path / "c").iterdir())] == ["ckpt-0000000004-1.safetensors"]


def test_device_auto_is_cpu_without_cuda(make_learner):
    learn = make_learner(device="auto")
    assert learn.device.type == ("cuda" if ember.cuda.is_available() else "cpu")


def test_learner_without_validation(make_learner):
    learn = make_learner()
    learn.valid_loader = None
    learn.fit(1, lr=0.01)
    assert "valid_loss" not in learn.recorder.epochs[0]
    assert isinstance(learn, Learner)
