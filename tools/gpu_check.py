"""The checks only a GPU can answer, and each benchmark workload on CUDA against the CPU.

Run by ``tools/gpu_check.sh`` (which runs the device test suite first); writes
``results.json`` into ``--out``, folding in the suite's JUnit XML when present. With
``--dry-run`` it runs on the CUDA stand-in (``EMBER_FAKE_CUDA=1``), so its logic is tested on
machines without a GPU; checks that need real CUDA libraries are then recorded as skipped.

    python tools/gpu_check.py --out OUT [--dry-run]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
import traceback
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Skip(Exception):
    """A check that cannot run here (said why)."""


def _check(results: list, name: str, fn) -> None:
    start = time.perf_counter()
    try:
        detail = fn()
        status = "passed"
    except Skip as exc:
        status, detail = "skipped", str(exc)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, the run goes on
        status, detail = "failed", "".join(traceback.format_exception_only(exc)).strip()
        traceback.print_exc()
    seconds = round(time.perf_counter() - start, 3)
    results.append({"name": name, "status": status, "detail": detail, "seconds": seconds})
    print(f"[{status:7}] {name} ({seconds:.2f} s): {detail}", flush=True)


def _real(ember) -> None:
    if _stand_in(ember):
        raise Skip("needs real CUDA (dry run on the stand-in)")


def environment(ember) -> dict:
    info = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cuda_available": ember.cuda.is_available(),
        "stand_in": _stand_in(ember),
    }
    for module in ("numpy", "cupy", "torch"):
        try:
            info[module] = __import__(module).__version__
        except ImportError:
            info[module] = None
    if ember.cuda.is_available():
        props = ember.cuda.get_device_properties(0)
        info.update(
            device=props.name,
            capability=f"{props.major}.{props.minor}",
            total_memory=props.total_memory,
            device_count=ember.cuda.device_count(),
        )
    return info


# -- checks only a GPU can answer ------------------------------------------------------------------
def check_streams(ember):
    n = 256 if _stand_in(ember) else 2048
    a = ember.randn(n, n, device="cuda")
    s1, s2 = ember.cuda.Stream(), ember.cuda.Stream()
    with ember.cuda.stream(s1):
        x = a @ a
    with ember.cuda.stream(s2):
        y = a @ a
    s1.synchronize()
    s2.synchronize()
    assert s1.query() and s2.query()
    assert float((x - y).abs().max()) == 0.0, "the same product on two streams differs"
    assert ember.cuda.current_stream() == ember.cuda.default_stream()
    return "two streams ran the same product; both synchronised and idle"


def _stand_in(ember) -> bool:
    return bool(getattr(ember.backend.get("cuda"), "fake", False))


def check_events(ember):
    n = 256 if _stand_in(ember) else 4096  # NumPy under the stand-in: keep the dry run short
    a = ember.randn(n, n, device="cuda")
    a @ a  # warm-up (cuBLAS handle, kernels)
    start, end = ember.cuda.Event(enable_timing=True), ember.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(10):
        a @ a
    end.record()
    end.synchronize()
    ms = start.elapsed_time(end)
    assert ms > 0.0, f"elapsed_time {ms} ms"
    tflops = 10 * 2 * n**3 / (ms * 1e-3) / 1e12
    where = "on the stand-in (NumPy), not a GPU" if _stand_in(ember) else "measured on this GPU"
    return f"10 fp32 {n}^2 matmuls: {ms:.3f} ms by events ({tflops:.2f} TFLOP/s, {where})"


def check_memory_statistics(ember):
    ember.cuda.synchronize()
    ember.cuda.empty_cache()
    base = ember.cuda.memory_allocated()
    ember.cuda.reset_peak_memory_stats()
    x = ember.empty(64 << 20, dtype=ember.float32, device="cuda")  # 256 MiB
    grown = ember.cuda.memory_allocated() - base
    assert grown >= 256 << 20, f"memory_allocated grew by {grown}"
    assert ember.cuda.memory_reserved() >= ember.cuda.memory_allocated()
    del x
    assert ember.cuda.memory_allocated() - base < 256 << 20
    assert ember.cuda.max_memory_allocated() >= base + (256 << 20)
    reserved = ember.cuda.memory_reserved()
    ember.cuda.empty_cache()
    assert ember.cuda.memory_reserved() <= reserved
    free, total = ember.cuda.mem_get_info()
    after = ember.cuda.memory_reserved()
    return f"256 MiB counted, freed, peak kept; reserved {reserved} -> {after}; {free} of {total} free"


def check_out_of_memory(ember):
    _, total = ember.cuda.mem_get_info()
    elements = int(total * 1.5) // 4
    try:
        ember.empty(elements, dtype=ember.float32, device="cuda")
    except ember.cuda.OutOfMemoryError as exc:
        message = str(exc)
        assert "out of memory in empty" in message and "MiB" in message, message
        return message[:300]
    raise AssertionError(f"allocating {elements * 4} bytes (1.5x the device) did not raise")


def check_out_of_memory_in_an_op(ember):
    free, _ = ember.cuda.mem_get_info()
    side = int((free * 0.6 / 4) ** 0.5)
    x = ember.empty(side, side, device="cuda")
    try:
        for _ in range(4):
            x = ember.cat([x, x])
    except ember.cuda.OutOfMemoryError as exc:
        assert "out of memory in cat" in str(exc), str(exc)
        return str(exc)[:300]
    finally:
        del x
        ember.cuda.empty_cache()
    raise AssertionError("growing a tensor past free memory did not raise")


def check_tf32(ember):
    a64 = ember.randn(1024, 1024, dtype=ember.float64)
    exact = (a64 @ a64).numpy()
    a = a64.float().cuda()
    errors = {}
    # both of PyTorch's switches: the precision setting and the cuBLAS flag
    for precision in ("highest", "high", "allow_tf32"):
        ember.set_float32_matmul_precision("highest" if precision == "allow_tf32" else precision)
        ember.backends.cuda.matmul.allow_tf32 = precision != "highest"
        errors[precision] = float(abs((a @ a).double().cpu().numpy() - exact).max())
    ember.set_float32_matmul_precision("highest")
    ember.backends.cuda.matmul.allow_tf32 = False
    _real(ember)
    assert errors["high"] > errors["highest"], f"TF32 did not change the result: {errors}"
    assert errors["allow_tf32"] > errors["highest"], f"allow_tf32 did not change the result: {errors}"
    return f"max abs error vs float64: {errors}"


def check_dlpack(ember):
    x = ember.arange(6.0, device="cuda")
    y = ember.utils.dlpack.from_dlpack(ember.utils.dlpack.to_dlpack(x))
    y.add_(1)
    assert x.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    _real(ember)
    import cupy

    c = cupy.from_dlpack(x)
    back = ember.from_dlpack(cupy.ones(3))
    assert c.data.ptr == x._data.data.ptr and back.is_cuda, "CuPy exchange copied"
    try:
        import torch
    except ImportError:
        return "zero-copy with ember and CuPy (PyTorch not installed)"
    t = torch.from_dlpack(x)
    assert t.is_cuda and t.data_ptr() == x._data.data.ptr, "torch copied"
    t.mul_(2)
    from_torch = ember.from_dlpack(torch.ones(3, device="cuda"))
    assert from_torch.is_cuda and x.tolist()[0] == 2.0
    return "zero-copy with ember, CuPy and PyTorch (same device pointers)"


def check_pinned(ember):
    pinned = ember.randn(1024, 1024).pin_memory()
    assert pinned.is_pinned()
    loader = ember.utils.data.DataLoader(
        ember.utils.data.TensorDataset(ember.randn(64, 8)), batch_size=16, pin_memory=True
    )
    assert all(b[0].is_pinned() for b in loader)
    moved = pinned.to("cuda", non_blocking=True)
    ember.cuda.synchronize()
    assert float((moved.cpu() - pinned).abs().max()) == 0.0
    return "pinned tensor and DataLoader batches; non_blocking copy equal"


def check_autocast_training(ember):
    import ember.nn.functional as F

    model = ember.nn.Sequential(ember.nn.Linear(64, 256), ember.nn.ReLU(), ember.nn.Linear(256, 10)).cuda()
    opt = ember.optim.SGD(model.parameters(), lr=0.05)
    scaler = ember.amp.GradScaler("cuda")
    x, y = ember.randn(128, 64, device="cuda"), ember.randint(0, 10, (128,), device="cuda")
    losses = []
    for _ in range(20):
        opt.zero_grad()
        with ember.autocast("cuda", dtype=ember.float16):
            loss = F.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses
    scale = scaler.get_scale()
    return f"fp16 autocast + GradScaler: loss {losses[0]:.4f} -> {losses[-1]:.4f}, scale {scale}"


def check_workload(ember, name: str):
    import numpy as np

    from bench.workloads import build

    cpu, gpu = build(name, ember, seed=0), build(name, ember, seed=0, device="cuda")
    losses = []
    for _ in range(3):
        losses.append((float(cpu.step().item()), float(gpu.step().item())))
    ember.cuda.synchronize()
    worst = max(
        float(np.abs(pg.detach().cpu().numpy() - pc.detach().numpy()).max())
        for pc, pg in zip(cpu.model.parameters(), gpu.model.parameters())
    )
    for lc, lg in losses:
        assert abs(lc - lg) <= 1e-3 * max(1.0, abs(lc)), f"losses differ: {losses}"
    assert worst < 1e-3, f"parameters differ by {worst}"
    start = time.perf_counter()
    for _ in range(3):
        gpu.step()
    ember.cuda.synchronize()
    step_ms = (time.perf_counter() - start) / 3 * 1e3
    return {"losses_cpu_gpu": losses, "max_param_diff": worst, "gpu_step_ms_measured": round(step_ms, 3)}


def suite_summary(xml_path: Path) -> dict:
    if not xml_path.exists():
        return {"ran": False}
    root = ET.parse(xml_path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    total = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
    failed = [
        f"{c.get('classname')}::{c.get('name')}"
        for s in suites
        for c in s.iter("testcase")
        if c.find("failure") is not None or c.find("error") is not None
    ]
    total.update(
        ran=True,
        passed=total["tests"] - total["failures"] - total["errors"] - total["skipped"],
        failed_tests=failed[:50],
    )
    return total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--dry-run", action="store_true", help="run on the CUDA stand-in")
    parser.add_argument("--suite-rc", type=int, default=None, help="exit status of the device suite")
    args = parser.parse_args(argv)
    if args.dry_run:
        os.environ["EMBER_FAKE_CUDA"] = "1"
        os.environ.setdefault("EMBER_FAKE_CUDA_MEMORY", str(768 << 20))
    sys.path.insert(0, str(ROOT))
    import ember
    import ember.utils.dlpack

    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "environment": environment(ember),
        "dry_run": args.dry_run,
        "device_suite": suite_summary(args.out / "device_suite.xml"),
        "checks": [],
    }
    if args.suite_rc is not None:
        report["device_suite"]["exit_status"] = args.suite_rc
    if not ember.cuda.is_available():
        report["checks"].append({"name": "cuda", "status": "failed", "detail": "no CUDA device"})
    else:
        checks = [
            ("streams", check_streams),
            ("events", check_events),
            ("memory_statistics", check_memory_statistics),
            ("out_of_memory", check_out_of_memory),
            ("out_of_memory_in_an_op", check_out_of_memory_in_an_op),
            ("tf32", check_tf32),
            ("dlpack", check_dlpack),
            ("pinned_memory", check_pinned),
            ("autocast_training", check_autocast_training),
        ]
        for name, fn in checks:
            _check(report["checks"], name, lambda fn=fn: fn(ember))
        from bench.workloads import NAMES

        chosen = os.environ.get("EMBER_GPU_CHECK_WORKLOADS", "")  # default: every workload
        for name in [n for n in NAMES if not chosen or n in chosen.split(",")]:
            _check(report["checks"], f"workload_{name}", lambda name=name: check_workload(ember, name))
    statuses = [c["status"] for c in report["checks"]]
    suite = report["device_suite"]
    report["summary"] = {
        "checks_passed": statuses.count("passed"),
        "checks_failed": statuses.count("failed"),
        "checks_skipped": statuses.count("skipped"),
        "suite_passed": suite.get("passed"),
        "suite_failed": (suite.get("failures", 0) + suite.get("errors", 0)),
    }
    ok = (
        statuses.count("failed") == 0
        and report["summary"]["suite_failed"] == 0
        and suite.get("exit_status", 0) in (0, None)
    )
    report["summary"]["ok"] = ok
    (args.out / "results.json").write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report["summary"]), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
