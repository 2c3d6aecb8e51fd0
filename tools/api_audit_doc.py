"""Render the API audit as ``docs/api-coverage.md``."""

from __future__ import annotations

from collections import defaultdict

HEADER = """# API coverage against PyTorch

Regenerate this page and the snapshot the tests read with one command (PyTorch must be
installed; it is the reference, never an ember dependency):

```
PYTHONPATH=$PWD python tools/api_audit.py --write
```

`tools/api_audit.py` walks PyTorch {version}'s public API, namespace by namespace, and looks up
each name in ember. For every callable it compares parameter names: a keyword PyTorch accepts
(from `inspect.signature`, or for C builtins from PyTorch's operator schemas, the names its
argument parser accepts, with `self` spelled `input` for free functions) that ember does not
accept is a *keyword gap*. Aliases count as keywords of their own: `flip(dims=...)`,
`add(input=..., other=...)`, `out=`, `keepdim=` must each be accepted by name. A callable whose
torch signature cannot be told is marked "signature unknown".

Names left out on purpose are listed at the end with their reason; they do not count against
the targets. **Coverage** below is measured on in-scope names (the targets are measured there);
**raw** counts every public name. The tests (`tests/test_api_coverage.py`) check that no name
or keyword recorded as present in `tests/api_coverage_snapshot.json` disappears, and, where
PyTorch is installed, that coverage never falls below the snapshot and that the targets hold:
at least 95% of `torch.nn`, `torch.nn.functional`, `torch.optim`, `torch.utils.data` and
`torch.Tensor`, at least 85% of `torch`, every keyword of a covered callable accepted.
"""


def render_doc(report: dict, figures, table, targets: dict) -> str:
    parts = [HEADER.format(version=report["torch_version"]), "## Coverage per namespace\n", table(report), ""]
    parts += _missing_section(report, figures)
    parts += _keyword_section(report, figures)
    parts += _excluded_section(report)
    return "\n".join(parts) + "\n"


def _names(names) -> str:
    return ", ".join(f"`{n}`" for n in names) if names else "none"


def _missing_section(report, figures) -> list:
    lines = ["## Missing in-scope names\n"]
    for label, entry in report["namespaces"].items():
        lines.append(f"- **`{label}`** ({len(entry['missing'])}): {_names(entry['missing'])}")
    return lines + [""]


def _keyword_section(report, figures) -> list:
    lines = ["## Keyword gaps and unknown signatures\n"]
    for label, entry in report["namespaces"].items():
        f = figures(entry)
        gaps = [f"`{n}` ({', '.join(k)})" for n, k in f["keyword_gaps"].items()]
        if gaps:
            lines.append(f"- **`{label}`** lacks keywords: " + "; ".join(gaps))
        if f["unknown_signatures"]:
            lines.append(f"- **`{label}`** signature unknown: {_names(f['unknown_signatures'])}")
    return lines + [""]


def _excluded_section(report) -> list:
    lines = ["## Left out on purpose\n"]
    for label, entry in report["namespaces"].items():
        by_reason = defaultdict(list)
        for name, reason in sorted(entry["excluded"].items()):
            by_reason[reason].append(name + (" (present)" if name in entry["present"] else ""))
        if not by_reason:
            continue
        lines.append(f"### `{label}`\n")
        for reason, names in sorted(by_reason.items()):
            lines.append(f"- {reason}: {_names(names)}")
        lines.append("")
    return lines
