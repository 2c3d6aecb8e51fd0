"""The Learner on two ranks: it wraps the model in DDP and the loader in DistributedSampler."""

import numpy as np

import ember
import ember.distributed as dist
from ember import nn
from ember.train import Learner
from ember.utils.data import DataLoader, TensorDataset

dist.init_process_group("mpi")
rng = np.random.default_rng(0)
x = rng.standard_normal((64, 4)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int64)
ds = TensorDataset(ember.from_numpy(x), ember.from_numpy(y))
ember.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
learn = Learner(
    model,
    DataLoader(ds, batch_size=8, shuffle=True),
    DataLoader(ds, batch_size=16),
    device="cpu",
    progress=False,
)
learn.fit(2, lr=0.05)
w = model[0].weight.detach().numpy().copy()
ws = [None] * dist.get_world_size()
dist.all_gather_object(ws, w)
print(
    f"rank {dist.get_rank()}: {type(learn.train_model).__name__}, sampler "
    f"{type(learn.train_loader.sampler).__name__}, batches {len(learn.train_loader)}, "
    f"same weights on all ranks: {all(np.array_equal(ws[0], v) for v in ws)}",
    flush=True,
)
dist.destroy_process_group()
