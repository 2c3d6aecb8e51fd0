"""Random factories, in-place fills, generators and RNG state."""

import numpy as np
import pytest

import ember
from ember.random import fork_rng

FACTORIES = [
    ("rand", lambda **kw: ember.rand(3, 4, **kw)),
    ("randn", lambda **kw: ember.randn((3, 4), **kw)),
    ("randint", lambda **kw: ember.randint(0, 10, (3, 4), **kw)),
    ("randperm", lambda **kw: ember.randperm(12, **kw)),
    ("normal", lambda **kw: ember.normal(1.0, 2.0, size=(3, 4), **kw)),
    ("normal_t", lambda **kw: ember.normal(ember.zeros(3, 4), ember.ones(3, 4), **kw)),
    ("bernoulli", lambda **kw: ember.bernoulli(ember.full((3, 4), 0.5), **kw)),
    ("multinomial", lambda **kw: ember.multinomial(ember.ones(3, 4), 2, **kw)),
    ("poisson", lambda **kw: ember.poisson(ember.full((3, 4), 3.0), **kw)),
]


@pytest.mark.parametrize("name,make", FACTORIES, ids=[f[0] for f in FACTORIES])
def test_manual_seed_reproduces(name, make):
    ember.manual_seed(123)
    a = make()
    ember.manual_seed(123)
    b = make()
    np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("name,make", FACTORIES, ids=[f[0] for f in FACTORIES])
def test_generator_argument_is_independent_of_default(name, make):
    a = make(generator=ember.Generator().manual_seed(7))
    ember.rand(5)  # moves the default stream; the explicit generator must not care
    b = make(generator=ember.Generator().manual_seed(7))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_shapes_dtypes_and_ranges():
    r = ember.rand(1000)
    assert r.dtype == ember.float32
    assert ((r.numpy() >= 0) & (r.numpy() < 1)).all()
    assert ember.rand(2, dtype=ember.float64).dtype == ember.float64
    assert ember.rand(2, dtype=ember.float16).dtype == ember.float16
    assert ember.randn(2, 3).shape == (2, 3)
    ri = ember.randint(3, 7, (500,))
    assert ri.dtype == ember.int64 and set(np.unique(ri.numpy())) == {3, 4, 5, 6}
    assert ember.randint(5, (4,)).numpy().max() < 5
    assert ember.randint(5, (4,), dtype=ember.float32).dtype == ember.float32
    assert sorted(ember.randperm(10).tolist()) == list(range(10))
    assert ember.randperm(0).shape == (0,)
    assert ember.rand(0, 3).shape == (0, 3)


def test_requires_grad_and_device_args():
    r = ember.randn(3, requires_grad=True, device="cpu")
    assert r.requires_grad and r.is_leaf and r.device == ember.device("cpu")
    assert ember.rand_like(r).shape == (3,) and not ember.rand_like(r).requires_grad
    assert ember.randn_like(r, dtype=ember.float64).dtype == ember.float64


def test_float_only_factories_reject_int_dtypes():
    with pytest.raises(RuntimeError, match="randn.*floating point.*int64"):
        ember.randn(2, dtype=ember.int64)
    with pytest.raises(RuntimeError, match="rand.*floating"):
        ember.rand(2, dtype=ember.bool)


def test_randint_argument_errors():
    with pytest.raises(RuntimeError, match="from=5 >= to=5"):
        ember.randint(5, 5, (2,))
    with pytest.raises(TypeError, match="size"):
        ember.randint(5)
    with pytest.raises(RuntimeError, match="negative dimension"):
        ember.rand(-1)


def test_normal_overloads():
    m = ember.zeros(4, 1)
    s = ember.ones(3)
    assert ember.normal(m, s).shape == (4, 3)
    assert ember.normal(m, 2.0).shape == (4, 1)
    assert ember.normal(0.0, s).shape == (3,)
    assert ember.normal(0.0, 1.0, (2, 2)).shape == (2, 2)
    assert ember.normal(ember.zeros(2, dtype=ember.float64), 1.0).dtype == ember.float64
    big = ember.normal(5.0, 2.0, size=(20000,), dtype=ember.float64).numpy()
    assert abs(big.mean() - 5) < 0.1 and abs(big.std() - 2) < 0.1
    with pytest.raises(TypeError, match="size"):
        ember.normal(0.0, 1.0)
    with pytest.raises(RuntimeError, match="std >= 0"):
        ember.normal(ember.zeros(2), -1.0)


def test_bernoulli():
    p = ember.tensor([0.0, 1.0, 0.0, 1.0])
    assert ember.bernoulli(p).tolist() == [0.0, 1.0, 0.0, 1.0]
    assert ember.bernoulli(ember.zeros(3), 1.0).tolist() == [1.0, 1.0, 1.0]
    assert ember.bernoulli(p).dtype == ember.float32
    assert p.bernoulli().shape == (4,)
    with pytest.raises(RuntimeError, match=r"\[0, 1\]"):
        ember.bernoulli(ember.tensor([1.5]))
    frac = ember.bernoulli(ember.full((20000,), 0.3)).numpy().mean()
    assert abs(frac - 0.3) < 0.02


def test_multinomial():
    w = ember.tensor([0.0, 10.0, 0.0, 0.0])
    assert ember.multinomial(w, 3, replacement=True).tolist() == [1, 1, 1]
    rows = ember.multinomial(ember.ones(5, 6), 6)
    assert rows.shape == (5, 6) and rows.dtype == ember.int64
    for row in rows.tolist():
        assert sorted(row) == list(range(6))  # without replacement: a permutation
    counts = np.bincount(ember.multinomial(ember.tensor([1.0, 3.0]), 20000, True).numpy(), minlength=2)
    assert abs(counts[1] / 20000 - 0.75) < 0.02
    assert ember.ones(3).multinomial(2).shape == (2,)
    with pytest.raises(RuntimeError, match="without replacement"):
        ember.multinomial(ember.ones(3), 4)
    with pytest.raises(RuntimeError, match="element < 0"):
        ember.multinomial(ember.tensor([1.0, -1.0]), 1)
    with pytest.raises(RuntimeError, match="1 or 2 dim"):
        ember.multinomial(ember.ones(2, 2, 2), 1)


def test_like_factories():
    x = ember.zeros(2, 3, dtype=ember.float64)
    assert ember.rand_like(x).dtype == ember.float64 and ember.rand_like(x).shape == (2, 3)
    assert ember.randn_like(x).shape == (2, 3)
    r = ember.randint_like(x, 5)
    assert r.dtype == ember.float64 and r.numpy().max() < 5
    r = ember.randint_like(x, 3, 5)
    assert set(np.unique(r.numpy())) <= {3.0, 4.0}


INPLACE = [
    ("normal_", lambda t: t.normal_(2.0, 0.5)),
    ("uniform_", lambda t: t.uniform_(-1.0, 1.0)),
    ("random_", lambda t: t.random_(0, 10)),
    ("exponential_", lambda t: t.exponential_(2.0)),
    ("bernoulli_", lambda t: t.bernoulli_(0.5)),
    ("cauchy_", lambda t: t.cauchy_()),
    ("log_normal_", lambda t: t.log_normal_()),
    ("geometric_", lambda t: t.geometric_(0.3)),
]


@pytest.mark.parametrize("name,fill", INPLACE, ids=[f[0] for f in INPLACE])
def test_inplace_fills(name, fill):
    t = ember.zeros(500)
    data = t.numpy()
    out = fill(t)
    assert out is t and t.numpy() is data  # in place: same array
    assert t._version == 1
    ember.manual_seed(5)
    a = fill(ember.zeros(10)).numpy().copy()
    ember.manual_seed(5)
    np.testing.assert_array_equal(a, fill(ember.zeros(10)).numpy())
    leaf = ember.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=f"{name}.*leaf"):
        fill(leaf)
    with ember.no_grad():
        fill(leaf)  # allowed, as for nn.init


def test_inplace_value_ranges():
    t = ember.empty(5000)
    assert abs(t.normal_(2.0, 0.5).numpy().mean() - 2.0) < 0.05
    u = t.uniform_(-1, 3).numpy()
    assert u.min() >= -1 and u.max() < 3
    assert t.exponential_().numpy().min() >= 0
    assert set(np.unique(t.bernoulli_(0.5).numpy())) == {0.0, 1.0}
    assert t.geometric_(0.5).numpy().min() >= 1
    assert t.log_normal_().numpy().min() > 0
    r = t.random_(5).numpy()
    assert r.min() >= 0 and r.max() <= 4 and (r == np.round(r)).all()
    ints = ember.zeros(100, dtype=ember.int64).random_()
    assert ints.numpy().min() >= 0
    b = ember.zeros(100, dtype=ember.bool).random_()
    assert b.dtype == ember.bool
    assert set(np.unique(ember.zeros(1000, dtype=ember.int32).random_(3, 5).numpy())) == {3, 4}
    with pytest.raises(RuntimeError, match="uniform_.*floating point.*int64"):
        ember.zeros(2, dtype=ember.int64).uniform_()
    with pytest.raises(RuntimeError, match="from=2 > to=1"):
        t.uniform_(2, 1)


def test_inplace_fill_on_nonleaf_gives_zero_gradient():
    x = ember.ones(3, requires_grad=True)
    y = x * 2
    y.normal_()
    assert y.grad_fn is not None
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_inplace_fill_bumps_version_seen_by_autograd():
    x = ember.ones(3, requires_grad=True)
    y = x * 1
    z = y * y
    y.uniform_()
    with pytest.raises(RuntimeError, match="uniform_"):
        z.sum().backward()


def test_generator_state_round_trip():
    g = ember.Generator().manual_seed(42)
    assert g.initial_seed() == 42
    state = g.get_state()
    assert state.dtype == ember.uint8
    a = ember.rand(5, generator=g)
    g.set_state(state)
    b = ember.rand(5, generator=g)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    h = ember.Generator().set_state(state)
    np.testing.assert_array_equal(ember.rand(5, generator=h).numpy(), a.numpy())
    assert h.initial_seed() == 42
    with pytest.raises(RuntimeError, match="uint8 tensor of 56 bytes"):
        g.set_state(ember.zeros(3))


def test_rng_state_of_default_generator():
    ember.manual_seed(0)
    state = ember.get_rng_state()
    a = ember.randn(4)
    ember.set_rng_state(state)
    np.testing.assert_array_equal(ember.randn(4).numpy(), a.numpy())
    assert ember.initial_seed() == 0
    assert ember.random.get_rng_state().shape == state.shape


def test_fork_rng_restores_state():
    ember.manual_seed(1)
    with fork_rng():
        ember.rand(100)
    after = ember.rand(3)
    ember.manual_seed(1)
    np.testing.assert_array_equal(after.numpy(), ember.rand(3).numpy())
    with fork_rng(enabled=False):
        ember.rand(1)


def test_seed_and_distinct_seeds_differ():
    s = ember.seed()
    assert ember.initial_seed() == s
    a = ember.Generator().manual_seed(1)
    b = ember.Generator().manual_seed(2)
    assert not np.array_equal(ember.rand(8, generator=a).numpy(), ember.rand(8, generator=b).numpy())
    assert ember.Generator().manual_seed(-1).initial_seed() == 2**64 - 1


def test_samples_are_constants_for_autograd():
    m = ember.zeros(3, requires_grad=True)
    out = ember.normal(m, 1.0)
    assert not out.requires_grad
