"""Metrics against scikit-learn and NumPy."""

import numpy as np
import pytest

import ember
from ember.train import F1Score, accuracy, error_rate, mae, mse, rmse, top_k_accuracy
from ember.train.metrics import compute_metrics, metric_name


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    pred = rng.standard_normal((50, 4)).astype(np.float32)
    target = rng.integers(0, 4, 50)
    return pred, target


def test_classification_metrics(scores):
    pred, target = scores
    p, t = ember.from_numpy(pred), ember.from_numpy(target)
    acc = float(np.mean(pred.argmax(1) == target))
    assert float(accuracy(p, t)) == pytest.approx(acc)
    assert float(error_rate(p, t)) == pytest.approx(1 - acc)
    top2 = np.argsort(-pred, 1)[:, :2]
    assert float(top_k_accuracy(p, t, k=2)) == pytest.approx(np.mean((top2 == target[:, None]).any(1)))


@pytest.mark.parametrize("average", ["macro", "micro", "weighted"])
def test_f1_matches_sklearn(scores, average):
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    pred, target = scores
    expected = sklearn_metrics.f1_score(target, pred.argmax(1), average=average)
    got = F1Score(average=average)(ember.from_numpy(pred), ember.from_numpy(target))
    assert got == pytest.approx(expected)


def test_f1_binary():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    target = np.array([0, 1, 1, 0, 1, 1])
    pred = np.eye(2, dtype=np.float32)[[0, 1, 0, 1, 1, 1]]
    got = F1Score(average="binary")(ember.from_numpy(pred), ember.from_numpy(target))
    assert got == pytest.approx(sklearn_metrics.f1_score(target, pred.argmax(1)))


def test_regression_metrics():
    a = np.array([1.0, 2.0, 4.0], np.float32)
    b = np.array([1.5, 2.0, 3.0], np.float32)
    pa, pb = ember.from_numpy(a), ember.from_numpy(b)
    assert float(mse(pa, pb)) == pytest.approx(np.mean((a - b) ** 2))
    assert float(mae(pa, pb)) == pytest.approx(np.mean(np.abs(a - b)))
    assert float(rmse(pa, pb)) == pytest.approx(np.sqrt(np.mean((a - b) ** 2)))


def test_any_function_is_a_metric_named_by_its_name():
    def max_score(pred, target):
        return pred.max()

    values = compute_metrics(
        [max_score, F1Score("weighted"), accuracy], ember.tensor([[0.2, 0.8]]), ember.tensor([1])
    )
    assert values == {"max_score": pytest.approx(0.8), "f1_weighted": 1.0, "accuracy": 1.0}
    assert metric_name(lambda p, t: p) == "<lambda>"
