"""A small training run for the exact-resume tests, started as a subprocess.

    python -m tests.train.resume_run CKPT_DIR OUT_FILE NUM_WORKERS [--resume] [--delay S]

Prints ``step N`` after every training step (so the test knows when to kill it) and, at the
end, saves the parameters and the recorded losses to OUT_FILE.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import numpy as np

import ember
from ember import nn
from ember.train import Callback, EarlyStopping, GradientClip, Learner, accuracy
from ember.utils.data import DataLoader, Dataset


class NoisyPoints(Dataset):
    """Points with labels; every fetch adds noise from ember's, NumPy's and Python's RNGs."""

    def __init__(self, n: int = 96) -> None:
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((n, 6)).astype(np.float32)
        self.y = (self.x[:, 0] + self.x[:, 1] > 0).astype(np.int64)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        noise = ember.randn(6) * 0.05 + float(np.random.rand() - 0.5) * 0.01 + random.random() * 0.01
        return ember.from_numpy(self.x[i]) + noise, int(self.y[i])


class Announce(Callback):
    order = 200

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def after_batch(self) -> None:
        if self.learn.training:
            print(f"step {self.learn.train_iter}", flush=True)
            time.sleep(self.delay)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("ckpt")
    parser.add_argument("out")
    parser.add_argument("workers", type=int)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    ember.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
    train = DataLoader(NoisyPoints(), batch_size=8, shuffle=True, num_workers=args.workers)
    valid = DataLoader(NoisyPoints(32), batch_size=16)
    learn = Learner(
        model,
        train,
        valid,
        metrics=[accuracy],
        device="cpu",
        progress=False,
        checkpoint_dir=args.ckpt,
        checkpoint_every=5,
        cbs=[Announce(args.delay), GradientClip(1.0), EarlyStopping("valid_loss", patience=10)],
    )
    learn.fit_one_cycle(3, 0.05, resume=args.resume)
    learn.recorder.flush()
    ember.save(
        {
            "params": dict(learn.model.state_dict()),
            "losses": ember.tensor(learn.recorder.losses, dtype=ember.float64),
            "valid": [r["valid_loss"] for r in learn.recorder.epochs],
        },
        args.out,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
