"""ember.autograd.graph: saved-tensor hooks (against PyTorch), gradient edges, version bumps."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import graph
from tests.helpers import torch_or_skip


def _run(lib, hooks):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    w = lib.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    if hooks is None:
        y = (x @ w).tanh().exp().sum()
    else:
        with hooks(lib):
            y = (x @ w).tanh().exp().sum()
    y.backward()
    return x.grad.numpy(), w.grad.numpy()


@pytest.mark.parametrize("kind", ["copy", "cpu"])
def test_saved_tensor_hooks_give_the_same_gradients(kind):
    torch = torch_or_skip()
    counts = {}

    def hooks(lib):
        if kind == "cpu":
            return lib.autograd.graph.save_on_cpu()

        def pack(t):
            counts[lib.__name__] = counts.get(lib.__name__, 0) + 1
            return t.clone()

        return lib.autograd.graph.saved_tensors_hooks(pack, lambda t: t)

    plain = _run(ember, None)
    for lib in (ember, torch):
        for mine, ref in zip(_run(lib, hooks), plain):
            np.testing.assert_allclose(mine, ref, rtol=1e-12)
    if kind == "copy":
        assert counts["ember"] > 0 and counts["torch"] > 0


def test_hooks_do_not_pack_their_own_ops_and_can_be_disabled():
    calls = []

    def pack(t):
        calls.append(1)
        return t * 1.0  # an op inside the hook: must not be packed again

    x = ember.ones(3, requires_grad=True)
    with graph.saved_tensors_hooks(pack, lambda t: t):
        y = (x * x).sum()
    y.backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0] and len(calls) == 2
    with (
        graph.disable_saved_tensors_hooks("hooks are off here"),
        pytest.raises(RuntimeError, match="hooks are off here"),
        graph.saved_tensors_hooks(pack, pack),
    ):
        pass


def test_gradient_edge_node_and_increment_version():
    x = ember.ones(2, requires_grad=True)
    y = x * 2
    edge = graph.get_gradient_edge(y)
    assert edge.node is y.grad_fn and edge.output_nr == 0
    assert isinstance(y.grad_fn, graph.Node)
    assert graph.get_gradient_edge(x).node is not None
    with pytest.raises(RuntimeError, match="does not require gradients"):
        graph.get_gradient_edge(ember.ones(2))
    before = x._version
    graph.increment_version(x)
    assert x._version == before + 1
