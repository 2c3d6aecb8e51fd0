"""``GrowOnPlateau``: widen layers while the Learner trains, when the validation loss stalls.

The policy itself is ``ember.nn.grow.GrowOnPlateau``; this callback feeds it the epoch's
monitored value, hands it the Learner's optimizer, and keeps the widths in checkpoints so that
an exact resume first widens the freshly built model back to them.
"""

from __future__ import annotations

from ember.nn import grow
from ember.train.callbacks.tracking import TrackerCallback

__all__ = ["GrowOnPlateau"]


class GrowOnPlateau(TrackerCallback):
    """Widen ``layers`` by ``factor`` (up to ``max_width``) after ``patience`` epochs in which
    ``monitor`` did not improve by a relative ``threshold``.

    The example input ``widen_`` traces the model with is the first ``example_size`` samples of
    the validation loader (the training loader without one). Each growth is printed (on rank 0)
    and kept in ``self.history``. Under DistributedDataParallel the model is wrapped afresh after
    a growth, since its gradient buckets follow the parameters' shapes.

    >>> from ember.train.callbacks import GrowOnPlateau
    >>> GrowOnPlateau(["conv1"], patience=2).name
    'grow_on_plateau'
    """

    order = 60  # after the Recorder and the trackers have seen the epoch

    def __init__(
        self,
        layers,
        factor: float = 2,
        max_width: int | dict = 1024,
        patience: int = 3,
        monitor: str = "valid_loss",
        threshold: float = 1e-3,
        cooldown: int = 0,
        noise: float = 0.0,
        example_size: int = 16,
    ) -> None:
        super().__init__(monitor, mode="min")
        self.options = dict(
            layers=layers,
            factor=factor,
            max_width=max_width,
            patience=patience,
            threshold=threshold,
            cooldown=cooldown,
            noise=noise,
        )
        self.example_size = example_size
        self.policy: grow.GrowOnPlateau | None = None
        self.history: list = []

    def _example_input(self):
        loader = self.learn.valid_loader or self.learn.train_loader
        batch = next(iter(loader))
        inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
        return inputs[: self.example_size].to(self.learn.device)

    def _policy(self) -> grow.GrowOnPlateau:
        if self.policy is None:
            self.policy = grow.GrowOnPlateau(
                example_input=self._example_input(), optimizer=self.learn.opt, **self.options
            )
        self.policy.optimizer = self.learn.opt
        return self.policy

    def before_fit(self) -> None:
        super().before_fit()
        self._policy()

    def after_epoch(self) -> None:
        report = self._policy().step(self.current(), self.learn.model)
        if report is None:
            return
        self.history.append(report)
        if getattr(self.learn, "rank", 0) == 0:
            print(f"epoch {self.learn.epoch + 1}: grew {report}")
        if getattr(self.learn, "world_size", 1) > 1:
            from ember.train import distributed

            self.learn.train_model = distributed.wrap_model(self.learn.model, self.learn.world_size)

    def state_dict(self) -> dict:
        return {} if self.policy is None else self.policy.state_dict()

    def load_state_dict(self, state: dict) -> None:
        """Restore the policy and widen the model to the widths the checkpoint was written at
        (checkpoints load callbacks first, so the model's shapes then match)."""
        if not state:
            return
        policy = self._policy()
        policy.load_state_dict(state)
        for layer, width in policy.widths.items():
            if grow.width_of(self.learn.model.get_submodule(layer)) < width:
                entry = next(
                    (e for e in policy.layers if (e if isinstance(e, str) else e[0]) == layer), layer
                )
                grow.widen_(
                    self.learn.model,
                    entry,
                    width,
                    example_input=policy.example_input,
                    optimizer=self.learn.opt,
                )
