"""Shared data for the optimizer tests: the modes of each optimizer, parameters, gradients."""

from __future__ import annotations

import numpy as np

SHAPES = [(5, 3), (3,), (2, 2, 2), (1,)]
STEPS = 20

CASES = {
    "SGD": [
        {"lr": 0.1},
        {"lr": 0.1, "momentum": 0.9},
        {"lr": 0.1, "momentum": 0.9, "dampening": 0.5},
        {"lr": 0.1, "momentum": 0.9, "nesterov": True},
        {"lr": 0.1, "weight_decay": 0.1},
        {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.1, "nesterov": True, "maximize": True},
    ],
    "Adam": [
        {"lr": 0.01},
        {"lr": 0.01, "amsgrad": True},
        {"lr": 0.01, "weight_decay": 0.1},
        {"lr": 0.01, "maximize": True},
        {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True},
        {"lr": 0.01, "betas": (0.3, 0.5), "eps": 1e-3},
    ],
    "AdamW": [
        {"lr": 0.01},
        {"lr": 0.01, "amsgrad": True, "weight_decay": 0.3},
        {"lr": 0.01, "maximize": True},
    ],
    "RMSprop": [
        {"lr": 0.01},
        {"lr": 0.01, "centered": True},
        {"lr": 0.01, "momentum": 0.9},
        {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.1},
        {"lr": 0.01, "alpha": 0.3, "maximize": True},
    ],
    "Adagrad": [
        {"lr": 0.1},
        {"lr": 0.1, "lr_decay": 0.05},
        {"lr": 0.1, "weight_decay": 0.1},
        {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-3},
        {"lr": 0.1, "maximize": True},
    ],
    "Adadelta": [{}, {"lr": 0.5, "weight_decay": 0.1}, {"rho": 0.5, "eps": 1e-3}, {"maximize": True}],
    "Adamax": [
        {"lr": 0.01},
        {"lr": 0.01, "weight_decay": 0.1},
        {"lr": 0.01, "maximize": True, "betas": (0.6, 0.9)},
    ],
    "NAdam": [
        {"lr": 0.01},
        {"lr": 0.01, "weight_decay": 0.1},
        {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True},
        {"lr": 0.01, "momentum_decay": 0.1},
        {"lr": 0.01, "maximize": True},
    ],
    "RAdam": [
        {"lr": 0.01},
        {"lr": 0.01, "weight_decay": 0.1},
        {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True},
        {"lr": 0.01, "maximize": True, "betas": (0.8, 0.9)},
    ],
    "ASGD": [
        {"lr": 0.05},
        {"lr": 0.05, "t0": 5},
        {"lr": 0.05, "lambd": 0.1, "alpha": 0.5, "weight_decay": 0.1},
        {"lr": 0.05, "t0": 3, "maximize": True},
    ],
    "Adafactor": [
        {"lr": 0.05},
        {"lr": 0.05, "weight_decay": 0.1, "beta2_decay": -0.5},
        {"lr": 0.05, "eps": (1e-20, 1e-2), "d": 1.5, "maximize": True},
    ],
    "Rprop": [
        {"lr": 0.01},
        {"lr": 0.01, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.05)},
        {"lr": 0.01, "maximize": True},
    ],
}

ALL = [(name, kwargs) for name, modes in CASES.items() for kwargs in modes]


def case_id(case) -> str:
    name, kwargs = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


def initial_params(seed: int = 0, dtype=np.float32) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def gradient_sequence(steps: int = STEPS, seed: int = 1, dtype=np.float32) -> list[list[np.ndarray]]:
    """Gradients for each step; some entries repeat their sign (Rprop) and one is exactly 0."""
    rng = np.random.default_rng(seed)
    out = []
    base = [rng.standard_normal(s) for s in SHAPES]
    for _ in range(steps):
        grads = [(0.6 * b + rng.standard_normal(s)).astype(dtype) for b, s in zip(base, SHAPES)]
        grads[0][0, 0] = 0.0
        out.append(grads)
    return out
