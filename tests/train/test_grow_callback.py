"""``ember.train.callbacks.GrowOnPlateau``: growth during fit, and an exact resume across it."""

from __future__ import annotations

import numpy as np

from ember.train.callbacks import Callback, CancelFitException, GrowOnPlateau


def _params(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def _grower():
    # threshold 10: no epoch "improves" enough, so each one after the patience grows
    return GrowOnPlateau(["0"], factor=2, max_width=32, patience=0, threshold=10.0)


def test_widens_during_fit_and_training_goes_on(make_learner):
    learn = make_learner()
    cb = _grower()
    learn.fit(3, lr=0.05, cbs=[cb])
    assert learn.model[0].out_features == 32 and learn.model[2].in_features == 32
    assert [str(r).count("0") > 0 for r in cb.history] == [True, True]
    losses = [e["valid_loss"] for e in learn.recorder.epochs]
    assert np.isfinite(losses).all()


def test_resume_across_a_growth_is_exact(make_learner, tmp_path):
    class StopAt(Callback):
        order = 150

        def after_batch(self):
            if self.learn.training and self.learn.train_iter == 10:
                raise CancelFitException

    reference = make_learner()
    reference.fit(4, lr=0.05, cbs=[_grower()])
    interrupted = make_learner(checkpoint_dir=tmp_path / "c", checkpoint_every=2)
    interrupted.fit(4, lr=0.05, cbs=[_grower(), StopAt()])
    assert interrupted.model[0].out_features == 16  # one growth happened before the stop
    resumed = make_learner(checkpoint_dir=tmp_path / "c", checkpoint_every=2)
    resumed.fit(4, lr=0.05, cbs=[_grower()], resume=True)
    assert resumed.recorder.losses == reference.recorder.losses
    ours, theirs = _params(resumed.model), _params(reference.model)
    assert ours.keys() == theirs.keys()
    assert all(np.array_equal(ours[k], theirs[k]) for k in ours)
