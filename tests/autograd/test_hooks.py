"""detach, requires_grad_, retain_grad, tensor hooks, node hooks and post-accumulate hooks."""

import numpy as np
import pytest

import ember


def test_detach_shares_data_and_version():
    x = ember.ones(3, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert np.shares_memory(d.numpy(), y.detach().numpy())
    z = y * y
    d.add_(1)  # shares the version counter: autograd notices
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_detach_inplace():
    x = ember.ones(2, requires_grad=True)
    y = x * 2
    y.detach_()
    assert y.is_leaf and not y.requires_grad
    assert y.tolist() == [2.0, 2.0]


def test_data_is_detached():
    x = ember.ones(2, requires_grad=True)
    assert not x.data.requires_grad
    with ember.no_grad():
        pass
    x.data.mul_(3)  # .data edits go unseen by autograd and are allowed on leaves
    assert x.tolist() == [3.0, 3.0]
    x.data = ember.zeros(2)
    assert x.tolist() == [0.0, 0.0] and x.requires_grad


def test_requires_grad_flag():
    x = ember.ones(2)
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad = False
    assert not x.requires_grad
    with pytest.raises(
        RuntimeError, match="only Tensors of floating point and complex dtype can require gradients.*int64"
    ):
        ember.ones(2, dtype=ember.int64).requires_grad_()
    y = ember.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf variables"):
        y.requires_grad_(False)


def test_retain_grad_on_nonleaf():
    x = ember.ones(2, requires_grad=True)
    h = x * 3
    h.retain_grad()
    assert h.retains_grad
    (h * h).sum().backward()
    assert h.grad.tolist() == [6.0, 6.0] and x.grad.tolist() == [18.0, 18.0]
    g = x * 2
    (g * 1).sum().backward()
    assert g.grad is None  # not retained
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        ember.ones(1).retain_grad()


def test_register_hook_on_leaf_and_nonleaf():
    x = ember.ones(2, requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.tolist()))
    x.register_hook(lambda g: g * 10)  # returning a tensor replaces the gradient
    (x * 2).sum().backward()
    assert seen == [[2.0, 2.0]] and x.grad.tolist() == [20.0, 20.0]
    handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    assert len(seen) == 1

    y = ember.ones(2, requires_grad=True)
    h = y * 3
    h.register_hook(lambda g: g * 0.5)
    (h * 2).sum().backward()
    assert y.grad.tolist() == [3.0, 3.0]
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        ember.ones(1).register_hook(lambda g: g)


def test_post_accumulate_grad_hook():
    x = ember.ones(2, requires_grad=True)
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append((t is x, t.grad.tolist())))
    (x * 4).sum().backward()
    assert seen == [(True, [4.0, 4.0])]
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_node_hooks():
    x = ember.ones(2, requires_grad=True)
    y = x * 2
    calls = []
    y.grad_fn.register_prehook(lambda grad_outputs: calls.append("pre"))
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: calls.append("post"))
    y.sum().backward()
    assert calls == ["pre", "post"]


def test_hook_can_modify_grad_on_intermediate_used_twice():
    x = ember.ones(1, requires_grad=True)
    h = x * 1
    h.register_hook(lambda g: g * 2)
    (h + h).sum().backward()
    assert x.grad.tolist() == [4.0]
