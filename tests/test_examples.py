"""The guided tour in ``examples/``: every script runs at its ``--small`` size and shows what it says."""

from __future__ import annotations

import ast
import importlib.util
import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ember

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(EXAMPLES.glob("[0-9][0-9]_*.py"))


def run_example(name: str) -> dict:
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"ember_example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(["--small"])


def test_the_tour_is_complete_and_listed():
    names = [p.stem for p in SCRIPTS]
    assert [int(n[:2]) for n in names] == list(range(1, len(names) + 1))
    readme = (EXAMPLES / "README.md").read_text()
    for name in names:
        assert f"{name}.py" in readme


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_script_shape(path):
    source = path.read_text()
    tree = ast.parse(source)
    assert ast.get_docstring(tree), f"{path.name} needs a module docstring"
    assert any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body)
    assert "import torch" not in source
    assert len(source.splitlines()) <= 160


def test_01_tensors_and_numpy(capsys):
    result = run_example("01_tensors_and_numpy")
    assert result["shares_memory"] and result["seen_from_ember"] and result["copy_untouched"]
    assert result["inplace_kept_memory"]
    assert result["dtypes"] == {
        "int64 + python float": ember.float32,
        "int64 + float16": ember.float16,
        "float16 * 0-d float64": ember.float16,
        "int64 + 0-d float64": ember.float64,
        "bool + int": ember.int64,
        "int64 / int64": ember.float32,
    }
    assert result["sum"] == 45.0
    assert "shares memory with the original array: True" in capsys.readouterr().out


def test_02_autograd_graph(capsys):
    result = run_example("02_autograd_graph")
    assert result["nodes"] == 7  # sum, pow, tanh, add, matmul and two leaves
    assert result["derivatives"] == [12.0, 12.0, 6.0]
    assert result["no_grad_ok"] and result["gradcheck"]
    out = capsys.readouterr().out
    assert "AccumulateGrad" in out and "SmoothClipBackward" in out


def test_03_training_loop():
    result = run_example("03_training_loop")
    losses = result["losses"]
    assert losses[-1] < 0.8 * losses[0]
    assert result["accuracy"] > 0.4  # better than chance (1/3) after a few epochs


def test_04_lr_and_optimizer_switch():
    result = run_example("04_lr_and_optimizer_switch")
    ends = list(result["ends"].values())
    assert result["start"] > ends[0]
    assert all(later < earlier for earlier, later in itertools.pairwise(ends)), ends
    assert result["same_params"]


def test_05_dynamic_network():
    result = run_example("05_dynamic_network")
    assert result["widths"] == [2, 6, 10, 14]
    assert max(result["jumps"]) < 1e-6  # growing keeps the function the network computes
    assert result["losses"][-1] < 0.5 * result["losses"][0]
    before, after = result["depth_losses"]
    assert after < before


def test_06_devices(capsys):
    result = run_example("06_devices")
    losses = result["losses"]
    assert losses[-1] < losses[0]
    assert result["dtype"] == ember.float64
    if not ember.cuda.is_available():
        assert result["device"] == ember.device("cpu")
        assert "CUDA is not available" in capsys.readouterr().out


@pytest.mark.skipif(ember.cuda.is_available(), reason="checks the CPU-only fallback")
def test_06_devices_asking_for_cuda_without_one_exits_0():
    env = dict(os.environ, PYTHONPATH=str(EXAMPLES.parent))
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "06_devices.py"), "--device", "cuda", "--small"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "CUDA is not available" in done.stdout


def test_09_onnx_export():
    pytest.importorskip("onnxruntime", reason="the onnx extra")
    result = run_example("09_onnx_export")
    assert result["agree"] == 1.0
    assert result["largest_difference"] < 1e-4
    assert result["accuracy"] > 0.8


def test_08_distributed_in_one_process(capsys):
    pytest.importorskip("sklearn")
    result = run_example("08_distributed")
    assert result["world"] == 1 and result["losses"][-1] < 0.5 * result["losses"][0]
    assert result["accuracy"] > 0.8
    assert "test accuracy" in capsys.readouterr().out


def test_07_learner():
    result = run_example("07_learner")
    found, lrs, epochs = result["suggestions"], result["lrs"], result["epochs"]
    assert 1e-7 <= found.minimum <= 10
    assert max(lrs) == pytest.approx(found.minimum, rel=0.05) and lrs[-1] < lrs[0]
    assert epochs[-1]["valid_loss"] < epochs[0]["valid_loss"]
    assert result["accuracy"] > 0.5 and result["confusion"].sum() == 48
