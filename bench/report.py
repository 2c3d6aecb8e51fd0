"""Tables for the benchmark: summaries of child runs, Markdown, and BENCHMARKS.md sections.

A section of BENCHMARKS.md lies between ``<!-- bench:KEY -->`` and ``<!-- /bench:KEY -->``;
``update_sections`` replaces what is between the markers and leaves the rest of the file (the
hand-written analysis) alone.
"""

from __future__ import annotations

import os
import re
import statistics

MIB = 2**20


# ---------------------------------------------------------------- summaries


def summarize(results: dict, clock: str = "step_s") -> dict:
    """Per workload and library: medians over the repeats that ran, plus errors and spread.

    ``clock`` names the per-run time used: ``step_s`` (wall clock) or ``cpu_s`` (CPU time).
    """
    summary = {}
    for name, per_library in results.items():
        summary[name] = {}
        for library, runs in per_library.items():
            ok = [r for r in runs if "error" not in r]
            errors = [r["error"] for r in runs if "error" in r]
            if not ok:
                summary[name][library] = {"errors": errors}
                continue
            times = [r[clock] for r in ok]
            summary[name][library] = {
                "step_s": statistics.median(times),
                "best_s": min(times),
                "worst_s": max(times),
                "peak_rss": statistics.median(r["peak_rss"] for r in ok),
                "train_rss": statistics.median(r["train_rss"] for r in ok),
                "flops": ok[0]["flops"],
                "first_loss": ok[0]["first_loss"],
                "threads": ok[0]["threads"],
                "version": ok[0]["version"],
                "runs": len(ok),
                "errors": errors,
            }
    return summary


def _time_cell(s: dict | None) -> str:
    if not s or "step_s" not in s:
        return "failed" if s else "-"
    return f"{s['step_s'] * 1e3:.1f} ({s['best_s'] * 1e3:.1f}-{s['worst_s'] * 1e3:.1f})"


def _memory_cell(s: dict | None) -> str:
    if not s or "peak_rss" not in s:
        return "-"
    return f"{s['peak_rss'] / MIB:.0f} ({s['train_rss'] / MIB:.0f})"


def _flops_cell(s: dict | None, peak: float) -> str:
    if not s or "step_s" not in s:
        return "-"
    rate = s["flops"] / s["step_s"] / 1e9
    return f"{rate:.1f} ({rate / peak * 100:.0f}%)"


def _ratio(a: dict | None, b: dict | None, key: str) -> str:
    if not a or not b or key not in a or key not in b or not b[key]:
        return "-"
    return f"{a[key] / b[key]:.2f}"


def _loss_check(e: dict | None, t: dict | None) -> str:
    if not e or not t or "first_loss" not in e or "first_loss" not in t:
        return "-"
    a, b = e["first_loss"], t["first_loss"]
    return "same" if abs(a - b) <= 1e-3 * max(1.0, abs(b)) else f"DIFFER {a:.5g} vs {b:.5g}"


def workload_table(summary: dict, peak: float, repeats: int, clock: str = "wall") -> str:
    """The Markdown table: step time, ratio, peak memory and achieved FLOP rate per workload."""
    head = (
        "| workload | GFLOP/step | ember ms/step | torch ms/step | ember/torch | "
        "ember peak MiB (train) | torch peak MiB (train) | memory ember/torch (peak / train) | "
        "ember GFLOP/s (% of peak) | torch GFLOP/s (% of peak) | first loss |"
    )
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, per in summary.items():
        e, t = per.get("ember"), per.get("torch")
        flops = next((s["flops"] for s in (e, t) if s and "flops" in s), None)
        cells = [name, f"{flops / 1e9:.2f}" if flops else "-"]
        cells += [
            _time_cell(e),
            _time_cell(t),
            _ratio(e, t, "step_s"),
            _memory_cell(e),
            _memory_cell(t),
            f"{_ratio(e, t, 'peak_rss')} / {_ratio(e, t, 'train_rss')}",
            _flops_cell(e, peak),
            _flops_cell(t, peak),
            _loss_check(e, t),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    notes = [
        "",
        (
            f"Step time ({'wall clock' if clock == 'wall' else 'CPU time of the process'}): median "
            f"over {repeats} fresh-process runs of each run's median step (in brackets: the fastest and "
            "the slowest of those runs). Peak: the process's peak "
            "resident set size, library import included; (train): peak minus the RSS right after the "
            f"import. Achieved rate: analytic matrix-product FLOPs / step time; peak = {peak:.1f} "
            "GFLOP/s (NumPy float32 2048x2048 matmul). First loss: ember's and PyTorch's loss on the "
            "first step, which must agree (same seeded weights and data)."
        ),
    ]
    errors = [
        (n, lib, err) for n, per in summary.items() for lib, s in per.items() for err in s.get("errors", [])
    ]
    notes += [f"- {n} with {lib} failed: `{err}`" for n, lib, err in dict.fromkeys(errors)]
    return "\n".join(rows + notes)


# ---------------------------------------------------------------- environment


def _blas_lines(threadpools) -> list[str]:
    if threadpools is None:
        return ["threadpoolctl not installed: thread pools unknown"]
    return [
        f"{p.get('user_api')}: {p.get('internal_api')} {p.get('version')} "
        f"({p.get('architecture', '?')}{_forced_kernels(p)}, {p.get('threading_layer', '?')}), "
        f"{p.get('num_threads')} threads, {os.path.basename(p.get('filepath', ''))}"
        for p in threadpools
    ] or ["no native thread pools found"]


def _forced_kernels(pool: dict) -> str:
    """A note when the environment picks OpenBLAS's kernels instead of its CPU detection: GEMM
    speed, and so every ratio of a GEMM-bound workload, depends on it (BENCHMARKS.md, "OpenBLAS
    kernels")."""
    forced = os.environ.get("OPENBLAS_CORETYPE")
    if pool.get("internal_api") != "openblas" or not forced:
        return ""
    return f" kernels, forced by OPENBLAS_CORETYPE={forced}"


def environment_text(env: dict) -> str:
    lines = [
        (
            f"# ember vs PyTorch, {env['date']}: {env['cpu']}, {env['cores']} cores, "
            f"Python {env['python']}, NumPy {env['numpy']}, load average {env['load']}"
        )
    ]
    lines += ["# " + line for line in _blas_lines(env["threadpools"])]
    return "\n".join(lines)


def environment_markdown(env: dict, peak: float, summary: dict | None = None) -> str:
    lines = [
        f"- date: {env['date']}",
        f"- CPU: {env['cpu']}, {env['cores']} cores (`os.cpu_count()`)",
        f"- Python {env['python']}, NumPy {env['numpy']}",
    ]
    lines += [f"- NumPy thread pool: {line}" for line in _blas_lines(env["threadpools"])]
    for library, s in _library_info(summary).items():
        lines.append(f"- {library} {s['version']}: {s['threads']}")
    lines += [
        f"- threads: {env.get('threads', '?')}",
        (
            f"- float32 matmul peak (NumPy 2048x2048, best of 7, {env.get('clock', 'wall')} clock): "
            f"{peak:.1f} GFLOP/s"
        ),
        f"- load average (1, 5, 15 min) at start: {env['load']}; at end: {env.get('load_after', '?')}",
        "- command:",
        "",
        "```",
        env["command"],
        "```",
    ]
    return "\n".join(lines)


def _library_info(summary: dict | None) -> dict:
    info = {}
    for per in (summary or {}).values():
        for library, s in per.items():
            if "version" in s and library not in info:
                info[library] = s
    return info


def extra_markdown(module: str, arguments: list, text: str, date: str) -> str:
    command = " ".join(["python -m", module, *arguments])
    return f"Measured {date} with `{command}` (run by `python -m bench --extras ...`):\n\n```\n{text}\n```"


# ---------------------------------------------------------------- profiles

AREAS = (  # (label, test on the function's file and name), first match wins
    ("autograd engine (backward walk)", lambda f, n: "/ember/autograd/engine.py" in f),
    ("Function.apply, graph nodes", lambda f, n: "/ember/autograd/" in f),
    ("op kernels (NumPy ufuncs and @ run inline here)", lambda f, n: "/ember/ops/" in f),
    (
        "Tensor methods, dispatch, promotion",
        lambda f, n: (
            "/ember/" in f and ("/ember/tensor" in f or "/ember/methods/" in f or "/ember/dtypes" in f)
        ),
    ),
    ("nn modules and functional", lambda f, n: "/ember/nn/" in f),
    ("optimizer", lambda f, n: "/ember/optim/" in f),
    ("other ember", lambda f, n: "/ember/" in f),
    ("NumPy C functions and methods", lambda f, n: f == "~" and "numpy" in n),
    ("other built-ins (isinstance, getattr, ...)", lambda f, n: f == "~"),
    ("NumPy Python wrappers", lambda f, n: "/numpy/" in f),
    ("benchmark harness", lambda f, n: "/bench/" in f),
    ("other Python (stdlib, ...)", lambda f, n: True),
)


def area_of(filename: str, funcname: str) -> str:
    filename = filename.replace(os.sep, "/")
    return next(label for label, test in AREAS if test(filename, funcname))


def _where(filename: str, line: int, funcname: str) -> str:
    if filename == "~":
        return funcname
    filename = filename.replace(os.sep, "/")
    for anchor in ("/ember/", "/numpy/", "/bench/"):
        if anchor in filename:
            filename = anchor[1:] + filename.split(anchor, 1)[1]
            break
    else:
        filename = os.path.basename(filename)
    return f"{filename}:{line}({funcname})"


def profile_text(name: str, stats, steps: int, elapsed: float, top: int, clock: str = "wall") -> str:
    """Own time by area, then the ``top`` functions by own time, per training step."""
    entries = stats.stats  # (file, line, name) -> (primitive calls, calls, own, cumulative, callers)
    total = sum(v[2] for v in entries.values()) or 1e-12
    by_area: dict[str, float] = {}
    for (filename, _, funcname), (_, _, own, _, _) in entries.items():
        area = area_of(filename, funcname)
        by_area[area] = by_area.get(area, 0.0) + own
    lines = [
        (
            f"ember {name}: {steps} steps under cProfile ({clock} clock), {elapsed / steps * 1e3:.1f} "
            "ms/step (profiling slows Python-heavy code; shares are of the profiled own time)"
        ),
        "",
        "own time by area:",
    ]
    for area, own in sorted(by_area.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {own / total * 100:5.1f}%  {own / steps * 1e3:8.2f} ms/step  {area}")
    lines += [
        "",
        f"top {top} functions by own time:",
        f"  {'own %':>6s} {'own ms':>8s} {'cum ms':>8s} {'calls':>7s}  function (per step)",
    ]
    ranked = sorted(entries.items(), key=lambda kv: -kv[1][2])[:top]
    for (filename, line, funcname), (_, calls, own, cumulative, _) in ranked:
        lines.append(
            f"  {own / total * 100:5.1f}% {own / steps * 1e3:8.2f} {cumulative / steps * 1e3:8.2f} "
            f"{calls / steps:7.0f}  {_where(filename, line, funcname)}"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- BENCHMARKS.md


def _markers(key: str) -> tuple[str, str]:
    return f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"


def replace_section(text: str, key: str, body: str) -> str:
    """``text`` with the section ``key`` holding ``body``; appended at the end if it is missing."""
    start, end = _markers(key)
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text, count=1)
    return text.rstrip() + f"\n\n## {key}\n\n{block}\n"


def update_sections(path: str, sections: dict) -> None:
    """Replace (or append) each section of the Markdown file at ``path``; atomic write."""
    text = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
    else:
        text = "# Benchmarks\n"
    for key, body in sections.items():
        text = replace_section(text, key, body)
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(temporary, path)
