"""Device check for the nn/optim/autograd additions: new ops on CUDA (CuPy) against the CPU.

Run on a CUDA machine: `PYTHONPATH=$PWD python tools/gpu_check_nn.py`; prints max differences.
"""

import sys
import traceback

import numpy as np

import ember
import ember.autograd.functional as AF
import ember.nn.functional as F
from ember import nn

try:
    import cupy
except ImportError as exc:
    print("no CuPy here:", exc)
    sys.exit(0)
print("cupy", cupy.__version__)
print("cuda available", ember.cuda.is_available())
rng = np.random.default_rng(0)


def both(fn, *arrays, grad=True):
    outs = []
    for dev in ("cpu", "cuda"):
        ts = [ember.tensor(a, device=dev, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
        out = fn(*ts)
        out = out[0] if isinstance(out, tuple) else out
        if grad:
            out.backward(ember.tensor(np.ones(tuple(out.shape)), dtype=out.dtype, device=dev))
        outs.append((out.detach().cpu().numpy(), [t.grad.cpu().numpy() for t in ts if t.grad is not None]))
    d = np.abs(outs[0][0] - outs[1][0]).max()
    dg = max([np.abs(a - b).max() for a, b in zip(outs[0][1], outs[1][1])] or [0])
    return d, dg


checks = {
    "conv3d": (
        lambda x, w: F.conv3d(x, w, stride=(1, 2, 1), padding=1),
        rng.standard_normal((2, 3, 4, 5, 6)),
        rng.standard_normal((4, 3, 3, 2, 3)),
    ),
    "conv_transpose3d": (
        lambda x, w: F.conv_transpose3d(x, w, stride=2),
        rng.standard_normal((1, 3, 3, 3, 3)),
        rng.standard_normal((3, 2, 2, 2, 2)),
    ),
    "max_pool3d": (
        lambda x: F.max_pool3d(x, 2, padding=1, ceil_mode=True),
        rng.standard_normal((2, 3, 5, 6, 7)),
    ),
    "max_pool3d_idx": (
        lambda x: F.max_pool3d(x, 3, stride=2, return_indices=True),
        rng.standard_normal((2, 3, 5, 6, 7)),
    ),
    "avg_pool3d": (
        lambda x: F.avg_pool3d(x, 3, stride=2, padding=1, count_include_pad=False),
        rng.standard_normal((2, 3, 5, 6, 7)),
    ),
    "adaptive_max_pool3d": (
        lambda x: F.adaptive_max_pool3d(x, (2, 4, 3)),
        rng.standard_normal((2, 3, 5, 6, 7)),
    ),
    "adaptive_avg_pool3d": (
        lambda x: F.adaptive_avg_pool3d(x, (2, 4, 3)),
        rng.standard_normal((2, 3, 5, 6, 7)),
    ),
    "frac_pool2d": (
        lambda x, s: F.fractional_max_pool2d(x, 2, output_size=3, _random_samples=s),
        rng.standard_normal((2, 3, 7, 7)),
        rng.random((2, 3, 2)),
    ),
    "grid_sample_bil_refl": (
        lambda x, g: F.grid_sample(x, g, "bilinear", "reflection", False),
        rng.standard_normal((2, 3, 4, 5)),
        rng.uniform(-1.3, 1.3, (2, 3, 4, 2)),
    ),
    "grid_sample_bicubic": (
        lambda x, g: F.grid_sample(x, g, "bicubic", "border", True),
        rng.standard_normal((2, 3, 4, 5)),
        rng.uniform(-1.3, 1.3, (2, 3, 4, 2)),
    ),
    "grid_sample_3d_nearest": (
        lambda x, g: F.grid_sample(x, g, "nearest", "zeros", False),
        rng.standard_normal((1, 2, 3, 4, 5)),
        rng.uniform(-1.3, 1.3, (1, 2, 3, 2, 3)),
    ),
    "affine_grid": (lambda t: F.affine_grid(t, [2, 3, 4, 5], False), rng.standard_normal((2, 2, 3))),
    "cross_map_lrn": (lambda x: nn.CrossMapLRN2d(3, 0.1)(x), rng.standard_normal((2, 5, 3, 3))),
    "channel_shuffle": (lambda x: F.channel_shuffle(x, 2), rng.standard_normal((2, 4, 3))),
    "pad3d_reflect": (lambda x: nn.ReflectionPad3d(1)(x), rng.standard_normal((1, 2, 3, 3, 3))),
    "linear_ce": (
        lambda x, w: F.linear_cross_entropy(x, w, ember.tensor([0, 2, 1], device=x.device)),
        rng.standard_normal((3, 4)),
        rng.standard_normal((3, 4)),
    ),
}
for name, (fn, *arrays) in checks.items():
    try:
        fwd, grad = both(fn, *arrays)
        print(f"{name}: forward {fwd:.2e}, gradients {grad:.2e}")
    except Exception:  # noqa: BLE001 - report every failing check and go on
        print(name, "FAILED")
        traceback.print_exc()
# a few pieces that are not a single differentiable function
try:
    x = ember.randn(4, 5, device="cuda")
    print("gumbel", F.gumbel_softmax(x, hard=True).sum(-1).cpu().tolist())
    lin = nn.LazyLinear(3).cuda()
    print("lazy", lin(ember.randn(2, 4, device="cuda")).shape, lin.weight.device)
    for cls, kw in [(ember.optim.Adafactor, {}), (ember.optim.SparseAdam, {}), (ember.optim.Muon, {})]:
        res = []
        for dev in ("cpu", "cuda"):
            w = ember.tensor(np.arange(12.0).reshape(3, 4) / 10, device=dev, requires_grad=True)
            opt = cls([w], lr=0.1, **kw)
            for _ in range(3):
                w.grad = ember.tensor(np.sin(np.arange(12.0)).reshape(3, 4), device=dev)
                opt.step()
            res.append(w.detach().cpu().numpy())
        print(f"{cls.__name__}: {np.abs(res[0] - res[1]).max():.2e}")
    o = nn.utils.parametrizations.orthogonal(nn.Linear(4, 4).cuda())
    q = o.weight.detach().cpu().numpy()
    print("orthogonal", np.abs(q.T @ q - np.eye(4)).max())
    print("jacobian", AF.jacobian(lambda t: t.exp(), ember.ones(3, device="cuda")).cpu().numpy().diagonal())
except Exception:  # noqa: BLE001 - print it: this is a report
    traceback.print_exc()
