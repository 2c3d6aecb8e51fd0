"""In-place ops through views of tensors that are in the graph (the base takes a new history)."""

import numpy as np

import ember
from tests.helpers import torch_or_skip


def _scenarios(m):
    results = []
    a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = a * 1
    b[1:].mul_(a[1:])  # the view's old value is needed by mul_'s own backward
    b.sum().backward()  # the incoming gradient is a broadcast (stride-0) array
    results.append(a.grad.numpy().copy() if m is ember else a.grad.detach().numpy().copy())
    a = m.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    b = a * 2
    b[:, 1].add_(a[:, 2] * 3)
    b.t()[2].mul_(2)
    (b**2).sum().backward()
    results.append(a.grad.numpy().copy() if m is ember else a.grad.detach().numpy().copy())
    return results


def test_inplace_through_views_gives_the_analytic_gradients():
    first, second = _scenarios(ember)
    np.testing.assert_allclose(first, [1.0, 4.0, 6.0])
    a = np.arange(12.0).reshape(3, 4)
    b = a * 2
    b[:, 1] += a[:, 2] * 3
    b[:, 2] *= 2
    # d/da of sum(b^2): 2b * db/da, with column 1 also feeding from column 2 (x3) and column 2 doubled
    expected = 2 * b * 2
    expected[:, 2] = 2 * b[:, 2] * 4 + 2 * b[:, 1] * 3
    np.testing.assert_allclose(second, expected)


def test_inplace_through_views_matches_torch():
    torch = torch_or_skip()
    for ours, theirs in zip(_scenarios(ember), _scenarios(torch)):
        np.testing.assert_allclose(ours, theirs)
