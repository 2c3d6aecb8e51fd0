"""``python -m bench --device cuda``: training steps on a CUDA GPU, ember beside PyTorch.

    python -m bench --device cuda                          # every workload, every mode
    python -m bench --device cuda --modes fp32 graph --workloads mlp-b32 lenet-b32 --steps 20
    python -m bench --device cuda --json gpu.json --markdown gpu.md --budget 150
    python -m bench --device cuda --profile gpt convnet    # where ember's step time goes
    EMBER_FAKE_CUDA=1 python -m bench --device cuda --quick --no-torch   # the harness, no GPU

Workloads (``bench/gpu_modes.py``, built by ``bench/workloads.py`` at GPU sizes): mlp
784-2048-2048-10 at batch 1024; gpt 6 layers, d 512, 8 heads, context 256, batch 32; lstm
(embedding and hidden 1024, 35 steps, batch 64, vocabulary 10000); convnet and ResNet-20 at
batch 256 on 3x32x32; and mlp (784-512-512-10) and LeNet-5 at batch 32, where launches dominate
(``mlp-b32``, ``lenet-b32``: fp32 and graph modes). Modes: ``fp32``, ``tf32``, ``amp`` (float16
autocast + GradScaler), ``graph`` (the whole step captured in a CUDA graph and replayed).

Each (library, workload) runs in a fresh child process, its modes in the order given (graph last,
so a failed capture cannot spoil the others); the libraries alternate, the order flipping every
workload. Both libraries build the workload from the same seeded weights and data (the modes
of a child share one build while their builder options agree), run the warm-up steps, then
time each step with the device synchronised before and after; the table gives the median step time, ember's over PyTorch's in the same mode and over PyTorch's
eager fp32 step (issue 18's yardstick), the speed-up over the same library's fp32 row, the peak
GPU memory (``cuda.max_memory_allocated`` of each library, reset after the model is on the
device). A mode that fails is a row with its error; nothing is hidden, nothing stops the run.
Without a GPU it says so and exits 0.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench.gpu_modes import GPU_WORKLOADS, MODES  # noqa: E402 - after the path fix above

LIBRARY_NAMES = {"ember": "ember", "torch": "PyTorch"}


# ---------------------------------------------------------------- the child: one library, one workload


def child_main(library: str, name: str, modes, steps: int, warmup: int, quick: bool) -> int:
    """Run ``modes`` of ``name`` with ``library``; one ``RESULT {json}`` line per mode."""
    from bench import gpu_modes

    m = gpu_modes.import_library(library)
    print("INFO " + json.dumps(gpu_modes.versions(m, library)), flush=True)
    builds = gpu_modes.SharedBuild()
    for mode in modes:
        result = gpu_modes.run_mode(m, name, mode, steps, warmup, quick, builds)
        print("RESULT " + json.dumps({"mode": mode, **result}), flush=True)
    return 0


def _child_lines(text: str) -> tuple[dict, dict]:
    info, results = {}, {}
    for line in (text or "").splitlines():
        if line.startswith("INFO "):
            info = json.loads(line[5:])
        elif line.startswith("RESULT "):
            result = json.loads(line[7:])
            results[result.pop("mode")] = result
    return info, results


def spawn(library: str, name: str, modes, args, timeout: float) -> tuple[dict, dict]:
    """One child process; its device info and a result (or error) for every mode asked."""
    cmd = [sys.executable, "-m", "bench.gpu", "--child", library, name, "--modes", *modes]
    cmd += ["--steps", str(args.steps), "--warmup", str(args.warmup)] + (["--quick"] if args.quick else [])
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=max(timeout, 1), check=False
        )
        stdout, why = proc.stdout, _last_line(proc.stderr) or f"exit status {proc.returncode}"
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        why = f"timed out after {timeout:.0f} s"
    info, results = _child_lines(stdout)
    for mode in modes:
        results.setdefault(mode, {"error": f"no result: {why}"[:400]})
    return info, results


def _last_line(text: str) -> str:
    lines = (text or "").strip().splitlines()
    return lines[-1][:300] if lines else ""


# ---------------------------------------------------------------- the parent: schedule, table


def plan(args) -> list[tuple[str, list[str]]]:
    """(workload, modes) pairs: the modes asked that the workload runs, in MODES order."""
    return [
        (name, [mode for mode in MODES if mode in args.modes and mode in GPU_WORKLOADS[name].modes])
        for name in args.workloads
    ]


def compare(args, libraries, record) -> list[dict]:
    """Run every (workload, library), alternating; rows for the table, saved as they come."""
    rows, start = [], time.perf_counter()
    for i, (name, modes) in enumerate(plan(args)):
        if not modes:
            continue
        per_library = {}
        for library in libraries if i % 2 == 0 else tuple(reversed(libraries)):
            left = args.budget - (time.perf_counter() - start) if args.budget else args.timeout
            if left <= 0:
                skipped = {"error": f"skipped: the time budget ({args.budget:.0f} s) is spent"}
                per_library[library] = {mode: dict(skipped) for mode in modes}
                continue
            info, per_library[library] = spawn(library, name, modes, args, min(args.timeout, left))
            record["libraries"].setdefault(library, info)
            print(f"  {name:10s} {library:6s} {_brief(per_library[library])}", flush=True)
        for mode in modes:
            rows.append(
                {"workload": name, "mode": mode, **{lib: per_library[lib][mode] for lib in libraries}}
            )
        record["rows"] = rows
        save(args, record)
    return rows


def _brief(results: dict) -> str:
    return "  ".join(
        f"{mode} {r['ms']:.2f} ms" if "ms" in r else f"{mode} FAILED ({r['error'][:60]})"
        for mode, r in results.items()
    )


def _ms(r: dict | None) -> str:
    if not r:
        return "-"
    return f"{r['ms']:.2f}" if "ms" in r else "error"


def _mib(r: dict | None) -> str:
    return f"{r['peak_mib']:.0f}" if r and "peak_mib" in r else "-"


def _fp32(rows: list[dict], row: dict, library: str) -> dict:
    base = next((r for r in rows if r["workload"] == row["workload"] and r["mode"] == "fp32"), None)
    return (base or {}).get(library) or {}


def _speedup(rows: list[dict], row: dict, library: str) -> str:
    """How many times faster than the same library's fp32 row of the same workload."""
    this, fp32 = row.get(library) or {}, _fp32(rows, row, library)
    return f"{fp32['ms'] / this['ms']:.2f}x" if "ms" in this and "ms" in fp32 else "-"


def _against_eager(rows: list[dict], row: dict) -> str:
    """ember in this mode over PyTorch's eager fp32 step (the yardstick of issue 18's targets)."""
    this, eager = row.get("ember") or {}, _fp32(rows, row, "torch")
    return f"{this['ms'] / eager['ms']:.2f}" if "ms" in this and "ms" in eager else "-"


def _losses_differ(row: dict) -> str | None:
    """In fp32 both libraries start from the same weights and data: their first losses agree."""
    e, t = row.get("ember") or {}, row.get("torch") or {}
    if row["mode"] != "fp32" or "first_loss" not in e or "first_loss" not in t:
        return None
    a, b = e["first_loss"], t["first_loss"]
    return None if abs(a - b) <= 1e-3 * max(1.0, abs(b)) else f"first losses differ: {a:.5f} vs {b:.5f}"


def _note(row: dict, libraries) -> str:
    notes = [f"{LIBRARY_NAMES[lib]}: {row[lib]['error']}" for lib in libraries if "error" in row[lib]]
    differ = _losses_differ(row)
    if differ:
        notes.append(differ)
    switches = (row.get("ember") or {}).get("tf32_switches", "")
    if switches and not switches.startswith("ok"):
        notes.append("ember TF32 switches: " + switches)
    return "; ".join(notes).replace("|", "/")[:300]


def table(rows: list[dict], libraries) -> str:
    """The Markdown table: times, ratio, speed-up over fp32, peak memory, errors."""
    torch_on = "torch" in libraries
    head = ["workload", "mode", "ember ms"]
    head += ["PyTorch ms", "ember/PyTorch", "ember/PyTorch fp32"] if torch_on else []
    head += ["ember vs fp32"] + (["PyTorch vs fp32"] if torch_on else [])
    head += ["ember peak MiB"] + (["PyTorch peak MiB"] if torch_on else []) + ["note"]
    lines = [
        "| " + " | ".join(head) + " |",
        "|"
        + "|".join("---:" if "ms" in h or "MiB" in h or "/" in h or "vs" in h else "---" for h in head)
        + "|",
    ]
    for row in rows:
        e, t = row.get("ember"), row.get("torch")
        cells = [row["workload"], row["mode"], _ms(e)]
        if torch_on:
            ratio = f"{e['ms'] / t['ms']:.2f}" if "ms" in e and "ms" in t else "-"
            cells += [_ms(t), ratio, _against_eager(rows, row)]
        cells += [_speedup(rows, row, "ember")] + ([_speedup(rows, row, "torch")] if torch_on else [])
        cells += [_mib(e)] + ([_mib(t)] if torch_on else []) + [_note(row, libraries)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def save(args, record: dict) -> None:
    """Write the JSON and Markdown files asked for (after every workload: a kill keeps them)."""
    if args.json:
        _write(args.json, json.dumps(record, indent=1))
    if args.markdown and record.get("rows"):
        _write(args.markdown, markdown(record))


def markdown(record: dict) -> str:
    env = record["environment"]
    libs = ", ".join(
        f"{LIBRARY_NAMES[lib]} {info.get('version', '?')}"
        + (f" (CuPy {info['cupy']})" if info.get("cupy") else "")
        for lib, info in record["libraries"].items()
    )
    device = next((i.get("device") for i in record["libraries"].values() if i.get("device")), "?")
    head = (
        f"Measured {env['date']} on {device} ({libs}); `{env['command']}`: "
        f"{env['steps']} timed steps after {env['warmup']} warm-up steps, median."
    )
    return head + "\n\n" + table(record["rows"], tuple(record["libraries_run"])) + "\n"


def _write(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


# ---------------------------------------------------------------- command line


def parse(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench --device cuda", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", choices=("cuda",), help=argparse.SUPPRESS)
    p.add_argument("--workloads", nargs="+", default=list(GPU_WORKLOADS), choices=list(GPU_WORKLOADS))
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    p.add_argument("--steps", type=int, default=None, help="timed steps per mode (default 10; 2 --quick)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 3; 1 --quick)")
    p.add_argument("--quick", action="store_true", help="tiny shapes, 2 steps: checks the harness")
    p.add_argument("--no-torch", action="store_true", help="run ember only")
    p.add_argument("--json", default=None, help="write every result (and errors) to this file")
    p.add_argument("--markdown", default=None, help="write the table to this file")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per child process")
    p.add_argument(
        "--budget", type=float, default=None, help="seconds for the whole run; the rest is skipped"
    )
    p.add_argument(
        "--profile",
        nargs="+",
        choices=list(GPU_WORKLOADS),
        metavar="NAME",
        help="time ember's primitives (and PyTorch's kernels) on these workloads, fp32",
    )
    p.add_argument("--top", type=int, default=15, help="rows per profile table")
    p.add_argument("--child", nargs=2, metavar=("LIBRARY", "WORKLOAD"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.steps = args.steps or (2 if args.quick else 10)
    args.warmup = args.warmup or (1 if args.quick else 3)
    return args


def libraries_to_run(args) -> tuple[str, ...]:
    """ember, and PyTorch when it is installed, asked for, and not under the stand-in."""
    import importlib.util

    if args.no_torch or importlib.util.find_spec("torch") is None:
        return ("ember",)
    if os.environ.get("EMBER_FAKE_CUDA"):
        print("EMBER_FAKE_CUDA is set: ember runs on the stand-in, PyTorch has no GPU; ember only")
        return ("ember",)
    return ("ember", "torch")


def main(argv=None) -> int:
    args = parse(argv)
    if args.child:
        return child_main(*args.child, args.modes, args.steps, args.warmup, args.quick)
    import ember

    if not ember.cuda.is_available():
        print(
            "python -m bench --device cuda: no CUDA GPU here (ember.cuda.is_available() is False); "
            "nothing to run"
        )
        return 0
    if args.profile:
        from bench import gpu_profile

        return gpu_profile.main(args)
    libraries = libraries_to_run(args)
    command = " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)])
    record = {
        "environment": {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": command,
            "steps": args.steps,
            "warmup": args.warmup,
            "quick": args.quick,
            "stand_in": bool(getattr(ember.backend.get("cuda"), "fake", False)),
        },
        "libraries_run": list(libraries),
        "libraries": {},
        "rows": [],
    }
    print(
        f"GPU benchmark: {', '.join(libraries)}; {args.steps} steps after {args.warmup} warm-up", flush=True
    )
    rows = compare(args, libraries, record)
    print("\n" + table(rows, libraries), flush=True)
    save(args, record)
    failed = sum(1 for row in rows for lib in libraries if "error" in row[lib])
    if failed:
        print(f"\n{failed} mode(s) failed; their errors are in the note column (tracebacks: --json)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
