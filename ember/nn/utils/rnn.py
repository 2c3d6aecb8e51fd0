"""``nn.utils.rnn``: PackedSequence and the helpers that pad, pack and unpack variable-length batches.

A packed batch stores the steps of all sequences time-major, longest sequences first:
``data[offset(t) : offset(t) + batch_sizes[t]]`` holds step ``t`` of the ``batch_sizes[t]``
sequences still running. Each helper moves values with one gather or scatter, so gradients flow
through packing and unpacking.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import NamedTuple

from ember import creation
from ember import functions as _fn
from ember.tensor import Tensor

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


class PackedSequence(NamedTuple):
    """A packed batch: ``data``, ``batch_sizes`` (int64, CPU), ``sorted_indices``, ``unsorted_indices``.

    >>> import ember
    >>> p = pack_sequence([ember.ones(3, 2), ember.ones(1, 2)])
    >>> p.batch_sizes
    tensor([2, 1, 1])
    >>> p.data.shape
    ember.Size([4, 2])
    """

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def to(self, *args, **kwargs) -> PackedSequence:
        """Move or cast ``data`` (and the index tensors to its device); ``batch_sizes`` stays on the CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self

        def move(t):
            return None if t is None else t.to(data.device)

        return PackedSequence(data, self.batch_sizes, move(self.sorted_indices), move(self.unsorted_indices))

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def cuda(self, *args, **kwargs) -> PackedSequence:
        return self.to("cuda")

    def double(self) -> PackedSequence:
        return self._replace(data=self.data.double())

    def float(self) -> PackedSequence:
        return self._replace(data=self.data.float())

    def half(self) -> PackedSequence:
        return self._replace(data=self.data.half())

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The permutation that undoes ``permutation`` (None stays None).

    >>> import ember
    >>> invert_permutation(ember.tensor([2, 0, 1]))
    tensor([1, 2, 0])
    """
    if permutation is None:
        return None
    out = creation.empty_like(permutation)
    out._data[permutation._data] = permutation.xp.arange(permutation.numel())
    return out


def _lengths_list(lengths, op: str) -> list[int]:
    if isinstance(lengths, Tensor):
        if lengths.dim() != 1:
            raise RuntimeError(f"{op}: lengths must be a 1-D tensor or list, got shape {list(lengths.shape)}")
        return [int(v) for v in lengths.tolist()]
    return [int(v) for v in lengths]


def _packed_positions(xp, lengths: list[int], order: list[int]):
    """(time, batch) positions of every packed element: time-major, batch in ``order``."""
    steps = max(lengths)
    lens = xp.asarray([lengths[b] for b in order])
    alive = xp.arange(steps)[:, None] < lens[None, :]  # (T, B), True where a sequence runs
    time_idx, rank = xp.nonzero(alive)
    batch_idx = xp.asarray(order)[rank]
    batch_sizes = alive.sum(1)
    return time_idx, batch_idx, batch_sizes


def pack_padded_sequence(
    input: Tensor, lengths, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with ``batch_first``) of sequences of ``lengths``.

    With ``enforce_sorted=False`` the lengths may come in any order; they are sorted here and the
    order is kept in ``sorted_indices`` / ``unsorted_indices``.

    >>> import ember
    >>> p = pack_padded_sequence(ember.arange(6.).reshape(3, 2), [3, 1])
    >>> p.data, p.batch_sizes
    (tensor([0., 1., 2., 4.]), tensor([2, 1, 1]))
    """
    lens = _lengths_list(lengths, "pack_padded_sequence")
    batch_dim = 0 if batch_first else 1
    if input.dim() < 2 or input.shape[batch_dim] != len(lens):
        raise RuntimeError(
            f"pack_padded_sequence: input of shape {list(input.shape)} (batch_first={batch_first}) "
            f"has batch size {input.shape[batch_dim] if input.dim() >= 2 else 'none'}, but "
            f"{len(lens)} lengths were given; expected one length per sequence"
        )
    if any(n <= 0 for n in lens) or max(lens) > input.shape[1 - batch_dim]:
        raise RuntimeError(
            f"pack_padded_sequence: lengths {lens} must be in [1, {input.shape[1 - batch_dim]}] "
            f"(the padded length of input of shape {list(input.shape)})"
        )
    xp = input.xp
    if enforce_sorted:
        if any(a < b for a, b in itertools.pairwise(lens)):
            raise RuntimeError(
                f"pack_padded_sequence: `lengths` array must be sorted in decreasing order when "
                f"`enforce_sorted` is True (got {lens}). You can pass `enforce_sorted=False` to "
                "pack_padded_sequence and/or pack_sequence to sidestep this requirement."
            )
        order, sorted_indices = list(range(len(lens))), None
    else:
        order = sorted(range(len(lens)), key=lambda b: -lens[b])
        sorted_indices = creation.tensor(order, device=input.device)
    time_idx, batch_idx, batch_sizes = _packed_positions(xp, lens, order)
    index = (time_idx, batch_idx) if not batch_first else (batch_idx, time_idx)
    data = input[tuple(_index(input, i) for i in index)]
    sizes = creation.tensor([int(s) for s in batch_sizes.tolist()])
    return PackedSequence(data, sizes, sorted_indices, invert_permutation(sorted_indices))


def _index(like: Tensor, array) -> Tensor:
    from ember.tensor import make

    return make(like.xp.asarray(array, dtype=like.xp.int64))


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Undo ``pack_padded_sequence``: the padded batch (in the original order) and the lengths.

    >>> import ember
    >>> padded, lengths = pad_packed_sequence(pack_sequence([ember.ones(2), ember.ones(1)]))
    >>> padded
    tensor([[1., 1.],
            [1., 0.]])
    >>> lengths
    tensor([2, 1])
    """
    data, batch_sizes, sorted_indices, _ = sequence
    sizes = [int(s) for s in batch_sizes.tolist()]
    steps, batch = len(sizes), sizes[0]
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                f"pad_packed_sequence: expected total_length to be at least the length of the "
                f"longest sequence ({steps}), but got total_length={total_length}"
            )
        steps = total_length
    order = list(range(batch)) if sorted_indices is None else [int(v) for v in sorted_indices.tolist()]
    lengths = [0] * batch  # in the original order
    for rank, b in enumerate(order):
        lengths[b] = sum(1 for s in sizes if s > rank)
    time_idx, batch_idx, _ = _packed_positions(data.xp, lengths, order)
    shape = (steps, batch) if not batch_first else (batch, steps)
    out = creation.full(shape + tuple(data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    index = (time_idx, batch_idx) if not batch_first else (batch_idx, time_idx)
    out = out.index_put(tuple(_index(data, i) for i in index), data)
    return out, creation.tensor(lengths)


def pad_sequence(
    sequences: Sequence[Tensor] | Tensor,
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack sequences of shapes (L_i, *) into (max L, B, *) (or (B, max L, *)), padding the ends.

    >>> import ember
    >>> pad_sequence([ember.ones(2), ember.ones(1)], batch_first=True, padding_side="left")
    tensor([[1., 1.],
            [0., 1.]])
    """
    if padding_side not in ("left", "right"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got {padding_side!r}")
    seqs = list(sequences.unbind(0)) if isinstance(sequences, Tensor) else list(sequences)
    if not seqs:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    trailing = tuple(seqs[0].shape[1:])
    for k, s in enumerate(seqs):
        if s.dim() == 0 or tuple(s.shape[1:]) != trailing:
            raise RuntimeError(
                f"pad_sequence: sequence {k} has shape {list(s.shape)}, but every sequence must be "
                f"(L_i, {', '.join(map(str, trailing)) or '...'}) like sequence 0 ({list(seqs[0].shape)})"
            )
    lens = [s.shape[0] for s in seqs]
    steps, batch = max(lens), len(seqs)
    xp = seqs[0].xp
    time_idx = xp.concatenate([xp.arange(n) + (steps - n if padding_side == "left" else 0) for n in lens])
    batch_idx = xp.concatenate([xp.full(n, b) for b, n in enumerate(lens)])
    shape = (batch, steps) if batch_first else (steps, batch)
    out = creation.full(shape + trailing, padding_value, dtype=seqs[0].dtype, device=seqs[0].device)
    index = (batch_idx, time_idx) if batch_first else (time_idx, batch_idx)
    return out.index_put(tuple(_index(seqs[0], i) for i in index), _fn.cat(seqs))


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences (L_i, *) directly (``pad_sequence`` then ``pack_padded_sequence``).

    >>> import ember
    >>> pack_sequence([ember.ones(1), ember.ones(2)], enforce_sorted=False).sorted_indices
    tensor([1, 0])
    """
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list[Tensor]:
    """Split a padded batch back into its sequences of ``lengths``.

    >>> import ember
    >>> [s.shape[0] for s in unpad_sequence(ember.zeros(3, 2), [3, 1])]
    [3, 1]
    """
    lens = _lengths_list(lengths, "unpad_sequence")
    padded = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [padded[b, :n] for b, n in enumerate(lens)]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences in a PackedSequence, in their original order.

    >>> import ember
    >>> [s.shape[0] for s in unpack_sequence(pack_sequence([ember.ones(1), ember.ones(2)], False))]
    [1, 2]
    """
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
