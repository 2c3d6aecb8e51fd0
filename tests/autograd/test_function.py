"""Custom ``ember.autograd.Function``s, as users write them."""

import numpy as np
import pytest

import ember
from ember.autograd import Function, gradcheck


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x


class MulConst(Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        return x * k

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.k, None


def test_apply_and_structure():
    x = ember.tensor([2.0], requires_grad=True)
    y = Cube.apply(x)
    assert y.requires_grad and y.grad_fn.name() == "CubeBackward"
    assert y.grad_fn.next_functions[0][0].variable is x
    y.backward()
    assert x.grad.tolist() == [12.0]
    assert not Cube.apply(ember.ones(1)).requires_grad


def test_non_tensor_arguments_get_none():
    x = ember.ones(2, requires_grad=True)
    MulConst.apply(x, 5.0).sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]


def test_gradcheck_and_double_backward_of_custom_function():
    x = ember.tensor([0.5, -1.5], dtype=ember.float64, requires_grad=True)
    assert gradcheck(Cube.apply, (x,))
    (g,) = ember.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    (gg,) = ember.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6 * x.detach().numpy())


def test_needs_input_grad():
    seen = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, a, b):
            seen.append(ctx.needs_input_grad)
            return a + b

        @staticmethod
        def backward(ctx, grad):
            seen.append(ctx.needs_input_grad)
            return grad if ctx.needs_input_grad[0] else None, grad if ctx.needs_input_grad[1] else None

    a = ember.ones(1, requires_grad=True)
    Probe.apply(a, ember.ones(1)).sum().backward()
    assert seen == [(True, False), (True, False)]


def test_multiple_outputs_and_materialized_grads():
    class Split(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            assert g1 is not None and g2 is not None  # materialized as zeros
            return g1 * 2 + g2 * 3

    x = ember.ones(2, requires_grad=True)
    a, b = Split.apply(x)
    assert a.grad_fn is b.grad_fn and (a.output_nr, b.output_nr) == (0, 1)
    a.sum().backward()  # b unused: its grad arrives as zeros
    assert x.grad.tolist() == [2.0, 2.0]


def test_set_materialize_grads_false():
    class Split(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x.clone(), x.clone()

        @staticmethod
        def backward(ctx, g1, g2):
            assert g2 is None
            return g1

    x = ember.ones(2, requires_grad=True)
    a, _ = Split.apply(x)
    a.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_mark_non_differentiable():
    class SortLike(Function):
        @staticmethod
        def forward(ctx, x):
            idx = ember.arange(x.shape[0]).double()
            ctx.mark_non_differentiable(idx)
            return x * 1, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            return g

    x = ember.ones(3, dtype=ember.float64, requires_grad=True)
    vals, idx = SortLike.apply(x)
    assert vals.requires_grad and not idx.requires_grad
    vals.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]


def test_mark_dirty_inplace_function():
    class AddOneInPlace(Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad

    x = ember.ones(2, requires_grad=True)
    y = x * 1
    out = AddOneInPlace.apply(y)
    assert (
        out is y and y.grad_fn.name() == "AddOneInPlaceBackward" and y._version == 2
    )  # as PyTorch: add_ and mark_dirty each bump
    (out * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0] and y.tolist() == [2.0, 2.0]


def test_saved_tensors_checked_and_freed():
    x = ember.ones(2, requires_grad=True)
    h = x * 1
    y = Cube.apply(h)
    h.add_(1)
    with pytest.raises(RuntimeError, match=r"CubeBackward saved a tensor of shape \[2\].*add_"):
        y.sum().backward()
    y = Cube.apply(x * 1)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        _ = y.grad_fn.saved_tensors


def test_returning_an_input_gives_an_alias():
    class Identity(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad

    x = ember.ones(2, requires_grad=True)
    y = Identity.apply(x)
    assert y is not x and y.grad_fn is not None and x.is_leaf
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_wrong_number_of_gradients():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(RuntimeError, match="BadBackward returned an incorrect number of gradients"):
        Bad.apply(ember.ones(1, requires_grad=True), ember.ones(1)).backward()


def _split_style_product(lib):
    """PyTorch 2's style: ``forward`` without ctx, state saved in ``setup_context``."""

    class Product(lib.autograd.Function):
        @staticmethod
        def forward(x, y):
            return x * y, x.argmax()

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(*inputs)
            ctx.mark_non_differentiable(output[1])

        @staticmethod
        def backward(ctx, grad, _grad_index):
            x, y = ctx.saved_tensors
            return grad * y, grad * x

    return Product


def _run_split_style(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = lib.tensor([3.0, 4.0], requires_grad=True)
    out, index = _split_style_product(lib).apply(x, y)
    out.sum().backward()
    return out.detach().numpy(), index.requires_grad, x.grad.numpy(), y.grad.numpy()


def test_setup_context_style_function():
    out, index_requires_grad, grad_x, grad_y = _run_split_style(ember)
    np.testing.assert_array_equal(out, [3.0, 8.0])
    assert not index_requires_grad
    np.testing.assert_array_equal(grad_x, [3.0, 4.0])
    np.testing.assert_array_equal(grad_y, [1.0, 2.0])


def test_setup_context_style_matches_pytorch():
    from tests.helpers import torch_or_skip

    torch = torch_or_skip()
    for ours, theirs in zip(_run_split_style(ember), _run_split_style(torch)):
        np.testing.assert_array_equal(ours, theirs)
