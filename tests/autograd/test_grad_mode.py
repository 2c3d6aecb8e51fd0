"""no_grad, enable_grad, set_grad_enabled and inference_mode as context managers and decorators."""

import threading

import pytest

import ember
from ember.autograd import is_inference_mode_enabled


def _records() -> bool:
    return (ember.ones(1, requires_grad=True) * 2).requires_grad


def test_no_grad_context_and_decorator():
    with ember.no_grad():
        assert not _records() and not ember.is_grad_enabled()
        with ember.enable_grad():
            assert _records()
        assert not _records()
    assert _records()

    @ember.no_grad()
    def f():
        return _records()

    @ember.no_grad
    def g():
        return _records()

    assert f() is False and g() is False and _records()


def test_no_grad_decorates_generators():
    @ember.no_grad()
    def gen():
        yield _records()
        yield _records()

    it = gen()
    assert next(it) is False
    assert _records()  # outside the generator's frame grad mode is back on
    assert next(it) is False


def test_enable_grad_decorator():
    @ember.enable_grad()
    def f():
        return _records()

    with ember.no_grad():
        assert f() is True


def test_set_grad_enabled_all_three_ways():
    with ember.set_grad_enabled(False):
        assert not _records()
    assert _records()
    ember.set_grad_enabled(False)  # a plain call takes effect at once
    try:
        assert not _records()
    finally:
        ember.set_grad_enabled(True)
    assert _records()

    @ember.set_grad_enabled(False)
    def f():
        return _records()

    assert f() is False and _records()
    with ember.no_grad():
        with ember.set_grad_enabled(True):
            assert _records()
        assert not _records()


def test_inference_mode():
    with ember.inference_mode():
        assert not _records() and is_inference_mode_enabled()
    assert not is_inference_mode_enabled()
    with ember.inference_mode(False):
        assert _records()

    @ember.inference_mode()
    def f():
        return _records()

    assert f() is False


def test_mode_restored_after_exception():
    with pytest.raises(ValueError), ember.no_grad():
        raise ValueError
    assert ember.is_grad_enabled()


def test_nested_reuse_of_one_object():
    ng = ember.no_grad()
    with ng:
        with ng:
            assert not _records()
        assert not _records()
    assert _records()


def test_grad_mode_is_per_thread():
    seen = []
    with ember.no_grad():
        t = threading.Thread(target=lambda: seen.append(_records()))
        t.start()
        t.join()
    assert seen == [True]


def test_no_grad_results_are_leaves():
    x = ember.ones(2, requires_grad=True)
    with ember.no_grad():
        y = x * 2
    assert y.is_leaf and y.grad_fn is None and not y.requires_grad
