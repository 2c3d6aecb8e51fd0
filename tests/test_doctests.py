"""Every docstring example in ``ember`` runs, as written (doctest), one test per module."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import ember

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(ember.__path__, "ember.")
    if not info.name.endswith("__main__")
)
_OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=_OPTIONS)
    failures = []
    for test in doctest.DocTestFinder().find(module, name):
        if test.examples:
            result = runner.run(test, out=failures.append)
            assert result.failed == 0, "".join(failures)
