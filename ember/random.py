"""Random number generators: ``Generator``, the default one, ``manual_seed`` and RNG state.

Each Generator wraps a NumPy ``Generator`` over PCG64. Its state round-trips through a uint8
tensor (``get_state``/``set_state``), so checkpoints can store it like any other tensor.
Streams differ from PyTorch's: the same seed gives different numbers than ``torch``.
"""

from __future__ import annotations

import contextlib

import numpy as np

__all__ = [
    "Generator",
    "default_generator",
    "fork_rng",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "seed",
    "set_rng_state",
]

# PCG64 as seven 64-bit words: state and inc (128 bits each, two halves), has_uint32, uinteger, seed
_STATE_BYTES = 7 * 8


class Generator:
    """A source of random numbers (``torch.Generator``); pass it as ``generator=`` to random ops.

    >>> g = Generator().manual_seed(0)
    >>> g.initial_seed()
    0
    """

    def __init__(self, device="cpu"):
        from ember.device import as_device

        self.device = as_device(device)
        self._seed = 67280421310721
        self._np = None  # built on first use: importing numpy.random costs import time

    @property
    def np(self) -> np.random.Generator:
        """The NumPy generator behind this one."""
        if self._np is None:
            self._np = np.random.Generator(np.random.PCG64(self._seed))
        return self._np

    @np.setter
    def np(self, value: np.random.Generator) -> None:
        self._np = value

    def manual_seed(self, seed: int) -> Generator:
        """Reset to the stream of ``seed``; returns the generator itself."""
        seed = int(seed)
        if seed < 0:
            seed &= 0xFFFF_FFFF_FFFF_FFFF
        self._seed = seed
        self.np = np.random.Generator(np.random.PCG64(seed))
        return self

    def seed(self) -> int:
        new = int(np.random.SeedSequence().entropy) & 0xFFFF_FFFF_FFFF_FFFF
        self.manual_seed(new)
        return new

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        """The full state (and the initial seed) as a uint8 tensor of 56 bytes."""
        from ember.tensor import make  # layer 3 (Tensor) uses generators

        st = self.np.bit_generator.state
        words = []
        for value in (st["state"]["state"], st["state"]["inc"]):
            words += [value & 0xFFFF_FFFF_FFFF_FFFF, value >> 64]
        packed = np.array(words + [st["has_uint32"], st["uinteger"]], dtype=np.uint64)
        packed = np.concatenate([packed, np.array([self._seed & 0xFFFF_FFFF_FFFF_FFFF], np.uint64)])
        return make(packed.view(np.uint8).copy())

    def set_state(self, new_state) -> Generator:
        data = np.asarray(new_state._data if hasattr(new_state, "_data") else new_state)
        if data.dtype != np.uint8 or data.size != _STATE_BYTES:
            raise RuntimeError(
                f"Generator.set_state: expected a uint8 tensor of {_STATE_BYTES} bytes (from get_state()), "
                f"got {data.dtype} of {data.size} elements"
            )
        words = [int(w) for w in np.ascontiguousarray(data).view(np.uint64)]
        bit_gen = np.random.PCG64()
        bit_gen.state = {
            "bit_generator": "PCG64",
            "state": {"state": words[0] | (words[1] << 64), "inc": words[2] | (words[3] << 64)},
            "has_uint32": words[4],
            "uinteger": words[5],
        }
        self.np = np.random.Generator(bit_gen)
        self._seed = words[6]
        return self

    def __repr__(self) -> str:
        return f"<ember.Generator object at {id(self):#x}>"


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (and the CUDA one, when CUDA is in use)."""
    default_generator.manual_seed(seed)
    return default_generator


def seed() -> int:
    """Seed the default generator from fresh entropy and return that seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the default generator was last seeded with."""
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state as a uint8 tensor (see ``Generator.get_state``)."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore a state from ``get_rng_state()``."""
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, **unused):
    """Inside the block, random ops may draw freely: the default generator's state is restored on exit.

    >>> _ = manual_seed(0)
    >>> with fork_rng():
    ...     _ = default_generator.np.random()
    >>> initial_seed()
    0
    """
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def numpy_generator(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator to draw from: ``generator``'s, or the default one."""
    return (generator or default_generator).np
