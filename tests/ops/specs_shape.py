"""Op-table rows for shape and movement ops: views, reorderings, joins, splits and copies."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tests.ops.spec import OpSpec


def _mixed_dtypes(rng, dt):
    return [rng.uniform(-2, 2, (2, 3)).astype(dt), rng.integers(-3, 3, (1, 3))]


def _flip0(a):
    return np.flip(a, 0) if a.ndim else a


SPECS = [
    # views with a new shape
    OpSpec("view", lambda m, a: a.view(6, 4), lambda a: a.reshape(6, 4), [(2, 3, 4)], gradgrad=True),
    OpSpec("view_flat", lambda m, a: a.view(-1), lambda a: a.reshape(-1), [(2, 3, 4)], zero_dim=True),
    OpSpec(
        "view_as",
        lambda m, a, b: a.view_as(b),
        lambda a, b: a.reshape(b.shape),
        [(2, 3, 4), (4, 6)],
        grad=(0,),
    ),
    OpSpec(
        "reshape_infer", lambda m, a: m.reshape(a, (3, -1, 2)), lambda a: a.reshape(3, -1, 2), [(2, 3, 4)]
    ),
    OpSpec(
        "reshape_of_transposed",
        lambda m, a: a.t().reshape(-1),
        lambda a: a.T.reshape(-1),
        [(3, 4)],
        gradgrad=True,
    ),
    OpSpec(
        "reshape_as",
        lambda m, a, b: a.reshape_as(b),
        lambda a, b: a.reshape(b.shape),
        [(3, 4), (2, 6)],
        grad=(0,),
    ),
    OpSpec("flatten_range", lambda m, a: a.flatten(1), lambda a: a.reshape(2, -1), [(2, 3, 4)]),
    OpSpec("flatten_all", lambda m, a: m.flatten(a), np.ravel, [(2, 3, 4)], zero_dim=True),
    OpSpec(
        "ravel_transposed",
        lambda m, a: a.mT.ravel(),
        lambda a: a.swapaxes(-1, -2).ravel(),
        [(2, 3, 4)],
        zero_dim=False,
    ),
    OpSpec("ravel", lambda m, a: m.ravel(a), np.ravel, [(3, 4)], zero_dim=True),
    OpSpec("unflatten", lambda m, a: a.unflatten(1, (2, -1)), lambda a: a.reshape(3, 2, 2, 5), [(3, 4, 5)]),
    OpSpec("squeeze_all", lambda m, a: a.squeeze(), np.squeeze, [(2, 1, 3, 1)], zero_dim=True),
    OpSpec("squeeze_dim", lambda m, a: m.squeeze(a, 1), lambda a: a.squeeze(1), [(2, 1, 3, 1)]),
    OpSpec("squeeze_dims", lambda m, a: a.squeeze((1, -1, 0)), lambda a: a.squeeze((1, 3)), [(2, 1, 3, 1)]),
    OpSpec("squeeze_noop", lambda m, a: a.squeeze(0), lambda a: a, [(2, 3)]),
    OpSpec(
        "unsqueeze", lambda m, a: a.unsqueeze(-1), lambda a: np.expand_dims(a, -1), [(2, 3)], zero_dim=True
    ),
    OpSpec("unsqueeze_front", lambda m, a: m.unsqueeze(a, 0), lambda a: a[None], [(2, 3)]),
    # reordering dims
    OpSpec(
        "permute_neg",
        lambda m, a: a.permute(-1, 0, 1),
        lambda a: a.transpose(2, 0, 1),
        [(2, 3, 4)],
        gradgrad=True,
    ),
    OpSpec("permute_fn", lambda m, a: m.permute(a, (1, 0, 2)), lambda a: a.transpose(1, 0, 2), [(2, 3, 4)]),
    OpSpec("transpose_3d", lambda m, a: m.transpose(a, 0, -1), lambda a: a.swapaxes(0, 2), [(2, 3, 4)]),
    OpSpec("swapaxes", lambda m, a: a.swapaxes(1, 2), lambda a: a.swapaxes(1, 2), [(2, 3, 4)]),
    OpSpec("swapdims", lambda m, a: m.swapdims(a, 0, 1), lambda a: a.swapaxes(0, 1), [(2, 3, 4)]),
    OpSpec("t_2d", lambda m, a: a.t(), lambda a: a.T, [(2, 3)]),
    OpSpec("t_1d", lambda m, a: m.t(a), lambda a: a.T, [(3,)], zero_dim=True),
    OpSpec("T", lambda m, a: a.T, lambda a: a.T, [(2, 3)], zero_dim=True),
    OpSpec("mT", lambda m, a: a.mT, lambda a: a.swapaxes(-1, -2), [(2, 3, 4)]),
    OpSpec("H", lambda m, a: a.H, lambda a: a.T, [(2, 3)]),
    OpSpec("mH", lambda m, a: a.mH, lambda a: a.swapaxes(-1, -2), [(2, 3, 4)]),
    OpSpec("movedim", lambda m, a: a.movedim(0, -1), lambda a: np.moveaxis(a, 0, -1), [(2, 3, 4)]),
    OpSpec(
        "movedim_tuple",
        lambda m, a: m.movedim(a, (0, 1), (2, 0)),
        lambda a: np.moveaxis(a, (0, 1), (2, 0)),
        [(2, 3, 4, 5)],
    ),
    OpSpec("moveaxis", lambda m, a: m.moveaxis(a, -1, 1), lambda a: np.moveaxis(a, -1, 1), [(2, 3, 4)]),
    # broadcasting views
    OpSpec(
        "expand_keep",
        lambda m, a: a.expand(2, -1, 4),
        lambda a: np.broadcast_to(a, (2, 3, 4)),
        [(3, 1)],
        gradgrad=True,
    ),
    OpSpec(
        "expand_0d", lambda m, a: a.expand(2, 3), lambda a: np.broadcast_to(a, (2, 3)), [()], zero_dim=True
    ),
    OpSpec(
        "expand_as",
        lambda m, a, b: a.expand_as(b),
        lambda a, b: np.broadcast_to(a, b.shape),
        [(1, 4), (3, 4)],
        grad=(0,),
    ),
    OpSpec(
        "broadcast_to",
        lambda m, a: m.broadcast_to(a, (2, 3, 4)),
        lambda a: np.broadcast_to(a, (2, 3, 4)),
        [(4,)],
    ),
    OpSpec(
        "broadcast_tensors", lambda m, a, b: m.broadcast_tensors(a, b), np.broadcast_arrays, [(3, 1), (4,)]
    ),
    # slicing views
    OpSpec("narrow", lambda m, a: a.narrow(1, 1, 2), lambda a: a[:, 1:3], [(3, 4)], gradgrad=True),
    OpSpec("narrow_neg", lambda m, a: m.narrow(a, -1, -3, 2), lambda a: a[..., 2:4], [(2, 3, 5)]),
    OpSpec("select", lambda m, a: a.select(1, -1), lambda a: a[:, -1], [(3, 4, 2)], gradgrad=True),
    OpSpec("select_1d", lambda m, a: m.select(a, 0, 2), lambda a: a[2], [(4,)]),
    OpSpec(
        "unfold",
        lambda m, a: a.unfold(1, 3, 2),
        lambda a: sliding_window_view(a, 3, axis=1)[:, ::2],
        [(2, 7)],
        gradgrad=True,
    ),
    OpSpec(
        "unfold_overlap",
        lambda m, a: a.unfold(0, 2, 1),
        lambda a: sliding_window_view(a, 2, axis=0),
        [(5, 3)],
    ),
    OpSpec("unfold_0d", lambda m, a: a.unfold(0, 1, 1), lambda a: a.reshape(1), [()], zero_dim=True),
    OpSpec("diagonal", lambda m, a: a.diagonal(), np.diagonal, [(3, 4)], gradgrad=True),
    OpSpec(
        "diagonal_offset", lambda m, a: m.diagonal(a, 1, 0, 2), lambda a: np.diagonal(a, 1, 0, 2), [(3, 2, 4)]
    ),
    OpSpec(
        "diagonal_negative",
        lambda m, a: a.diagonal(-1, -1, -2),
        lambda a: np.diagonal(a, -1, -1, -2),
        [(2, 4, 3)],
    ),
    OpSpec("contiguous_copy", lambda m, a: a.t().contiguous(), lambda a: a.T.copy(), [(3, 4)]),
    OpSpec("contiguous_noop", lambda m, a: a.contiguous(), lambda a: a, [(3, 4)], zero_dim=True),
    # splitting (several outputs, or only some of them used)
    OpSpec(
        "split_int",
        lambda m, a: a.split(2, 1),
        lambda a: tuple(np.split(a, [2, 4], axis=1)),
        [(3, 5)],
        gradgrad=True,
    ),
    OpSpec(
        "split_sizes",
        lambda m, a: m.split(a, [1, 3, 1], -1),
        lambda a: tuple(np.split(a, [1, 4], -1)),
        [(2, 5)],
    ),
    OpSpec("split_one_used", lambda m, a: a.split(2, 1)[1], lambda a: a[:, 2:4], [(3, 5)], gradgrad=True),
    OpSpec("chunk", lambda m, a: a.chunk(3), lambda a: tuple(np.split(a, [3, 6])), [(7, 2)]),
    OpSpec("chunk_fewer", lambda m, a: m.chunk(a, 4, 1), lambda a: tuple(np.split(a, [2, 4], 1)), [(2, 6)]),
    OpSpec("chunk_last_used", lambda m, a: a.chunk(3)[-1], lambda a: a[6:], [(7, 2)]),
    OpSpec(
        "tensor_split_sections",
        lambda m, a: a.tensor_split(3, 1),
        lambda a: tuple(np.array_split(a, 3, axis=1)),
        [(2, 7)],
    ),
    OpSpec(
        "tensor_split_indices",
        lambda m, a: m.tensor_split(a, [1, 4], 1),
        lambda a: tuple(np.split(a, [1, 4], axis=1)),
        [(2, 7)],
    ),
    OpSpec(
        "tensor_split_overlapping",
        lambda m, a: a.tensor_split([5, 2]),
        lambda a: (a[:5], a[5:2], a[2:]),
        [(10,)],
    ),
    OpSpec(
        "unbind", lambda m, a: a.unbind(1), lambda a: tuple(np.moveaxis(a, 1, 0)), [(2, 3, 4)], gradgrad=True
    ),
    OpSpec("unbind_one_used", lambda m, a: m.unbind(a)[1], lambda a: a[1], [(3, 4)]),
    # joins
    OpSpec(
        "cat",
        lambda m, a, b, c: m.cat([a, b, c], 1),
        lambda a, b, c: np.concatenate([a, b, c], 1),
        [(2, 3), (2, 1), (2, 4)],
        gradgrad=True,
    ),
    OpSpec(
        "cat_neg_dim",
        lambda m, a, b: m.cat((a, b), -1),
        lambda a, b: np.concatenate([a, b], -1),
        [(2, 3, 2), (2, 3, 1)],
    ),
    OpSpec("cat_single", lambda m, a: m.cat([a]), lambda a: a.copy(), [(2, 3)]),
    OpSpec(
        "cat_partial_grad",
        lambda m, a, b: m.concat([a, b]),
        lambda a, b: np.concatenate([a, b]),
        [(2, 3), (1, 3)],
        grad=(1,),
    ),
    OpSpec(
        "cat_promote",
        lambda m, a, b: m.concatenate([a, b], 0),
        lambda a, b: np.concatenate([a, b.astype(a.dtype)]),
        [],
        make_inputs=_mixed_dtypes,
        grad=(0,),
    ),
    OpSpec(
        "cat_legacy_empty", lambda m, a, b: m.cat([a, b]), lambda a, b: b.copy(), [(0,), (2, 3)], grad=(1,)
    ),
    OpSpec(
        "stack",
        lambda m, a, b: m.stack([a, b], 1),
        lambda a, b: np.stack([a, b], 1),
        [(2, 3), (2, 3)],
        gradgrad=True,
    ),
    OpSpec(
        "stack_last",
        lambda m, a, b, c: m.stack((a, b, c), -1),
        lambda a, b, c: np.stack([a, b, c], -1),
        [(2, 3), (2, 3), (2, 3)],
    ),
    OpSpec(
        "stack_0d",
        lambda m, a, b: m.stack([a, b]),
        lambda a, b: np.stack([a, b]),
        [(3,), (3,)],
        zero_dim=True,
    ),
    OpSpec("hstack_1d", lambda m, a, b: m.hstack([a, b]), lambda a, b: np.hstack([a, b]), [(3,), (2,)]),
    OpSpec("hstack_2d", lambda m, a, b: m.hstack([a, b]), lambda a, b: np.hstack([a, b]), [(2, 3), (2, 1)]),
    OpSpec("vstack", lambda m, a, b: m.vstack([a, b]), lambda a, b: np.vstack([a, b]), [(3,), (2, 3)]),
    OpSpec("dstack", lambda m, a, b: m.dstack([a, b]), lambda a, b: np.dstack([a, b]), [(2, 3), (2, 3, 2)]),
    OpSpec(
        "column_stack",
        lambda m, a, b: m.column_stack([a, b]),
        lambda a, b: np.column_stack([a, b]),
        [(3,), (3, 2)],
    ),
    OpSpec(
        "meshgrid_ij",
        lambda m, a, b: m.meshgrid(a, b, indexing="ij"),
        lambda a, b: tuple(np.meshgrid(a, b, indexing="ij")),
        [(3,), (4,)],
    ),
    OpSpec(
        "meshgrid_xy",
        lambda m, a, b, c: m.meshgrid([a, b, c], indexing="xy"),
        lambda a, b, c: tuple(np.meshgrid(a, b, c, indexing="xy")),
        [(3,), (4,), (2,)],
    ),
    OpSpec("atleast_1d", lambda m, a: m.atleast_1d(a), np.atleast_1d, [(3,)], zero_dim=True),
    OpSpec("atleast_2d", lambda m, a: m.atleast_2d(a), np.atleast_2d, [(3,)], zero_dim=True),
    OpSpec("atleast_3d", lambda m, a: m.atleast_3d(a), np.atleast_3d, [(2, 3)], zero_dim=True),
    OpSpec(
        "atleast_3d_many",
        lambda m, a, b: m.atleast_3d(a, b),
        lambda a, b: tuple(np.atleast_3d(a, b)),
        [(3,), (2, 3, 4)],
    ),
    # copies
    OpSpec(
        "repeat",
        lambda m, a: a.repeat(2, 1, 3),
        lambda a: np.tile(a, (2, 1, 3)),
        [(2, 3)],
        gradgrad=True,
        zero_dim=True,
    ),
    OpSpec("tile", lambda m, a: m.tile(a, (2,)), lambda a: np.tile(a, 2), [(2, 3)]),
    OpSpec("tile_more_dims", lambda m, a: a.tile(2, 1, 2), lambda a: np.tile(a, (2, 1, 2)), [(3,)]),
    OpSpec(
        "repeat_interleave_int",
        lambda m, a: m.repeat_interleave(a, 2, dim=1),
        lambda a: np.repeat(a, 2, axis=1),
        [(2, 3)],
        gradgrad=True,
    ),
    OpSpec(
        "repeat_interleave_flat",
        lambda m, a: a.repeat_interleave(3),
        lambda a: np.repeat(a, 3),
        [(2, 2)],
        zero_dim=True,
    ),
    OpSpec(
        "repeat_interleave_tensor",
        lambda m, a: a.repeat_interleave(m.tensor([1, 0, 2]), dim=0),
        lambda a: np.repeat(a, [1, 0, 2], axis=0),
        [(3, 4)],
        gradgrad=True,
    ),
    OpSpec(
        "repeat_interleave_output_size",
        lambda m, a: a.repeat_interleave(m.tensor([2, 1]), dim=-1, output_size=3),
        lambda a: np.repeat(a, [2, 1], axis=-1),
        [(3, 2)],
    ),
    OpSpec("flip", lambda m, a: a.flip(0, 2), lambda a: np.flip(a, (0, 2)), [(2, 3, 4)], gradgrad=True),
    OpSpec("flip_list", lambda m, a: m.flip(a, [-1]), lambda a: np.flip(a, -1), [(2, 3)]),
    OpSpec("flip_0d", lambda m, a: a.flip(0), _flip0, [(3,)], zero_dim=True),
    OpSpec("fliplr", lambda m, a: m.fliplr(a), np.fliplr, [(2, 3, 2)]),
    OpSpec("flipud", lambda m, a: a.flipud(), np.flipud, [(3, 2)]),
    OpSpec("roll", lambda m, a: a.roll(1, 0), lambda a: np.roll(a, 1, 0), [(3, 4)]),
    OpSpec(
        "roll_multi",
        lambda m, a: m.roll(a, (1, -2), (0, 2)),
        lambda a: np.roll(a, (1, -2), (0, 2)),
        [(3, 2, 4)],
        gradgrad=True,
    ),
    OpSpec("roll_flat", lambda m, a: a.roll(3), lambda a: np.roll(a, 3), [(2, 3)], zero_dim=True),
]
