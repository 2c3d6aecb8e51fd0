"""Train each workload with ember and with PyTorch, side by side, and print one table.

    python -m bench                      # every workload, 5 alternating repeats, + per-op overhead
    python bench/run.py --quick          # a fast check that everything runs
    python -m bench --workloads mlp gpt --repeats 7 --steps 20
    python -m bench --extras all --write # + the other benchmarks; update BENCHMARKS.md
    python -m bench --profile gpt        # cProfile ember's gpt steps (top functions by own time)
    python -m bench --device cuda        # on a GPU, against PyTorch CUDA: see bench/gpu.py

Each (workload, library) run is a fresh subprocess (``--child``), so peak memory and caches
are its own; the libraries alternate within a repeat, and the order flips every repeat. A child
builds the workload (seeded weights and data identical for both libraries), runs the warm-up
steps, times each of the fixed number of steps and reports the median, its peak resident set
size and the loss of its first step (ember's and PyTorch's must agree). Step time in the table
is the median over repeats of those medians. The matmul peak is the best of several NumPy
2048x2048 float32 products in this process; FLOPs per step are counted analytically
(``bench/workloads.py`` says how).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # ``python bench/run.py`` puts bench/, not the repository, on the path
    sys.path.insert(0, ROOT)

from bench import report, workloads

LIBRARIES = ("ember", "torch")
# read at import time by OpenBLAS, OpenMP (PyTorch's intra-op pool) and MKL
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
EXTRAS = {  # name -> (module, full arguments, --quick arguments)
    "overhead": ("bench.bench_overhead", [], ["200", "3"]),
    "optim": ("bench.bench_optim", [], ["--repeats", "5"]),
    "cnn": ("bench.bench_cnn", [], ["--repeats", "2", "--number", "1"]),
    "dataloader": ("bench.bench_dataloader", [], ["--repeats", "1", "--images", "1024"]),
    "save_load": ("bench.bench_save_load", [], ["--repeats", "1", "--tensors", "10"]),
}


# ---------------------------------------------------------------- memory of this process


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_bytes() -> int | None:
    """Resident set size now (``/proc/self/status``, else psutil, else None)."""
    kb = _status_kb("VmRSS")
    if kb is not None:
        return kb * 1024
    try:
        import psutil
    except ImportError:
        return None
    return psutil.Process().memory_info().rss


def peak_rss_bytes() -> int:
    """Peak resident set size (``VmHWM``, else ``getrusage``) since start or ``reset_peak``."""
    kb = _status_kb("VmHWM")
    if kb is not None:
        return kb * 1024
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux


def reset_peak() -> bool:
    """Reset the peak RSS to the current RSS (Linux ``clear_refs``); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- one run, in a child process


def _import(library: str):
    if library == "ember":
        import ember

        return ember
    import torch

    return torch


def _threads(library: str, m) -> str:
    if library == "torch":
        return f"torch {m.get_num_threads()} threads"
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS threads unknown (no threadpoolctl)"
    blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return ", ".join(f"{p['internal_api']} {p['num_threads']} threads" for p in blas) or "no BLAS found"


def child(library: str, name: str, steps: int, warmup: int) -> dict:
    """Build ``name`` with ``library``, warm up, time ``steps`` steps; the numbers as a dict."""
    m = _import(library)
    after_import = rss_bytes() or 0
    peak_was_reset = reset_peak()
    run = workloads.build(name, m)
    first_loss = None
    for i in range(warmup):
        loss = run.step()
        if i == 0:
            first_loss = float(loss.item())
    times, cpu_times = [], []
    for _ in range(steps):
        start, cpu_start = time.perf_counter(), time.process_time()
        loss = run.step()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    last_loss = float(loss.item())
    peak = peak_rss_bytes()
    return {
        "library": library,
        "workload": name,
        "steps": steps,
        "warmup": warmup,
        "step_s": statistics.median(times),
        "min_step_s": min(times),
        "cpu_s": statistics.median(cpu_times),
        "peak_rss": peak,
        "train_rss": peak - after_import,
        "import_rss": after_import,
        "peak_reset": peak_was_reset,
        "flops": run.flops,
        "first_loss": first_loss,
        "last_loss": last_loss,
        "version": getattr(m, "__version__", "?"),
        "threads": _threads(library, m),
    }


def _child_main(args) -> None:
    result = child(
        args.child[0], args.child[1], args.steps or workloads.DEFAULT_STEPS[args.child[1]], args.warmup
    )
    print("RESULT " + json.dumps(result), flush=True)


def child_env(threads: int | None = None) -> dict:
    """The environment of a child: this repository importable, thread counts pinned if asked."""
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if threads:
        for var in THREAD_VARIABLES:
            env[var] = str(threads)
    return env


def spawn(
    library: str, name: str, steps: int, warmup: int, timeout: float, threads: int | None = None
) -> dict:
    """Run one child process; its result dict, or ``{"error": ...}`` when it failed."""
    cmd = [
        sys.executable,
        "-m",
        "bench.run",
        "--child",
        library,
        name,
        "--steps",
        str(steps),
        "--warmup",
        str(warmup),
    ]
    env = child_env(threads)
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"library": library, "workload": name, "error": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    lines = (proc.stderr or proc.stdout).strip().splitlines()
    reason = lines[-1] if lines else f"exit status {proc.returncode}"
    return {"library": library, "workload": name, "error": reason[:300]}


def torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


# ---------------------------------------------------------------- the machine


def matmul_peak(n: int = 2048, repeats: int = 7, clock: str = "wall") -> float:
    """Best float32 GFLOP/s of NumPy ``n x n`` matrix products in this process (2 n^3 FLOPs).

    ``clock="cpu"`` times by CPU time, like ``--clock cpu`` (meaningful with one thread).
    """
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)  # warm-up: threads started, pages touched
    timer = time.process_time if clock == "cpu" else time.perf_counter
    best = float("inf")
    for _ in range(repeats):
        start = timer()
        np.matmul(a, b, out=out)
        best = min(best, timer() - start)
    return 2.0 * n**3 / best / 1e9


def measure_peak(threads: int | None, timeout: float, clock: str = "wall") -> float:
    """``matmul_peak`` in a fresh process with the children's thread settings."""
    code = f"from bench.run import matmul_peak; print(matmul_peak(clock={clock!r}))"
    cmd = [sys.executable, "-c", code]
    proc = subprocess.run(
        cmd, cwd=ROOT, env=child_env(threads), capture_output=True, text=True, timeout=timeout, check=True
    )
    return float(proc.stdout.strip().splitlines()[-1])


def environment(command: str) -> dict:
    import platform

    import numpy as np

    info = {
        "date": datetime.date.today().isoformat(),
        "command": command,
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load": _load_average(),
    }
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = threadpool_info()
    except ImportError:
        info["threadpools"] = None
    return info


def _cpu_model() -> str:
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


# ---------------------------------------------------------------- the whole comparison


def compare(
    names, repeats: int, steps: int | None, warmup: int, timeout: float, libraries, threads: int | None = None
) -> dict:
    """Alternate libraries within each repeat (order flipped every repeat); all child results."""
    results = {name: {lib: [] for lib in libraries} for name in names}
    for r in range(repeats):
        for name in names:
            order = libraries if r % 2 == 0 else tuple(reversed(libraries))
            for lib in order:
                n = steps or workloads.DEFAULT_STEPS[name]
                result = spawn(lib, name, n, warmup, timeout, threads)
                results[name][lib].append(result)
                print(f"  [{r + 1}/{repeats}] {name:8s} {lib:6s} {_brief(result)}", flush=True)
    return results


def _brief(result: dict) -> str:
    if "error" in result:
        return "FAILED: " + result["error"]
    return f"{result['step_s'] * 1e3:9.2f} ms/step  peak {result['peak_rss'] / 2**20:7.1f} MiB"


def run_extra(name: str, quick: bool, timeout: float, threads: int | None = None) -> str:
    """Run one of the other benchmarks as a subprocess; its output (or why it failed)."""
    module, full, short = EXTRAS[name]
    cmd = [sys.executable, "-m", module, *(short if quick else full)]
    env = child_env(threads)
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return f"(timed out after {timeout:.0f} s)"
    out = proc.stdout.rstrip()
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        out += f"\n(failed with exit status {proc.returncode})\n{tail}"
    return out


# ---------------------------------------------------------------- profiling


def profile(name: str, steps: int, warmup: int, top: int, clock: str = "wall") -> str:
    """cProfile ``steps`` ember training steps of ``name``; a text report of where time goes.

    ``clock="cpu"`` times functions by the process's CPU time, which a busy machine disturbs
    less (use it with one BLAS thread: with more, it adds up every thread's time).
    """
    import cProfile
    import pstats

    import ember

    run = workloads.build(name, ember)
    for _ in range(warmup):
        run.step()
    profiler = cProfile.Profile(time.process_time) if clock == "cpu" else cProfile.Profile()
    timer = time.process_time if clock == "cpu" else time.perf_counter
    start = timer()
    profiler.enable()
    for _ in range(steps):
        run.step()
    profiler.disable()
    elapsed = timer() - start
    return report.profile_text(name, pstats.Stats(profiler), steps, elapsed, top, clock)


# ---------------------------------------------------------------- command line


def parse(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument(
        "--workloads",
        nargs="+",
        default=list(workloads.NAMES),
        choices=workloads.NAMES,
        metavar="NAME",
        help=f"which workloads (default: all of {', '.join(workloads.NAMES)})",
    )
    p.add_argument("--repeats", type=int, default=5, help="fresh-process runs per library (default 5)")
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help=f"timed steps per run (default per workload: {workloads.DEFAULT_STEPS})",
    )
    p.add_argument("--warmup", type=int, default=workloads.WARMUP_STEPS, help="untimed steps first")
    p.add_argument(
        "--quick",
        action="store_true",
        help="1 repeat, 3 steps, 1 warm-up step, short extras: checks that it all runs",
    )
    p.add_argument(
        "--extras",
        nargs="*",
        default=["overhead"],
        metavar="NAME",
        help=f"other benchmarks to run too: {', '.join(EXTRAS)} or all (default: overhead)",
    )
    p.add_argument("--no-torch", action="store_true", help="run ember only")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="pin BLAS/OpenMP threads of every child (default: each library's own default)",
    )
    p.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="step time by the wall clock (default) or by the process's CPU time (steadier "
        "on a busy machine with --threads 1; with more threads it counts every thread)",
    )
    p.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per child run")
    p.add_argument("--write", action="store_true", help="update the tables in BENCHMARKS.md")
    p.add_argument(
        "--label",
        default="",
        help="with --write: fill the sections environment-LABEL and workloads-LABEL instead",
    )
    p.add_argument("--output", default=os.path.join(ROOT, "BENCHMARKS.md"), help=argparse.SUPPRESS)
    p.add_argument("--json", default=None, help="also save every child result to this file")
    p.add_argument(
        "--replay",
        metavar="JSON",
        help="print (and with --write, write) the tables of a --json file instead of running",
    )
    p.add_argument(
        "--profile",
        choices=workloads.NAMES,
        nargs="+",
        metavar="NAME",
        help="profile ember on these workloads instead of comparing",
    )
    p.add_argument("--top", type=int, default=20, help="functions listed per profile")
    p.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel scaling at 1 and 2 ranks (bench/bench_distributed.py)",
    )
    p.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="cuda: the GPU benchmark, ember beside PyTorch CUDA (bench/gpu.py; its options: "
        "python -m bench --device cuda --help)",
    )
    p.add_argument("--child", nargs=2, metavar=("LIBRARY", "WORKLOAD"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.steps, args.warmup = 1, args.steps or 3, min(args.warmup, 1)
    if args.extras == ["all"]:
        args.extras = list(EXTRAS)
    unknown = [e for e in args.extras if e not in EXTRAS]
    if unknown:
        p.error(f"unknown extras {unknown}; choose from {', '.join(EXTRAS)} or all")
    return args


def replay(args) -> int:
    """The tables of a saved ``--json`` run, printed and (with ``--write``) written."""
    with open(args.replay) as f:
        saved = json.load(f)
    env, peak, results = saved["environment"], saved["matmul_peak_gflops"], saved["results"]
    clock = env.get("clock", "wall")
    summary = report.summarize(results, "cpu_s" if clock == "cpu" else "step_s")
    repeats = max(len(runs) for per in results.values() for runs in per.values())
    table = report.workload_table(summary, peak, repeats, clock)
    print(table)
    if args.write:
        suffix = f"-{args.label}" if args.label else ""
        report.update_sections(
            args.output,
            {
                "environment" + suffix: report.environment_markdown(env, peak, summary),
                "workloads" + suffix: table,
            },
        )
    return 0


def _command_line(argv) -> str:
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join(["python -m bench", *args])


def _wants_cuda(argv) -> bool:
    """``--device cuda`` hands the whole command line to the GPU harness (``bench/gpu.py``)."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--device", default="cpu")
    known, _ = pre.parse_known_args(argv)
    return known.device.startswith("cuda")


def main(argv=None) -> int:
    if _wants_cuda(argv):
        from bench import gpu

        return gpu.main(argv)
    args = parse(argv)
    if args.child:
        _child_main(args)
        return 0
    if args.distributed:
        from bench import bench_distributed

        steps = ["--steps", str(args.steps)] if args.steps else []
        flags = (["--no-torch"] if args.no_torch else []) + (["--write"] if args.write else [])
        return bench_distributed.main(steps + flags)
    sections = {}
    if args.profile:
        if args.threads:
            from threadpoolctl import threadpool_limits

            threadpool_limits(args.threads)
        for name in args.profile:
            steps = args.steps or max(2, workloads.DEFAULT_STEPS[name] // 2)
            text = profile(name, steps, args.warmup, args.top, args.clock)
            print(text, flush=True)
            sections[f"profile-{name}"] = "```\n" + text + "\n```"
        if args.write:
            report.update_sections(args.output, sections)
        return 0
    if args.replay:
        return replay(args)
    env = environment(_command_line(argv))
    env["clock"] = args.clock
    env["threads"] = (
        f"pinned to {args.threads} ({', '.join(THREAD_VARIABLES)})"
        if args.threads
        else "each library's default"
    )
    libraries = ("ember", "torch") if torch_available() and not args.no_torch else ("ember",)
    print(report.environment_text(env), flush=True)
    peak = measure_peak(args.threads, args.timeout, args.clock)
    print(
        f"float32 matmul peak (NumPy 2048x2048, best of 7, {args.clock} clock): {peak:.1f} GFLOP/s",
        flush=True,
    )
    results = compare(
        args.workloads, args.repeats, args.steps, args.warmup, args.timeout, libraries, args.threads
    )
    env["load_after"] = _load_average()
    summary = report.summarize(results, "cpu_s" if args.clock == "cpu" else "step_s")
    table = report.workload_table(summary, peak, args.repeats, args.clock)
    print("\n" + table, flush=True)
    suffix = f"-{args.label}" if args.label else ""
    sections["environment" + suffix] = report.environment_markdown(env, peak, summary)
    sections["workloads" + suffix] = table
    for extra in args.extras:
        print(f"\n# {extra}: python -m {EXTRAS[extra][0]}", flush=True)
        text = run_extra(extra, args.quick, args.timeout, args.threads)
        print(text, flush=True)
        sections[extra] = report.extra_markdown(
            EXTRAS[extra][0], EXTRAS[extra][2] if args.quick else EXTRAS[extra][1], text, env["date"]
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "matmul_peak_gflops": peak, "results": results}, f, indent=1)
    if args.write:
        report.update_sections(args.output, sections)
        print(f"\nupdated {args.output}", flush=True)
    failed = any("error" in r for per in results.values() for rs in per.values() for r in rs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
