"""Device check for the compat branch: whole-model save/load on CUDA, cuDNN and accelerator probes,
share_memory_ on CUDA, range indexing on CUDA. Run on a GPU machine: PYTHONPATH=$PWD python
tools/device_check_compat.py (prints OK at the end; exits quietly without CuPy)."""

import io
import sys

import numpy as np

try:
    import cupy

    print("cupy", cupy.__version__)
except Exception as e:  # noqa: BLE001
    print("no cupy", e)
    sys.exit(0)
import ember

print("cuda available", ember.cuda.is_available())
print("cudnn", ember.backends.cudnn.is_available(), ember.backends.cudnn.version())
print("cuda built", ember.backends.cuda.is_built())
acc = ember.accelerator
print(
    acc.current_accelerator(),
    acc.device_count(),
    acc.current_device_index(),
    acc.memory_allocated(),
    acc.get_memory_info(),
    acc.get_device_capability()["supported_dtypes"][:3],
)
with acc.device_index(0):
    pass
acc.synchronize()
acc.empty_cache()
nn = ember.nn
m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).cuda()
opt = ember.optim.Adam(m.parameters(), lr=0.1)
x = ember.randn(5, 4, device="cuda")
m(x).sum().backward()
opt.step()
b = io.BytesIO()
ember.save({"m": m, "opt": opt, "arr": np.arange(3)}, b)
b.seek(0)
d = ember.load(b, weights_only=False)
w = d["m"][0].weight
print("loaded device", w.device, d["opt"].state[w]["exp_avg"].device, type(d["arr"]))
print("diff", (d["m"](x) - m(x)).abs().max().item())
b.seek(0)
d2 = ember.load(b, weights_only=False, map_location="cpu")
print("cpu map", d2["m"][0].weight.device, (d2["m"](x.cpu()) - m(x).cpu()).abs().max().item())
for _ in range(2):
    d["opt"].zero_grad()
    d["m"](x).sum().backward()
    d["opt"].step()
print("trained on after load")
t = ember.ones(3, device="cuda")
print("cuda shared", t.share_memory_() is t, t.is_shared())
y = ember.arange(10.0, device="cuda")
print(y[range(2, 8, 3)].tolist())
y[range(3)] = 0.0
print(y[:4].tolist())
ember.backends.cuda.matmul.allow_tf32 = True
from ember.backend import flags

print("flag", flags.matmul.allow_tf32)
print("OK")
