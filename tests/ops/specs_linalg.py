"""Op-table rows for matrix products, einsum, tensordot, the add*mm family and diagonals."""

import numpy as np

from tests.ops.spec import OpSpec


def _kron(a, b):
    return np.kron(a, b)


SPECS = [
    OpSpec("mm", lambda m, a, b: m.mm(a, b), np.matmul, [(3, 4), (4, 2)], gradgrad=True),
    OpSpec("bmm", lambda m, a, b: a.bmm(b), np.matmul, [(2, 3, 4), (2, 4, 5)]),
    OpSpec("mv", lambda m, a, b: m.mv(a, b), np.matmul, [(3, 4), (4,)]),
    OpSpec("dot", lambda m, a, b: m.dot(a, b), np.dot, [(5,), (5,)]),
    OpSpec("vdot", lambda m, a, b: a.vdot(b), np.vdot, [(5,), (5,)]),
    OpSpec("inner", lambda m, a, b: m.inner(a, b), np.inner, [(2, 4), (3, 4)]),
    OpSpec("outer", lambda m, a, b: m.outer(a, b), np.outer, [(3,), (4,)]),
    OpSpec("ger", lambda m, a, b: a.ger(b), np.outer, [(2,), (3,)]),
    OpSpec("addmm", lambda m, c, a, b: m.addmm(c, a, b), lambda c, a, b: c + a @ b, [(4,), (3, 2), (2, 4)]),
    OpSpec(
        "addmm_beta_alpha",
        lambda m, c, a, b: c.addmm(a, b, beta=0.5, alpha=2.0),
        lambda c, a, b: 0.5 * c + 2.0 * (a @ b),
        [(3, 1), (3, 2), (2, 4)],
    ),
    OpSpec(
        "addmv",
        lambda m, c, a, b: m.addmv(c, a, b, beta=2, alpha=-1),
        lambda c, a, b: 2 * c - a @ b,
        [(3,), (3, 4), (4,)],
    ),
    OpSpec(
        "addr",
        lambda m, c, a, b: m.addr(c, a, b, alpha=3),
        lambda c, a, b: c + 3 * np.outer(a, b),
        [(3, 4), (3,), (4,)],
    ),
    OpSpec(
        "baddbmm",
        lambda m, c, a, b: m.baddbmm(c, a, b, beta=0.5, alpha=1.5),
        lambda c, a, b: 0.5 * c + 1.5 * (a @ b),
        [(2, 3, 5), (2, 3, 4), (2, 4, 5)],
    ),
    OpSpec(
        "addbmm",
        lambda m, c, a, b: m.addbmm(c, a, b, alpha=0.5),
        lambda c, a, b: c + 0.5 * (a @ b).sum(0),
        [(3, 5), (2, 3, 4), (2, 4, 5)],
    ),
    OpSpec(
        "einsum_matmul",
        lambda m, a, b: m.einsum("ij,jk->ik", a, b),
        lambda a, b: np.einsum("ij,jk->ik", a, b),
        [(3, 4), (4, 2)],
        gradgrad=True,
    ),
    OpSpec(
        "einsum_batched_ellipsis",
        lambda m, a, b: m.einsum("...ij,...jk", a, b),
        lambda a, b: np.einsum("...ij,...jk", a, b),
        [(2, 3, 4), (4, 5)],
        gradgrad=True,
    ),
    OpSpec(
        "einsum_broadcast_ellipsis",
        lambda m, a, b: m.einsum("...i,...i->...", a, b),
        lambda a, b: np.einsum("...i,...i->...", a, b),
        [(2, 1, 4), (3, 4)],
    ),
    OpSpec(
        "einsum_trace", lambda m, a: m.einsum("ii", a), lambda a: np.einsum("ii", a), [(4, 4)], gradgrad=True
    ),
    OpSpec("einsum_diagonal", lambda m, a: m.einsum("ii->i", a), lambda a: np.einsum("ii->i", a), [(3, 3)]),
    OpSpec(
        "einsum_repeated_3d",
        lambda m, a, b: m.einsum("iij,jk->ik", a, b),
        lambda a, b: np.einsum("iij,jk->ik", a, b),
        [(3, 3, 2), (2, 4)],
    ),
    OpSpec(
        "einsum_outer_implicit",
        lambda m, a, b: m.einsum("i,j", a, b),
        lambda a, b: np.einsum("i,j", a, b),
        [(3,), (2,)],
    ),
    OpSpec(
        "einsum_transpose_implicit", lambda m, a: m.einsum("ba", a), lambda a: np.einsum("ba", a), [(2, 3)]
    ),
    OpSpec(
        "einsum_sum_only_here",
        lambda m, a, b: m.einsum("ij,k->k", a, b),
        lambda a, b: np.einsum("ij,k->k", a, b),
        [(2, 3), (4,)],
        gradgrad=True,
    ),
    OpSpec(
        "einsum_three_operands",
        lambda m, a, b, c: m.einsum("bi,ij,bj->b", a, b, c),
        lambda a, b, c: np.einsum("bi,ij,bj->b", a, b, c),
        [(2, 3), (3, 4), (2, 4)],
        gradgrad=True,
    ),
    OpSpec(
        "einsum_list_operands",
        lambda m, a, b: m.einsum("bhqd,bhkd->bhqk", [a, b]),
        lambda a, b: np.einsum("bhqd,bhkd->bhqk", a, b),
        [(2, 2, 3, 4), (2, 2, 5, 4)],
    ),
    OpSpec(
        "tensordot_int",
        lambda m, a, b: m.tensordot(a, b, 2),
        lambda a, b: np.tensordot(a, b, 2),
        [(2, 3, 4), (3, 4, 5)],
    ),
    OpSpec(
        "tensordot_lists",
        lambda m, a, b: m.tensordot(a, b, ([1, 0], [0, 2])),
        lambda a, b: np.tensordot(a, b, ([1, 0], [0, 2])),
        [(2, 3, 4), (3, 5, 2)],
    ),
    OpSpec("trace", lambda m, a: m.trace(a), np.trace, [(3, 3)]),
    OpSpec("trace_rect", lambda m, a: a.trace(), np.trace, [(3, 5)]),
    OpSpec("diag_vector", lambda m, a: m.diag(a, 1), lambda a: np.diag(a, 1), [(3,)]),
    OpSpec("diag_matrix", lambda m, a: m.diag(a, -1), lambda a: np.diag(a, -1), [(4, 3)]),
    OpSpec("kron", lambda m, a, b: m.kron(a, b), _kron, [(2, 3), (3, 2)]),
    OpSpec("kron_mixed_ndim", lambda m, a, b: m.kron(a, b), _kron, [(3,), (2, 2)]),
    OpSpec(
        "matrix_power", lambda m, a: m.matrix_power(a, 3), lambda a: np.linalg.matrix_power(a, 3), [(3, 3)]
    ),
    OpSpec(
        "matrix_power_batched",
        lambda m, a: a.matrix_power(2),
        lambda a: np.linalg.matrix_power(a, 2),
        [(2, 3, 3)],
    ),
]
