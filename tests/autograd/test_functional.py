"""ember.autograd.functional (jacobian, hessian, vjp, jvp, hvp, vhp) against PyTorch, and the
engine switches set_multithreading_enabled / enforce_grad_layout_policy."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.autograd.functional as AF
from tests.helpers import torch_or_skip

rng = np.random.default_rng(0)
X, Y = rng.standard_normal(3), rng.standard_normal((2, 3))
U = (rng.standard_normal(3), rng.standard_normal((2, 3)))


def two_outputs(a, b):
    return (a * b).sin().sum(0) * a.exp(), (b**2).sum()


def scalar(a, b):
    return ((a * b).sin() * a.exp()).sum()


def _close(mine, theirs):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(mine, tuple) and len(mine) == len(theirs)
        for m, t in zip(mine, theirs):
            _close(m, t)
        return
    assert tuple(mine.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(), atol=1e-12)


def _inputs(module):
    return module.tensor(X), module.tensor(Y)


@pytest.mark.parametrize(
    "name,func,args",
    [
        ("jacobian", two_outputs, ()),
        ("jacobian", lambda a: a.exp() * a, "single"),
        ("hessian", scalar, ()),
        ("hessian", lambda a: (a**3).prod(), "single"),
        ("vjp", two_outputs, "v_out"),
        ("jvp", two_outputs, "v_in"),
        ("hvp", scalar, "v_in"),
        ("vhp", scalar, "v_in"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_matches_torch(name, func, args):
    torch = torch_or_skip()
    ours, theirs = _inputs(ember), _inputs(torch)
    if args == "single":
        _close(getattr(AF, name)(func, ours[0]), getattr(torch.autograd.functional, name)(func, theirs[0]))
        return
    extra_e, extra_t = (), ()
    if args == "v_out":
        v = (rng.standard_normal(3), np.array(1.5))
        extra_e, extra_t = (tuple(map(ember.tensor, v)),), (tuple(map(torch.tensor, v)),)
    elif args == "v_in":
        extra_e, extra_t = (tuple(map(ember.tensor, U)),), (tuple(map(torch.tensor, U)),)
    _close(
        getattr(AF, name)(func, ours, *extra_e),
        getattr(torch.autograd.functional, name)(func, theirs, *extra_t),
    )


def test_create_graph_gives_differentiable_results():
    x = ember.tensor(X, requires_grad=True)
    AF.jacobian(lambda a: a**3, x, create_graph=True).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * X, rtol=1e-12)
    plain = AF.jacobian(lambda a: a**3, ember.tensor(X))
    assert not plain.requires_grad


def test_strict_and_unused_inputs():
    x, y = ember.tensor(X), ember.tensor(Y)
    jac = AF.jacobian(lambda a, b: a * 2, (x, y))
    assert float(jac[1].abs().sum()) == 0.0 and tuple(jac[1].shape) == (3, 2, 3)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.jacobian(lambda a, b: a * 2, (x, y), strict=True)
    with pytest.raises(RuntimeError, match="single element"):
        AF.hessian(lambda a: a * 2, x)
    with pytest.raises(TypeError, match="Tensor"):
        AF.vjp(lambda a: a, [1.0])


def test_engine_switches_record_their_mode():
    from ember.autograd.engine_flags import is_multithreading_enabled

    assert is_multithreading_enabled()
    with ember.autograd.set_multithreading_enabled(False):
        assert not is_multithreading_enabled()
    assert is_multithreading_enabled()

    @ember.autograd.set_multithreading_enabled(False)
    def inside():
        return is_multithreading_enabled()

    assert not inside() and is_multithreading_enabled()
    with ember.autograd.enforce_grad_layout_policy(False):
        x = ember.ones(2, requires_grad=True)
        (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_backward_accepts_deprecated_grad_variables():
    x = ember.ones(2, requires_grad=True)
    with pytest.warns(FutureWarning, match="grad_variables"):
        ember.autograd.backward(x * 3, grad_variables=ember.ones(2))
    assert x.grad.tolist() == [3.0, 3.0]


def test_gradcheck_accepts_pytorchs_keywords():
    x = ember.randn(3, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda t: (t * t).sum(), (x,), fast_mode=True, nondet_tol=0.0, check_undefined_grad=False, masked=None
    )
    assert ember.autograd.gradgradcheck(
        lambda t: (t**3).sum(), (x,), check_rev_over_rev=True, gen_non_contig_grad_outputs=True
    )
    with pytest.raises(NotImplementedError, match="check_forward_ad"):
        ember.autograd.gradcheck(lambda t: t.sum(), (x,), check_forward_ad=True)


def test_once_differentiable_backward_runs_without_a_graph():
    from ember.autograd.function import once_differentiable

    seen = []

    class Square(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            seen.append(ember.is_grad_enabled())
            return grad * 2 * x

    x = ember.tensor([3.0], requires_grad=True)
    (g,) = ember.autograd.grad(Square.apply(x), x, create_graph=True)
    assert g.tolist() == [6.0] and seen == [False] and not g.requires_grad


def test_profiler_records_ranges(tmp_path):
    import json

    from ember.autograd import profiler

    with profiler.profile() as prof:
        for _ in range(3):
            with profiler.record_function("step"):
                ember.ones(4).sum()
        profiler.record_function("fn")(lambda: None)()
    averages = {e.key: e for e in prof.key_averages()}
    assert averages["step"].count == 3 and averages["fn"].count == 1
    assert "step" in prof.key_averages().table(sort_by="cpu_time_total")
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    assert len(json.loads(path.read_text())["traceEvents"]) == 4
    with profiler.record_function("outside"):
        pass
    assert len(prof.function_events) == 4
