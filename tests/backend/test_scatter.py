"""``at_in_rounds`` (the scatter for ufuncs CuPy has no ``.at`` for) equals NumPy's ``ufunc.at``."""

from __future__ import annotations

import numpy as np
import pytest

from ember.backend.scatter import at_in_rounds

CASES = [
    ((6,), (np.array([0, 2, 2, 5, 2, 0]),)),
    ((4, 5), (np.array([[0, 1], [3, 3]]), np.array([[4, 4], [4, 0]]))),
    ((4, 5), (slice(None), np.array([1, 1, 3]))),
    ((3, 4), (np.array([1, 1]),)),
    ((5,), (np.array([], dtype=np.int64),)),
]


@pytest.mark.parametrize("ufunc", ["multiply", "add", "maximum", "subtract"])
@pytest.mark.parametrize("shape, key", CASES)
def test_matches_numpy_ufunc_at(ufunc, shape, key):
    rng = np.random.default_rng(0)
    out = rng.uniform(0.5, 2.0, shape)
    values = rng.uniform(0.5, 2.0, np.empty(shape)[key].shape)
    expected = out.copy()
    getattr(np, ufunc).at(expected, key, values)
    at_in_rounds(np, ufunc, out, key, values)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_non_contiguous_target_and_scalar_values():
    base = np.ones((4, 6))
    out = base[:, ::2]
    expected = out.copy()
    np.multiply.at(expected, (np.array([0, 0, 3]),), 3.0)
    at_in_rounds(np, "multiply", out, (np.array([0, 0, 3]),), 3.0)
    np.testing.assert_array_equal(out, expected)
    assert base[0, 0] == 9.0 and base[0, 1] == 1.0
