"""``ember.install_as_torch()`` and ``python -m ember.as_torch``: in subprocesses, since they
alias ``torch`` for the whole process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_python(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


TRAIN_SCRIPT = """
import sys
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset

import ember

assert torch is ember and nn is ember.nn and F is ember.nn.functional
for name in ("torch.optim", "torch.utils.data", "torch.nn.utils.rnn", "torch.autograd",
             "torch.linalg", "torch.nn.init", "torch.optim.lr_scheduler"):
    __import__(name)
    assert sys.modules[name] is sys.modules["ember" + name[len("torch"):]], name
from torch import nn as nn2
assert nn2 is ember.nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 16)
        self.fc2 = nn.Linear(16, 2)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def main():
    assert sys.argv[1:] == ["--epochs", "30"], sys.argv
    torch.manual_seed(0)
    x = torch.randn(128, 2)
    y = (x[:, 0] * x[:, 1] > 0).long()
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    sched = StepLR(opt, step_size=10, gamma=0.5)
    first = None
    for _ in range(int(sys.argv[2])):
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            first = loss.item() if first is None else first
        sched.step()
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    assert accuracy > 0.9, accuracy
    print("trained", first, loss.item(), accuracy)


if __name__ == "__main__":
    main()
"""


def test_torch_style_script_runs_unchanged(tmp_path):
    (tmp_path / "train.py").write_text(TRAIN_SCRIPT)
    result = run_python(["-m", "ember.as_torch", "train.py", "--epochs", "30"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("trained")


def test_module_form_and_usage(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "tool.py").write_text(
        textwrap.dedent("""
        import sys
        import torch
        print(__name__, sys.argv[1:], type(torch.ones(2)).__module__)
    """)
    )
    result = run_python(["-m", "ember.as_torch", "-m", "pkg.tool", "a", "-b"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["__main__", "['a',", "'-b']", "ember.tensor"]
    assert run_python(["-m", "ember.as_torch"], tmp_path).returncode == 2


EINOPS_SCRIPT = """
import ember
ember.install_as_torch()

import torch
from einops import rearrange, reduce, repeat
from einops.layers.torch import Rearrange, Reduce

x = torch.randn(2, 3, 4, requires_grad=True)
y = rearrange(x, "b c h -> b (c h)")
assert isinstance(y, ember.Tensor) and tuple(y.shape) == (2, 12)
assert torch.equal(y, x.reshape(2, 12))
m = reduce(x, "b c h -> b h", "max")
assert torch.allclose(m, x.amax(dim=1))
assert tuple(repeat(x, "b c h -> b c h r", r=2).shape) == (2, 3, 4, 2)
model = torch.nn.Sequential(Rearrange("b c h -> b h c"), Reduce("b h c -> b c", "mean"),
                            torch.nn.Linear(3, 1))
model(x).sum().backward()
assert x.grad is not None and tuple(x.grad.shape) == (2, 3, 4)
print("einops ok")
"""


def test_einops_works_on_ember_tensors(tmp_path):
    pytest.importorskip("einops")
    (tmp_path / "use_einops.py").write_text(EINOPS_SCRIPT)
    result = run_python(["use_einops.py"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "einops ok"


@pytest.mark.slow  # imports the real PyTorch in a subprocess
def test_refused_when_real_torch_is_imported_first(tmp_path):
    pytest.importorskip("torch")
    code = textwrap.dedent("""
        import torch
        import ember
        try:
            ember.install_as_torch()
        except RuntimeError as exc:
            print("refused:", exc)
        import sys
        assert sys.modules["torch"] is torch and not ember.as_torch.is_installed()
    """)
    result = run_python(["-c", code], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "refused:" in result.stdout and "already imported" in result.stdout


def test_missing_submodules_and_idempotence(tmp_path):
    code = textwrap.dedent("""
        import sys
        import ember
        ember.install_as_torch()
        ember.install_as_torch()
        assert sum(getattr(f, "is_ember_torch_alias", False) for f in sys.meta_path) == 1
        try:
            import torch.no_such_module
        except ModuleNotFoundError as exc:
            assert exc.name == "torch.no_such_module" and "ember" in str(exc), exc
        import torch.nn.modules.linear as lin
        assert lin.Linear is ember.nn.Linear
        print("ok")
    """)
    result = run_python(["-c", code], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
