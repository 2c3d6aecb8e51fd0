"""Op-table rows for the core arithmetic, reduction, movement and matmul seed ops."""

import numpy as np

from tests.ops.spec import OpSpec

SPECS = [
    OpSpec(
        "add",
        lambda m, a, b: m.add(a, b),
        np.add,
        [(3, 4), (4,)],
        broadcast=True,
        gradgrad=True,
        zero_dim=True,
    ),
    OpSpec("sub", lambda m, a, b: a - b, np.subtract, [(3, 4), (3, 1)], broadcast=True, zero_dim=True),
    OpSpec(
        "mul",
        lambda m, a, b: a * b,
        np.multiply,
        [(2, 3, 4), (3, 4)],
        broadcast=True,
        gradgrad=True,
        zero_dim=True,
    ),
    OpSpec(
        "div",
        lambda m, a, b: a / b,
        np.divide,
        [(3, 4), (4,)],
        broadcast=True,
        gradgrad=True,
        make_inputs=lambda rng, dt: [
            rng.uniform(-2, 2, (3, 4)).astype(dt),
            rng.uniform(0.5, 2, (4,)).astype(dt),
        ],
    ),
    OpSpec("rsub_scalar", lambda m, a: 2.5 - a, lambda a: 2.5 - a, [(3,)]),
    OpSpec("rdiv_scalar", lambda m, a: 2.0 / a, lambda a: 2.0 / a, [(3,)], domain=(0.5, 2.0), gradgrad=True),
    OpSpec("neg", lambda m, a: -a, np.negative, [(2, 3)], zero_dim=True),
    OpSpec("pow_scalar", lambda m, a: a**3, lambda a: a**3, [(2, 3)], gradgrad=True, zero_dim=True),
    OpSpec(
        "pow_tensor",
        lambda m, a, b: a**b,
        np.power,
        [(2, 3), (3,)],
        domain=(0.5, 2.0),
        broadcast=True,
        gradgrad=True,
    ),
    OpSpec("rpow_scalar", lambda m, a: 2.0**a, lambda a: 2.0**a, [(4,)]),
    OpSpec("exp", lambda m, a: m.exp(a), np.exp, [(3, 4)], gradgrad=True, zero_dim=True),
    OpSpec("log", lambda m, a: m.log(a), np.log, [(3, 4)], domain=(0.5, 3.0), gradgrad=True),
    OpSpec("sum_all", lambda m, a: a.sum(), np.sum, [(3, 4)], zero_dim=True),
    OpSpec("sum_dim", lambda m, a: a.sum(1), lambda a: a.sum(1), [(3, 4, 2)]),
    OpSpec(
        "sum_dims_keepdim",
        lambda m, a: a.sum((0, 2), keepdim=True),
        lambda a: a.sum((0, 2), keepdims=True),
        [(3, 4, 2)],
        gradgrad=True,
    ),
    OpSpec("mean_dim", lambda m, a: a.mean(-1), lambda a: a.mean(-1), [(3, 4)]),
    OpSpec("reshape", lambda m, a: a.reshape(4, 3), lambda a: a.reshape(4, 3), [(3, 4)]),
    OpSpec("expand", lambda m, a: a.expand(2, 3, 4), lambda a: np.broadcast_to(a, (2, 3, 4)), [(3, 1)]),
    OpSpec("permute", lambda m, a: a.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1), [(2, 3, 4)]),
    OpSpec("transpose", lambda m, a: a.transpose(0, 1), lambda a: a.T, [(2, 3)]),
    OpSpec("matmul_2d", lambda m, a, b: a @ b, np.matmul, [(3, 4), (4, 5)], gradgrad=True),
    OpSpec("matmul_batched", lambda m, a, b: m.matmul(a, b), np.matmul, [(2, 3, 4), (4, 5)]),
    OpSpec("matmul_vec", lambda m, a, b: a @ b, np.matmul, [(4,), (2, 4, 3)]),
    OpSpec("matmul_mat_vec", lambda m, a, b: a @ b, np.matmul, [(2, 3, 4), (4,)]),
    OpSpec("dot_1d", lambda m, a, b: a @ b, np.matmul, [(4,), (4,)]),
]
