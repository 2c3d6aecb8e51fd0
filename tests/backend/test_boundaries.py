"""The backend is the only code that knows NumPy from CuPy (``ember/backend/``).

* ``ember/ops``, ``ember/nn``, ``ember/optim``: no ``numpy``/``cupy``/``scipy`` imports and no
  ``np.``/``numpy.`` names; arrays are reached through ``ctx.xp``, ``Tensor.xp`` or
  ``ember.backend`` (``xp_of``, ``for_xp(xp).<kernel>``).
* Everywhere outside ``ember/backend/``: no ``cupy``/``cupyx`` at all (imports, names, strings).

Docstrings and comments may mention them. A file that must break a rule goes in ``ALLOWED`` with
the reason; each failure lists every offending line, so a new offender is quick to move.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "ember"
NO_NUMPY_PACKAGES = ("ops", "nn", "optim")
HOST_MODULES = {"numpy", "cupy", "cupyx", "scipy"}
DEVICE_WORDS = ("cupy",)

# (path relative to ember/, rule) -> why the exception is right
ALLOWED: dict[tuple[str, str], str] = {
    ("distributed/nccl.py", "no-cupy"): "the NCCL communicator drives CuPy's NCCL binding "
    "(cupy.cuda.nccl), the engine ember's collectives run on; CuPy is imported lazily there"
}


def _docstring_nodes(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _host_uses(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for each numpy/cupy/scipy import or ``np.``/``numpy.``/``cupy.`` name."""
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            uses += [
                (node.lineno, f"import {a.name}") for a in node.names if a.name.split(".")[0] in HOST_MODULES
            ]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and node.module.split(".")[0] in HOST_MODULES
        ):
            uses.append((node.lineno, f"from {node.module} import ..."))
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("np", "numpy", "cupy", "cp", "cupyx", "scipy")
        ):
            uses.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return uses


def _device_words(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for each identifier, or string naming a CuPy module, outside docstrings."""
    docstrings = _docstring_nodes(tree)
    uses = []
    for node in ast.walk(tree):
        text = None
        if isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute):
            text = node.attr
        elif isinstance(node, ast.alias):
            text = node.name
        elif isinstance(node, ast.ImportFrom):
            text = node.module
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and re.match(r"cupyx?(\.|$)", node.value)
        ):
            text = node.value  # a module name, not prose in a message
        if text and any(w in text.lower() for w in DEVICE_WORDS):
            uses.append((getattr(node, "lineno", 0), repr(text)[:60]))
    return uses


def _files(*packages: str):
    for package in packages:
        yield from sorted((ROOT / package).rglob("*.py"))


def _report(offenders: dict[str, list[tuple[int, str]]], rule: str) -> str:
    lines = [f"{rule} - move these behind ember/backend/ (or allow-list them with a reason):"]
    for path, uses in sorted(offenders.items()):
        lines += [f"  ember/{path}:{line}: {what}" for line, what in sorted(set(uses))]
    return "\n".join(lines)


def _scan(paths, finder, rule: str) -> dict:
    offenders = {}
    for path in paths:
        rel = path.relative_to(ROOT).as_posix()
        if (rel, rule) in ALLOWED:
            continue
        uses = finder(ast.parse(path.read_text(), str(path)))
        if uses:
            offenders[rel] = uses
    return offenders


def test_no_numpy_or_cupy_in_ops_nn_optim():
    offenders = _scan(_files(*NO_NUMPY_PACKAGES), _host_uses, "no-numpy")
    assert not offenders, _report(offenders, "NumPy/CuPy/SciPy used directly in ops/nn/optim")


def test_no_cupy_outside_the_backend():
    paths = [p for p in ROOT.rglob("*.py") if "backend" not in p.relative_to(ROOT).parts[:1]]
    offenders = _scan(paths, _device_words, "no-cupy")
    assert not offenders, _report(offenders, "CuPy named outside ember/backend/")


def test_allow_list_entries_name_existing_files_and_give_reasons():
    for (path, rule), reason in ALLOWED.items():
        assert (ROOT / path).exists(), f"ALLOWED names a missing file: ember/{path}"
        assert rule in ("no-numpy", "no-cupy") and len(reason) > 10, (path, rule, reason)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import numpy as np\nx = np.zeros(3)", {"import numpy", "np.zeros"}),
        ("from cupyx import scatter_add", {"from cupyx import ..."}),
        ('"""mentions numpy."""\nx = xp.zeros(3)  # np.zeros', set()),
    ],
)
def test_the_scanner_finds_what_it_should(source, expected):
    assert {what for _, what in _host_uses(ast.parse(source))} == expected


def test_the_cupy_scanner_ignores_docstrings():
    tree = ast.parse('"""uses cupy."""\nname = "cupy.ndarray"\n')
    assert [what for _, what in _device_words(tree)] == ["'cupy.ndarray'"]
