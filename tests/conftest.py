"""Test defaults (seeds, dtype) and the closing line on the tests that compare with PyTorch."""

import numpy as np
import pytest

import ember
from tests import helpers


@pytest.fixture(autouse=True)
def _seed_and_defaults():
    ember.manual_seed(0)
    np.random.seed(0)
    ember.set_default_dtype(ember.float32)
    yield
    ember.set_default_dtype(ember.float32)
    ember.set_grad_enabled(True)
    ember.set_printoptions(profile="default")


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_torch: compares with PyTorch (skips without it)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.when == "call" and (
        item.nodeid in helpers.NEEDS_TORCH or item.get_closest_marker("needs_torch") is not None
    ):
        report.user_properties.append(("needs_torch", True))
    return report


def pytest_terminal_summary(terminalreporter):
    """Say how many tests compare with PyTorch and how to run them where they were skipped."""
    stats = terminalreporter.stats
    done = [r for key in ("passed", "failed") for r in stats.get(key, ())]
    ran = sum(1 for r in done if ("needs_torch", True) in getattr(r, "user_properties", ()))
    skipped = sum(
        1 for r in stats.get("skipped", ()) if helpers.SKIP_REASON in str(getattr(r, "longrepr", ""))
    )
    if skipped:
        terminalreporter.write_line(
            f"ember: {skipped} tests (or test modules) compare with PyTorch and were skipped; "
            f"to run them: {helpers.INSTALL_TORCH} && python -m pytest -n 2 tests"
        )
    elif ran:
        terminalreporter.write_line(
            f"ember: {ran} of the {len(done)} tests compared ember with PyTorch (the test "
            "oracle); without PyTorch only those skip"
        )
