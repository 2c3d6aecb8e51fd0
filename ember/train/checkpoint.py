"""Exact-resume checkpoints: everything a run needs to go on as if it had never stopped.

A checkpoint holds the model, the optimizer, each callback's ``state_dict()`` (the schedule,
the recorder, the scaler, ...), every RNG (ember's default generator and the loaders' own,
Python's ``random``, NumPy's global state) and the position in the data: the epoch, the batches
done in it and the loaders' generator states *at the start of the epoch*. Resuming mid-epoch
restores those starting states, makes the epoch's iterator again (the same shuffled order and
the same worker seeds), fast-forwards it past the batches already done and only then restores
the RNGs as they were at the checkpoint.

Everything is stored in forms ``ember.save`` holds today: tensors, ints, floats, strings.
Files are ``ckpt-<steps>-<phase>.safetensors`` (phase 0 mid-epoch, 1 at an epoch's end), so the
newest sorts last; writes are atomic and the two newest are kept.
"""

from __future__ import annotations

import glob
import io
import os
import random
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

import ember
from ember.random import default_generator

__all__ = ["ResumePosition", "gather_state", "latest_checkpoint", "restore_latest", "write_checkpoint"]

FORMAT = "ember.train.checkpoint"
KEEP = 2


@dataclass
class ResumePosition:
    """Where a mid-epoch resume starts: ``iter`` batches of ``epoch`` are done."""

    epoch: int
    iter: int
    epoch_rng: list
    rng: dict


# -- RNG states ----------------------------------------------------------------------------
def _loader_generators(loader) -> list:
    """The generators ``iter(loader)`` draws from: the loader's (or the default) and the sampler's."""
    if loader is None:
        return []
    found = [getattr(loader, "generator", None) or default_generator]
    for sampler in (
        getattr(loader, "sampler", None),
        getattr(getattr(loader, "batch_sampler", None), "sampler", None),
    ):
        gen = getattr(sampler, "generator", None)
        if gen is not None and all(gen is not g for g in found):
            found.append(gen)
    return found


def loader_rng(loader) -> list:
    """The states of ``loader``'s generators (taken at the start of an epoch)."""
    return [g.get_state() for g in _loader_generators(loader)]


def set_loader_rng(loader, states: list) -> None:
    for gen, state in zip(_loader_generators(loader), states, strict=True):
        gen.set_state(state)


def _private_generators(learn) -> list:
    """The loaders' generators other than the default one, in a fixed order."""
    gens: list = []
    for loader in (learn.train_loader, learn.valid_loader):
        for gen in _loader_generators(loader):
            if gen is not default_generator and all(gen is not g for g in gens):
                gens.append(gen)
    return gens


def rng_states(learn) -> dict:
    """Every RNG state, as tensors and numbers."""
    version, words, gauss = random.getstate()
    np_state = np.random.get_state(legacy=False)
    return {
        "ember": ember.get_rng_state(),
        "loaders": [g.get_state() for g in _private_generators(learn)],
        "python": {"version": version, "state": ember.tensor(list(words), dtype=ember.int64), "gauss": gauss},
        "numpy": {
            "key": ember.from_numpy(np_state["state"]["key"].astype(np.int64)),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
    }


def set_rng_states(learn, states: dict) -> None:
    """Restore what ``rng_states`` returned."""
    ember.set_rng_state(states["ember"])
    for gen, state in zip(_private_generators(learn), states["loaders"], strict=True):
        gen.set_state(state)
    py = states["python"]
    random.setstate((py["version"], tuple(int(w) for w in py["state"].tolist()), py["gauss"]))
    nps = states["numpy"]
    np.random.set_state(
        {
            "bit_generator": "MT19937",
            "state": {"key": nps["key"].numpy().astype(np.uint32), "pos": nps["pos"]},
            "has_gauss": nps["has_gauss"],
            "gauss": nps["gauss"],
        }
    )


def skip_batches(batches, n: int) -> None:
    """Advance an epoch's iterator past ``n`` batches (without loading them when it can)."""
    if n <= 0:
        return
    skip = getattr(batches, "_skip", None)
    if skip is not None:
        skip(n)
        return
    for _ in range(n):  # worker processes: load and drop, so each worker's RNG advances as before
        next(batches)


# -- the state ------------------------------------------------------------------------------
def _callback_keys(learn) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for cb in learn.cbs:
        key, n = cb.name, 1
        while key in keys:
            n += 1
            key = f"{cb.name}_{n}"
        keys[key] = cb
    return keys


def fingerprint(learn) -> dict:
    """What must match for a checkpoint to fit: parameter names, shapes, dtypes; the optimizer."""
    model = {k: [list(v.shape), str(v.dtype)] for k, v in learn.model.state_dict().items()}
    opt = None
    if learn.opt is not None:
        opt = {"type": type(learn.opt).__name__, "groups": [len(g["params"]) for g in learn.opt.param_groups]}
    return {"model": model, "optimizer": opt}


def check_fingerprint(saved: dict, current: dict, path: str) -> None:
    """Raise RuntimeError naming every difference between a checkpoint and this learner."""
    problems = []
    old, new = saved["model"], current["model"]
    missing, unexpected = sorted(set(new) - set(old)), sorted(set(old) - set(new))
    if missing:
        problems.append(f"the model's entries {missing[:5]} are missing from the checkpoint")
    if unexpected:
        problems.append(f"the checkpoint has entries {unexpected[:5]} this model does not")
    for key in sorted(set(old) & set(new)):
        if list(old[key]) != list(new[key]):
            problems.append(
                f"{key}: checkpoint {old[key][0]} {old[key][1]}, model {new[key][0]} {new[key][1]}"
            )
    if saved["optimizer"] and current["optimizer"]:
        if saved["optimizer"]["type"] != current["optimizer"]["type"]:
            problems.append(
                f"the optimizer is {current['optimizer']['type']}, the checkpoint's "
                f"is {saved['optimizer']['type']}"
            )
        elif list(saved["optimizer"]["groups"]) != list(current["optimizer"]["groups"]):
            problems.append(
                f"parameter groups of sizes {current['optimizer']['groups']}, the "
                f"checkpoint's are {saved['optimizer']['groups']}"
            )
    if problems:
        raise RuntimeError(
            f"checkpoint {path} was written for a different model or optimizer: " + "; ".join(problems)
        )


def gather_state(learn, epoch: int, done: int, epoch_rng: list | None) -> dict:
    """The checkpoint of ``learn`` when ``done`` batches of ``epoch`` are finished."""
    return {
        "format": FORMAT,
        "version": 1,
        "fingerprint": fingerprint(learn),
        "model": learn.model.state_dict(),
        "optimizer": None if learn.opt is None else learn.opt.state_dict(),
        "callbacks": {key: cb.state_dict() for key, cb in _callback_keys(learn).items()},
        "rng": rng_states(learn),
        "position": {"epoch": epoch, "iter": done, "train_iter": learn.train_iter},
        "epoch_rng": epoch_rng,
    }


def apply_state(learn, state: dict, path: str = "<memory>") -> ResumePosition | None:
    """Load a gathered state into ``learn``; returns where a mid-epoch resume starts (or None)."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise RuntimeError(f"{path} is not an ember.train checkpoint (no '{FORMAT}' format tag)")
    keys = _callback_keys(learn)  # callbacks first: one may reshape the model (GrowOnPlateau)
    for key, cb_state in state["callbacks"].items():
        if key in keys:
            keys[key].load_state_dict(cb_state)
    check_fingerprint(state["fingerprint"], fingerprint(learn), path)
    learn.model.load_state_dict(state["model"])
    if state["optimizer"] is not None and learn.opt is not None:
        learn.opt.load_state_dict(state["optimizer"])
    position = state["position"]
    learn.train_iter = position["train_iter"]
    learn.start_epoch = position["epoch"]
    if state["epoch_rng"] is None:
        set_rng_states(learn, state["rng"])
        return None
    return ResumePosition(position["epoch"], position["iter"], list(state["epoch_rng"]), state["rng"])


# -- files ----------------------------------------------------------------------------------
def _pattern(folder: str) -> str:
    return os.path.join(folder, "ckpt-*.safetensors")


def remove_checkpoints(folder: str) -> None:
    """Delete the checkpoint files of ``folder`` (a new run starts)."""
    for path in glob.glob(_pattern(folder)):
        try:
            os.remove(path)
        except OSError:
            pass


def latest_checkpoint(folder: str) -> str | None:
    """The newest checkpoint file in ``folder``, or None."""
    files = sorted(glob.glob(_pattern(folder)))
    return files[-1] if files else None


def write_checkpoint(
    learn, folder: str, epoch: int, done: int, epoch_rng: list | None, end_of_epoch: bool
) -> str:
    """Write a checkpoint atomically and drop all but the newest ``KEEP``; returns its path."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"ckpt-{learn.train_iter:010d}-{int(end_of_epoch)}.safetensors")
    ember.save(gather_state(learn, epoch, done, epoch_rng), path)
    for old in sorted(glob.glob(_pattern(folder)))[:-KEEP]:
        try:
            os.remove(old)
        except OSError:
            pass
    return path


def restore_latest(learn, folder: str) -> ResumePosition | None:
    """Load the newest checkpoint of ``folder`` into ``learn`` (a warning when there is none)."""
    path = latest_checkpoint(folder)
    if path is None:
        warnings.warn(
            f"Learner.fit(resume=True): no checkpoint in {folder}; starting from the beginning", stacklevel=3
        )
        return None
    return apply_state(learn, ember.load(path, map_location=learn.device, mmap=False), path)


def snapshot(learn) -> bytes:
    """The learner's whole state in memory (for ``lr_find``, which must leave no trace)."""
    buffer = io.BytesIO()
    ember.save(gather_state(learn, learn.epoch, 0, None), buffer)
    return buffer.getvalue()


def restore_snapshot(learn, data: bytes) -> None:
    position = (learn.start_epoch, learn.train_iter)
    apply_state(learn, ember.load(io.BytesIO(data), map_location=learn.device))
    learn.start_epoch, learn.train_iter = position
