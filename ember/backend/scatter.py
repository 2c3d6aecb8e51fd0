"""An unbuffered scatter (``ufunc.at``) for any ufunc, for array modules that lack one.

CuPy has ``ufunc.at`` only for add/maximum/minimum and the bitwise ufuncs (and
``cupyx.scatter_add/max/min``); ``scatter(..., reduce="multiply")`` needs ``multiply.at``.
This applies ``out[key] = ufunc(out[key], values)`` in rounds: round k takes the k-th occurrence
of each target element, so within a round no element repeats and a buffered update is exact;
elements hit more often take more rounds (one round per repeat of the most repeated element).
"""

from __future__ import annotations

__all__ = ["at_in_rounds"]


def at_in_rounds(xp, ufunc_name: str, out, key, values) -> None:
    """``getattr(xp, ufunc_name).at(out, key, values)``, built from buffered updates."""
    ufunc = getattr(xp, ufunc_name)
    target = out if out.flags.c_contiguous else xp.ascontiguousarray(out)
    positions = xp.arange(target.size).reshape(target.shape)[key]  # each chosen element's offset
    values = xp.broadcast_to(xp.asarray(values, dtype=target.dtype), positions.shape).reshape(-1)
    positions = positions.reshape(-1)
    if positions.size:
        order = xp.argsort(positions)
        positions, values = positions[order], values[order]
        starts = xp.concatenate([xp.ones(1, dtype=bool), positions[1:] != positions[:-1]])
        first = xp.flatnonzero(starts)  # where each run of equal positions begins
        lengths = xp.diff(xp.concatenate([first, xp.asarray([positions.size])]))
        rank = xp.arange(positions.size) - xp.repeat(first, lengths)  # occurrence number in its run
        flat = target.reshape(-1)
        for k in range(int(rank.max()) + 1):
            chosen = rank == k
            where = positions[chosen]
            flat[where] = ufunc(flat[where], values[chosen])
    if target is not out:
        out[...] = target
