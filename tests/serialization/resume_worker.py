"""Training used by the exact-resumption test: run in the test process and in a fresh one.

``python -m tests.serialization.resume_worker CKPT OUT`` loads the checkpoint CKPT, trains
two more epochs and saves the parameters to OUT.
"""

from __future__ import annotations

import sys

import ember
from ember.optim.lr_scheduler import StepLR
from ember.utils.data import DataLoader, TensorDataset


def setup(seed: int) -> dict:
    """Model, Adam, StepLR and a shuffling DataLoader with its own generator."""
    ember.manual_seed(seed)
    nn = ember.nn
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Dropout(0.2), nn.Linear(16, 1))
    opt = ember.optim.Adam(model.parameters(), lr=0.01)
    sched = StepLR(opt, step_size=3, gamma=0.5)
    data = ember.Generator().manual_seed(1234)
    x = ember.randn(40, 4, generator=data)
    y = (x * ember.tensor([1.0, -2.0, 0.5, 3.0])).sum(1, keepdim=True)
    shuffle = ember.Generator().manual_seed(seed + 1)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, generator=shuffle)
    return {"model": model, "opt": opt, "sched": sched, "loader": loader, "shuffle": shuffle, "epoch": 0}


def train(run: dict, epochs: int) -> None:
    for _ in range(epochs):
        for xb, yb in run["loader"]:  # dropout draws from the global generator
            run["opt"].zero_grad()
            ember.nn.functional.mse_loss(run["model"](xb), yb).backward()
            run["opt"].step()
            run["sched"].step()
        run["epoch"] += 1


def checkpoint(run: dict) -> dict:
    return {
        "model": run["model"].state_dict(),
        "optimizer": run["opt"].state_dict(),
        "scheduler": run["sched"].state_dict(),
        "rng": ember.get_rng_state(),
        "shuffle_rng": run["shuffle"].get_state(),
        "epoch": run["epoch"],
    }


def restore(run: dict, ckpt: dict) -> None:
    run["model"].load_state_dict(ckpt["model"])
    run["opt"].load_state_dict(ckpt["optimizer"])
    run["sched"].load_state_dict(ckpt["scheduler"])
    ember.set_rng_state(ckpt["rng"])
    run["shuffle"].set_state(ckpt["shuffle_rng"])
    run["epoch"] = ckpt["epoch"]


def main(ckpt_path: str, out_path: str) -> None:
    run = setup(seed=999)  # a different seed: everything must come from the checkpoint
    restore(run, ember.load(ckpt_path))
    train(run, 2)
    ember.save({"params": run["model"].state_dict(), "epoch": run["epoch"]}, out_path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
