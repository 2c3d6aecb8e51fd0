"""Fused dropout: the mask drawn and applied in one kernel, from a counter-based generator.

Each element's random word comes from Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel
random numbers: as easy as 1, 2, 3", SC 2011): counter ``(index low, index high, offset low,
offset high)``, key ``(seed low, seed high)``, ten rounds; the element keeps its value when the
first output word is below ``round((1 - p) * 2**32)``. Nothing but (seed, offset) and the index
enters, so the reference below (uint64 array arithmetic) and the CUDA kernel give the same mask
bit for bit, and a draw needs no generator state on the device. Consecutive calls should use
different (seed, offset) pairs; ``nn.functional.dropout`` draws both from ember's generator.
"""

from __future__ import annotations

from ember.backend import xp_of

__all__ = [
    "build_dropout",
    "build_dropout_backward",
    "dropout",
    "dropout_backward",
    "keep_threshold",
    "philox4x32",
]

_MASK32 = 0xFFFFFFFF
_MULTIPLIERS = (0xD2511F53, 0xCD9E8D57)
_KEY_STEPS = (0x9E3779B9, 0xBB67AE85)


def keep_threshold(p: float) -> int:
    """The 32-bit word below which an element is kept: P(keep) = 1 - p up to 2**-32."""
    return min(max(int(round((1.0 - p) * 2.0**32)), 0), 2**32)


def philox4x32(xp, counter: tuple, key: tuple, rounds: int = 10) -> tuple:
    """Philox4x32 on uint64 arrays holding 32-bit words: ``counter`` four arrays (or ints),
    ``key`` two ints; returns the four output words as uint64 arrays."""
    c0, c1, c2, c3 = (xp.asarray(c, dtype=xp.uint64) & _MASK32 for c in counter)
    k0, k1 = key[0] & _MASK32, key[1] & _MASK32
    m0, m1 = xp.uint64(_MULTIPLIERS[0]), xp.uint64(_MULTIPLIERS[1])
    for _ in range(rounds):
        p0, p1 = c0 * m0, c2 * m1  # 32 x 32 -> 64 bits: exact in uint64
        c0, c1, c2, c3 = (
            (p1 >> 32) ^ c1 ^ xp.uint64(k0),
            p1 & _MASK32,
            (p0 >> 32) ^ c3 ^ xp.uint64(k1),
            p0 & _MASK32,
        )
        k0, k1 = (k0 + _KEY_STEPS[0]) & _MASK32, (k1 + _KEY_STEPS[1]) & _MASK32
    return c0, c1, c2, c3


def keep_mask(xp, shape: tuple, p: float, seed: int, offset: int):
    """The uint8 keep mask (1 = kept) of ``shape`` for (seed, offset): element ``i`` (C order)
    is kept when Philox's first word for counter (i, offset) is below ``keep_threshold(p)``."""
    size = 1
    for s in shape:
        size *= s
    index = xp.arange(size, dtype=xp.uint64)
    word = philox4x32(xp, (index, index >> 32, offset, offset >> 32), (seed, seed >> 32))[0]
    return (word < xp.uint64(keep_threshold(p))).astype(xp.uint8).reshape(shape)


def dropout(x, p: float, seed: int, offset: int):
    """``(x * mask / (1 - p), mask)`` with the uint8 ``mask`` of (seed, offset); ``0 < p < 1``."""
    xp = xp_of(x)
    mask = keep_mask(xp, x.shape, p, seed, offset)
    out = x * mask
    out *= x.dtype.type(1.0 / (1.0 - p))
    return out, mask


def dropout_backward(grad, mask, scale: float):
    """``grad * mask * scale``: the gradient of ``dropout`` (``scale = 1 / (1 - p)``)."""
    out = grad * mask
    out *= grad.dtype.type(scale)
    return out


_PHILOX = """
__device__ inline unsigned int ember_philox_word0(unsigned long long index,
                                                  unsigned long long offset,
                                                  unsigned long long seed) {
    unsigned int c0 = (unsigned int)index, c1 = (unsigned int)(index >> 32);
    unsigned int c2 = (unsigned int)offset, c3 = (unsigned int)(offset >> 32);
    unsigned int k0 = (unsigned int)seed, k1 = (unsigned int)(seed >> 32);
    for (int r = 0; r < 10; ++r) {
        unsigned long long p0 = (unsigned long long)c0 * 0xD2511F53ull;
        unsigned long long p1 = (unsigned long long)c2 * 0xCD9E8D57ull;
        unsigned int n0 = (unsigned int)(p1 >> 32) ^ c1 ^ k0;
        unsigned int n2 = (unsigned int)(p0 >> 32) ^ c3 ^ k1;
        c1 = (unsigned int)p1;
        c3 = (unsigned int)p0;
        c0 = n0;
        c2 = n2;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return c0;
}
"""


def build_dropout(cupy):
    """The CUDA kernel of ``dropout``: one thread per element draws its word and applies it."""
    kernel = cupy.ElementwiseKernel(
        "T x, uint64 seed, uint64 offset, uint64 threshold, T scale",
        "T y, uint8 mask",
        """
        const bool keep = (unsigned long long)ember_philox_word0(i, offset, seed) < threshold;
        mask = keep;
        y = x * (keep ? scale : T(0));  // as the reference: NaN and -0 survive like x * mask
        """,
        "ember_dropout",
        preamble=_PHILOX,
    )

    def run(x, p, seed, offset):
        scale = x.dtype.type(1.0 / (1.0 - p))
        mask = cupy.empty(x.shape, cupy.uint8)
        out = cupy.empty_like(x)
        threshold = keep_threshold(p)
        # ``i`` is the element's C-order index whatever x's strides: the reference's index
        kernel(
            x, cupy.uint64(_u64(seed)), cupy.uint64(_u64(offset)), cupy.uint64(threshold), scale, out, mask
        )
        return out, mask

    return run


def build_dropout_backward(cupy):
    """The CUDA kernel of ``dropout_backward``."""
    kernel = cupy.ElementwiseKernel(
        "T grad, uint8 mask, T scale", "T out", "out = grad * (mask ? scale : T(0))", "ember_dropout_backward"
    )

    def run(grad, mask, scale):
        return kernel(grad, mask, grad.dtype.type(scale))

    return run


def _u64(value: int) -> int:
    return int(value) & 0xFFFFFFFFFFFFFFFF
