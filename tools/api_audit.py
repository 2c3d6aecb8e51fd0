"""Audit ember's public API against PyTorch's: which names exist, which keywords are accepted.

Usage::

    PYTHONPATH=$PWD python tools/api_audit.py            # print the coverage table
    PYTHONPATH=$PWD python tools/api_audit.py --write    # also regenerate the doc and snapshot

``--write`` regenerates ``docs/api-coverage.md`` and ``tests/api_coverage_snapshot.json``.
PyTorch is needed to run the audit (it is the reference); ember never imports it. The
ember-side checks (``ember_object``, ``keyword_accepted``) work without PyTorch, so the tests can
replay the snapshot where PyTorch is absent.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_audit_scope import out_of_scope_reason

ROOT = Path(__file__).resolve().parent.parent
DOC_PATH = ROOT / "docs" / "api-coverage.md"
SNAPSHOT_PATH = ROOT / "tests" / "api_coverage_snapshot.json"

# (label, torch object path, ember object path, kind): kind "module" walks a module's public
# names, "class" a class's public attributes, "submodules" a package's public submodules.
NAMESPACES = [
    ("torch", "torch", "ember", "module"),
    ("torch (submodules)", "torch", "ember", "submodules"),
    ("torch.Tensor", "torch.Tensor", "ember.Tensor", "class"),
    ("torch.nn", "torch.nn", "ember.nn", "module"),
    ("torch.nn.functional", "torch.nn.functional", "ember.nn.functional", "module"),
    ("torch.nn.init", "torch.nn.init", "ember.nn.init", "module"),
    ("torch.nn.utils", "torch.nn.utils", "ember.nn.utils", "module"),
    ("torch.nn.utils.rnn", "torch.nn.utils.rnn", "ember.nn.utils.rnn", "module"),
    ("torch.nn.utils.parametrize", "torch.nn.utils.parametrize", "ember.nn.utils.parametrize", "module"),
    ("torch.optim", "torch.optim", "ember.optim", "module"),
    ("torch.optim.lr_scheduler", "torch.optim.lr_scheduler", "ember.optim.lr_scheduler", "module"),
    ("torch.utils.data", "torch.utils.data", "ember.utils.data", "module"),
    ("torch.autograd", "torch.autograd", "ember.autograd", "module"),
    ("torch.linalg", "torch.linalg", "ember.linalg", "module"),
    ("torch.fft", "torch.fft", "ember.fft", "module"),
    ("torch.special", "torch.special", "ember.special", "module"),
    ("torch.distributions", "torch.distributions", "ember.distributions", "module"),
    ("torch.cuda", "torch.cuda", "ember.cuda", "module"),
    ("torch.backends", "torch.backends", "ember.backends", "submodules"),
    ("torch.backends.cudnn", "torch.backends.cudnn", "ember.backends.cudnn", "module"),
    ("torch.backends.cuda", "torch.backends.cuda", "ember.backends.cuda", "module"),
    ("torch.backends.mps", "torch.backends.mps", "ember.backends.mps", "module"),
]

# the targets, on in-scope names: namespace -> least fraction present
TARGETS = {
    "torch.nn": 0.95,
    "torch.nn.functional": 0.95,
    "torch.optim": 0.95,
    "torch.utils.data": 0.95,
    "torch.Tensor": 0.95,
    "torch": 0.85,
}

_SKIPPED_PARAMS = {"self", "cls"}
_TYPING_MODULES = ("typing", "typing_extensions", "collections", "abc", "enum", "dataclasses")


# -- resolving objects (works without torch) ------------------------------------------------
def _foreign_module(obj) -> bool:
    """A module of ``ember`` loaded from outside this checkout (an editable install of another
    worktree can supply submodules this one lacks): it must not count for this tree."""
    if not isinstance(obj, types.ModuleType) or not obj.__name__.startswith("ember"):
        return False
    origin = getattr(obj, "__file__", None)
    return origin is not None and not Path(origin).resolve().is_relative_to(ROOT)


def resolve(path: str):
    """The object at a dotted path (``ember.nn.functional``, ``ember.Tensor``), or None."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
            for attr in parts[cut:]:
                obj = getattr(obj, attr, None)
                if obj is None:
                    return None
        except ImportError:
            continue
        return None if _foreign_module(obj) else obj
    return None


MISSING = object()  # what ember_object answers for an absent name (None is a value: newaxis)


def ember_object(ember_path: str, name: str, kind: str):
    """ember's counterpart of a torch name, or MISSING when ember lacks it."""
    space = resolve(ember_path)
    if space is None:
        return MISSING
    if kind == "submodules":
        found = resolve(f"{ember_path}.{name}")
        return MISSING if found is None else found
    try:
        found = getattr(space, name, MISSING)
    except (ImportError, RuntimeError):  # a probe that fails counts as missing
        return MISSING
    return MISSING if _foreign_module(found) else found


# -- signatures --------------------------------------------------------------------------------
def _callable_target(obj):
    """The function whose parameters describe how ``obj`` is called (``__init__`` for classes)."""
    if isinstance(obj, type):
        return obj.__init__ if "__init__" in vars(obj) or obj.__init__ is not object.__init__ else None
    if isinstance(obj, property):
        return None
    return obj


def ember_parameters(obj):
    """(keyword-able parameter names, takes **kwargs) of an ember callable, or None if unknown."""
    target = _callable_target(obj)
    if target is None:
        return None
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    names, var_kw = set(), False
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            names.add(p.name)
        elif p.kind is p.VAR_KEYWORD:
            var_kw = True
    return names, var_kw


def keyword_accepted(obj, keyword: str) -> bool:
    """Whether ember's ``obj`` can be called with ``keyword=...``."""
    params = ember_parameters(obj)
    if params is None:
        return True  # nothing to check against: the audit recorded it as unknown
    names, var_kw = params
    return keyword in names or var_kw


def _split_top_level(text: str) -> list:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _doc_signatures(doc: str, name: str) -> list:
    """The parameter lists of each ``name(...)`` signature line in a docstring."""
    found = []
    for match in re.finditer(rf"(?:^|\s|::\s*|\.)({re.escape(name)})\(", doc):
        start = match.end()
        depth, end = 1, start
        while end < len(doc) and depth:
            depth += {"(": 1, ")": -1}.get(doc[end], 0)
            end += 1
        line_end = doc.find("\n", end)
        tail = doc[end : line_end if line_end >= 0 else len(doc)]
        if depth == 0 and "->" in tail[:6]:
            found.append(doc[start : end - 1])
    return found


def _doc_parameters(doc: str, name: str):
    params = []
    signatures = _doc_signatures(doc, name)
    if not signatures:
        return None
    for text in signatures:
        for piece in _split_top_level(text.replace("\n", " ")):
            if piece.startswith("*"):
                continue
            param = re.split(r"[=:]", piece)[0].strip()
            if param.isidentifier() and param not in params:
                params.append(param)
    return params


_SCHEMA_PREFIX = {"torch.linalg": "linalg_", "torch.special": "special_", "torch.fft": "fft_"}
_PARSER_ADDITIONS = {"requires_grad", "memory_format", "generator", "pin_memory", "layout"}
# named-tensor overloads, TorchScript-internal flags and low-precision matmul outputs (out of scope)
_IGNORED_KEYWORDS = {"names", "implicit", "out_dtype"}
_TORCHSCRIPT_ARGS = {"a", "b", "l", "t", "s", "list", "idx", "el"}
_schemas: dict = {}


def _schema_table() -> dict:
    """aten operator name -> list of overloads, each a list of (name, kwarg_only, writes)."""
    if not _schemas:
        import torch

        for schema in torch._C._jit_get_all_schemas():
            space, _, op = schema.name.partition("::")
            if space == "aten" and schema.overload_name != "functional":  # not bound in Python
                args = [
                    (a.name, a.kwarg_only, bool(a.alias_info and a.alias_info.is_write), str(a.type))
                    for a in schema.arguments
                ]
                if _python_visible(args):
                    _schemas.setdefault(op, []).append((schema.overload_name, args))
    return _schemas


def _python_visible(args) -> bool:
    """False for TorchScript's own overloads on Python numbers and lists (``add.int(a, b)``)."""
    has_tensor = any("Tensor" in type_ for _, _, _, type_ in args)
    if not has_tensor and not any(name in ("size", "dtype") for name, *_ in args):
        return False
    if any(name == "self" and type_.startswith("List[") for name, _, _, type_ in args):
        return False  # list methods (``sort.Tensor(Tensor[] self)``)
    return not any(name in _TORCHSCRIPT_ARGS for name, *_ in args)


def _schema_parameters(op: str, is_method: bool, doc_star: bool):
    overloads = _schema_table().get(op)
    if not overloads:
        return None
    params = []
    for _, args in overloads:
        positional = [a for a in args if a[0] != "self" and not a[1]]
        for name, kwarg_only, writes, type_ in (a for a in args if a[0] != "self"):
            if writes and kwarg_only:
                name = "out"  # PyTorch's Python binding names every out= overload's outputs `out`
                if is_method:
                    continue
            if doc_star and positional and name == positional[0][0] and type_.startswith("List["):
                continue  # documented as *size: passed positionally
            if name not in params and name not in _IGNORED_KEYWORDS:
                params.append(name)
    # ``self`` is ``input`` in free functions; an out= overload alone (normal.out) does not count
    if not is_method and any(
        a[0] == "self" for name, args in overloads if not name.endswith("out") for a in args
    ):
        params.insert(0, "input")
    return params


def torch_parameters(obj, name: str, label: str = "torch"):
    """The keyword-able parameter names of a torch callable, or None when they can't be told.

    Python functions and classes: ``inspect.signature``. Builtins: PyTorch's operator schemas
    (the names its argument parser accepts; ``self`` is ``input`` for functions), plus the
    Python-only keywords the docstring shows; else the docstring's signature lines.
    """
    target = _callable_target(obj)
    if target is None:
        return None
    try:
        sig = inspect.signature(target)
        params = [
            p.name for p in sig.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        return [p for p in params if p not in _SKIPPED_PARAMS]
    except (TypeError, ValueError):
        pass
    doc = inspect.getdoc(obj) or ""
    doc_params = _doc_parameters(doc, name)
    doc_star = bool(re.search(rf"{re.escape(name)}\(\*\w", doc))
    is_method = label == "torch.Tensor"
    params = _schema_parameters(_SCHEMA_PREFIX.get(label, "") + name, is_method, doc_star)
    if params is not None:
        extra = [p for p in doc_params or () if p in _PARSER_ADDITIONS and p not in params]
        return [p for p in params + extra if p not in _SKIPPED_PARAMS]
    return None if doc_params is None else [p for p in doc_params if p not in _SKIPPED_PARAMS]


# -- walking torch --------------------------------------------------------------------------
def _defined_under(obj, torch_path: str) -> bool:
    """Whether ``obj`` belongs to the namespace (not a helper it imported from elsewhere)."""
    module = getattr(obj, "__module__", None)
    if module is None:
        return True  # builtins bound from C (torch.add, F.conv2d)
    if torch_path == "torch":
        return module.startswith("torch")
    # C bindings report torch or torch._C.* as their module (F.conv2d, torch.linalg.det)
    return module in (torch_path, "torch") or module.startswith((torch_path + ".", "torch._C"))


def _module_public_names(torch_obj) -> set:
    names = {n for n in dir(torch_obj) if not n.startswith("_")}
    inner = getattr(torch_obj, "m", None)  # torch.backends.cudnn wraps the module in `m`
    if isinstance(inner, types.ModuleType) and type(torch_obj) is not types.ModuleType:
        names |= {n for n in dir(type(torch_obj)) if not n.startswith("_")}
        names |= {n for n in dir(inner) if not n.startswith("_")}
        names.discard("m")
    return names


def torch_names(torch_obj, torch_path: str, kind: str) -> list:
    """The public names of a torch namespace."""
    if kind == "class":
        return sorted(n for n in dir(torch_obj) if not n.startswith("_"))
    if kind == "submodules":
        return sorted(
            n
            for n in dir(torch_obj)
            if not n.startswith("_")
            and isinstance(getattr(torch_obj, n, None), types.ModuleType)
            and getattr(torch_obj, n).__name__ == f"{torch_path}.{n}"
        )
    listed = set(getattr(torch_obj, "__all__", ()))
    names = set()
    for n in _module_public_names(torch_obj) | listed:
        obj = getattr(torch_obj, n, None)
        if isinstance(obj, types.ModuleType):
            continue  # submodules have rows of their own
        if (
            n in listed
            or (callable(obj) and _defined_under(obj, torch_path))
            or (not callable(obj) and not listed and type(torch_obj) is not types.ModuleType)
        ):
            names.add(n)
    return sorted(names)


def audit_namespace(label, torch_path, ember_path, kind) -> dict:
    torch_obj = resolve(torch_path)
    entry = {
        "torch": torch_path,
        "ember": ember_path,
        "kind": kind,
        "present": {},
        "missing": [],
        "excluded": {},
    }
    if torch_obj is None:
        return entry
    for name in torch_names(torch_obj, torch_path, kind):
        reason = out_of_scope_reason(label, name)
        if reason:
            entry["excluded"][name] = reason
        ours = ember_object(ember_path, name, kind)
        if ours is MISSING:
            if not reason:
                entry["missing"].append(name)
            continue
        theirs = getattr(torch_obj, name, None)
        entry["present"][name] = _keyword_record(theirs, ours, name, kind, label)
    return entry


def _keyword_record(theirs, ours, name: str, kind: str, label: str) -> dict:
    if kind == "submodules" or not callable(theirs) or isinstance(theirs, types.ModuleType):
        return {}
    params = torch_parameters(theirs, name, label)
    if params is None:
        return {"signature": "unknown"}
    accepted = [p for p in params if keyword_accepted(ours, p)]
    record = {"accepted": accepted}
    missing = [p for p in params if p not in accepted]
    if missing:
        record["missing"] = missing
    return record


def run_audit() -> dict:
    import torch

    started = time.perf_counter()
    spaces = {label: audit_namespace(label, t, e, k) for label, t, e, k in NAMESPACES}
    return {
        "torch_version": torch.__version__.split("+")[0],
        "namespaces": spaces,
        "seconds": round(time.perf_counter() - started, 2),
    }


# -- figures --------------------------------------------------------------------------------
def figures(entry: dict) -> dict:
    """Raw and in-scope coverage, and keyword gaps, of one namespace's audit entry."""
    present, excluded = entry["present"], entry["excluded"]
    total = len(present) + len(entry["missing"]) + len([n for n in excluded if n not in present])
    in_scope_present = len([n for n in present if n not in excluded])
    in_scope = in_scope_present + len(entry["missing"])
    keyword_gaps = {n: r["missing"] for n, r in present.items() if r.get("missing")}
    return {
        "total": total,
        "present": len(present),
        "raw": len(present) / total if total else 1.0,
        "in_scope": in_scope,
        "in_scope_present": in_scope_present,
        "coverage": in_scope_present / in_scope if in_scope else 1.0,
        "keyword_gaps": keyword_gaps,
        "unknown_signatures": sorted(n for n, r in present.items() if r.get("signature")),
    }


def table(report: dict) -> str:
    rows = [
        (
            "| namespace | names | present | raw | in scope | present in scope | coverage | "
            "target | keyword gaps |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, entry in report["namespaces"].items():
        f = figures(entry)
        target = TARGETS.get(label)
        rows.append(
            f"| `{label}` | {f['total']} | {f['present']} | {f['raw']:.1%} | {f['in_scope']} | "
            f"{f['in_scope_present']} | {f['coverage']:.1%} | "
            f"{'' if target is None else format(target, '.0%')} | {len(f['keyword_gaps'])} |"
        )
    return "\n".join(rows)


def target_failures(report: dict) -> list:
    """One line per missed target: which namespace, by how many names or keywords."""
    lines = []
    for label, target in TARGETS.items():
        f = figures(report["namespaces"][label])
        if f["coverage"] < target:
            needed = int(-(-target * f["in_scope"] // 1)) - f["in_scope_present"]
            lines.append(
                f"{label}: {f['coverage']:.1%} of {f['in_scope']} in-scope names present, "
                f"target {target:.0%}: {needed} more names needed"
            )
        if f["keyword_gaps"]:
            sample = ", ".join(f"{n}({', '.join(k)})" for n, k in list(f["keyword_gaps"].items())[:8])
            lines.append(
                f"{label}: {len(f['keyword_gaps'])} covered callables lack torch keywords, e.g. {sample}"
            )
    return lines


def write_outputs(report: dict) -> None:
    from api_audit_doc import render_doc

    SNAPSHOT_PATH.write_text(json.dumps(snapshot(report), indent=1, sort_keys=True) + "\n")
    DOC_PATH.write_text(render_doc(report, figures, table, TARGETS))


def snapshot(report: dict) -> dict:
    out = {"torch_version": report["torch_version"], "namespaces": {}}
    for label, entry in report["namespaces"].items():
        f = figures(entry)
        out["namespaces"][label] = {
            "ember": entry["ember"],
            "kind": entry["kind"],
            "in_scope": f["in_scope"],
            "in_scope_present": f["in_scope_present"],
            "coverage": round(f["coverage"], 4),
            "present": {n: r.get("accepted", []) for n, r in entry["present"].items()},
        }
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="regenerate the doc and snapshot")
    args = parser.parse_args(argv)
    report = run_audit()
    print(table(report))
    for line in target_failures(report):
        print("TARGET MISSED:", line)
    if args.write:
        write_outputs(report)
        print(f"wrote {DOC_PATH.relative_to(ROOT)} and {SNAPSHOT_PATH.relative_to(ROOT)}")
    print(f"audit took {report['seconds']} s against torch {report['torch_version']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
