"""ember's API coverage against PyTorch (see docs/api-coverage.md and tools/api_audit.py).

Without PyTorch: every name the committed snapshot records as present still exists in ember
and accepts the keywords recorded as accepted. With PyTorch: the audit reruns in-process, its
coverage never falls below the snapshot's, and the issue's targets hold.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

import ember
from tests.helpers import torch_or_skip

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = json.loads((ROOT / "tests" / "api_coverage_snapshot.json").read_text())


def _load_audit():
    tools = str(ROOT / "tools")
    if tools not in sys.path:
        sys.path.insert(0, tools)
    spec = importlib.util.spec_from_file_location("api_audit", ROOT / "tools" / "api_audit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


audit = _load_audit()


@pytest.mark.parametrize("label", sorted(SNAPSHOT["namespaces"]))
def test_snapshot_names_and_keywords_still_present(label):
    entry = SNAPSHOT["namespaces"][label]
    lost, refused = [], []
    for name, keywords in entry["present"].items():
        ours = audit.ember_object(entry["ember"], name, entry["kind"])
        if ours is audit.MISSING:
            lost.append(name)
            continue
        refused += [f"{name}({k}=)" for k in keywords if not audit.keyword_accepted(ours, k)]
    assert not lost, f"{label}: names recorded as present are gone: {lost}"
    assert not refused, f"{label}: keywords recorded as accepted are refused: {refused}"


@pytest.fixture(scope="module")
def report():
    torch_or_skip()
    return audit.run_audit()


def test_audit_is_fast(report):
    assert report["seconds"] < 10, f"the audit took {report['seconds']} s (budget: 10 s)"


def test_coverage_never_falls_below_the_snapshot(report):
    if report["torch_version"] != SNAPSHOT["torch_version"]:
        pytest.skip(
            f"snapshot taken against torch {SNAPSHOT['torch_version']}, running {report['torch_version']}"
        )
    fallen = []
    for label, recorded in SNAPSHOT["namespaces"].items():
        now = audit.figures(report["namespaces"][label])
        if now["coverage"] + 1e-4 < recorded["coverage"]:  # the snapshot keeps 4 digits
            fallen.append(
                f"{label}: {now['coverage']:.1%} now, {recorded['coverage']:.1%} in the "
                f"snapshot (missing: {report['namespaces'][label]['missing'][:10]})"
            )
    assert not fallen, "coverage fell:\n" + "\n".join(fallen)


def test_coverage_targets(report):
    failures = audit.target_failures(report)
    assert not failures, "targets missed:\n" + "\n".join(failures)


# -- the audit's own parts, without PyTorch ---------------------------------------------------
def test_docstring_signatures_give_parameter_names():
    doc = (
        "add(input, other, *, alpha=1, out=None) -> Tensor\n\nAdds.\n\n"
        ".. function:: add(input, other, *, dtype=None) -> Tensor\n"
    )
    assert audit._doc_parameters(doc, "add") == ["input", "other", "alpha", "out", "dtype"]
    assert audit._doc_parameters("view(*shape) -> Tensor", "view") == []
    assert audit._doc_parameters("no signature here", "view") is None


def test_scope_rules_give_reasons_and_keep_device_probes_in_scope():
    from api_audit_scope import out_of_scope_reason

    assert "quantization" in out_of_scope_reason("torch", "quantize_per_tensor")
    assert "named tensors" in out_of_scope_reason("torch.Tensor", "refine_names")
    assert "symbolic" in out_of_scope_reason("torch", "sym_int")
    assert out_of_scope_reason("torch.Tensor", "is_xpu") is None
    assert out_of_scope_reason("torch", "add") is None
    assert out_of_scope_reason("torch.linalg", "solve") is None  # alive there, removed from torch


def test_keyword_acceptance_reads_signatures_and_kwargs():
    def strict(input, *, dim=0):
        return input

    def forwards(input, **kwargs):
        return input

    assert audit.keyword_accepted(strict, "dim") and not audit.keyword_accepted(strict, "dims")
    assert audit.keyword_accepted(forwards, "anything")
    assert audit.keyword_accepted(ember.add, "out") and audit.keyword_accepted(ember.flip, "dims")


def test_figures_and_target_report_name_the_namespace_and_the_shortfall():
    entry = {
        "present": {"a": {"accepted": ["x"]}, "b": {"accepted": [], "missing": ["y"]}, "q": {}},
        "missing": ["c", "d"],
        "excluded": {"q": "quantization", "z": "quantization"},
    }
    f = audit.figures(entry)
    assert (f["total"], f["in_scope"], f["in_scope_present"]) == (6, 4, 2)
    assert f["keyword_gaps"] == {"b": ["y"]}
    report = {
        "namespaces": {
            label: entry if label == "torch.nn" else {"present": {}, "missing": [], "excluded": {}}
            for label in audit.TARGETS
        }
    }
    lines = audit.target_failures(report)
    assert any(line.startswith("torch.nn: 50.0%") and "2 more names" in line for line in lines)
    assert any("b(y)" in line for line in lines)
