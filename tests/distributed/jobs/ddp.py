"""DistributedDataParallel on two ranks against one process on the concatenated batches."""

import numpy as np

import ember
import ember.distributed as dist
from ember import nn
from ember.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
STEPS, BATCH = 4, 6


def make_model(seed):
    ember.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))


rng = np.random.default_rng(0)  # the same data on every rank
xs = rng.standard_normal((STEPS, world * BATCH, 5)).astype(np.float32)
ys = rng.integers(0, 3, (STEPS, world * BATCH))


def train(model, shard):
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for step in range(STEPS):
        x, y = xs[step], ys[step]
        if shard:
            x, y = x[rank * BATCH : (rank + 1) * BATCH], y[rank * BATCH : (rank + 1) * BATCH]
        opt.zero_grad()
        nn.functional.cross_entropy(model(ember.tensor(x)), ember.tensor(y)).backward()
        opt.step()


# ranks start from different weights: construction broadcasts rank 0's
ddp = DDP(make_model(seed=rank), bucket_cap_mb=0.0002)  # ~200 bytes: several buckets
assert len(ddp.reducer.buckets) >= 3, len(ddp.reducer.buckets)
train(ddp, shard=True)
reference = make_model(seed=0)
train(reference, shard=False)

for (name, p), q in zip(ddp.module.named_parameters(), reference.parameters()):
    everyone = [ember.zeros_like(p) for _ in range(world)]
    dist.all_gather(everyone, p.detach())
    for other in everyone:
        assert np.array_equal(other.numpy(), p.detach().numpy()), f"{name} differs across ranks"
    np.testing.assert_allclose(
        p.detach().numpy(),
        q.detach().numpy(),
        rtol=1e-4,
        atol=1e-5,
        err_msg=f"{name}: DDP != one process on the whole batch",
    )

# overlap: buckets start in order, the first before backward has produced every gradient
log = ddp.reducer.launch_log
n_params = len(list(ddp.parameters()))
assert [entry["bucket"] for entry in log] == list(range(len(ddp.reducer.buckets))), log
assert log[0]["hooks_seen"] < n_params, log
assert log[-1]["hooks_seen"] == n_params, log

# state_dict keys as in PyTorch
assert all(k.startswith("module.") for k in ddp.state_dict())
assert set(ddp.module.state_dict()) == set(reference.state_dict())

# no_sync: two local micro-batches then one synced step == the whole batch at once
accumulate = DDP(make_model(seed=3))
single = make_model(seed=3)
x, y = ember.tensor(xs[0]), ember.tensor(ys[0])
mine = slice(rank * BATCH, (rank + 1) * BATCH)
halves = [slice(mine.start, mine.start + BATCH // 2), slice(mine.start + BATCH // 2, mine.stop)]
with accumulate.no_sync():
    (nn.functional.cross_entropy(accumulate(x[halves[0]]), y[halves[0]]) / 2).backward()
assert accumulate.reducer.launch_log == []
(nn.functional.cross_entropy(accumulate(x[halves[1]]), y[halves[1]]) / 2).backward()
nn.functional.cross_entropy(single(x), y).backward()
for p, q in zip(accumulate.parameters(), single.parameters()):
    np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6)


# find_unused_parameters: a branch only rank 0 uses, and one nobody uses
class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk, self.extra, self.never = nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(self, x, use_extra):
        h = self.trunk(x)
        return self.extra(h) if use_extra else h


ember.manual_seed(5)
branchy = DDP(Branchy(), find_unused_parameters=True)
ones = ember.ones(2, 4)
branchy(ones, use_extra=rank == 0).sum().backward()
assert branchy.module.never.weight.grad is None
local = ember.autograd.grad(
    branchy.module.extra(branchy.module.trunk(ones)).sum(), branchy.module.extra.weight
)[0]
np.testing.assert_allclose(branchy.module.extra.weight.grad.numpy(), local.numpy() / world, rtol=1e-5)

# without it, a parameter that gets no gradient is reported at the next forward
ember.manual_seed(5)
strict = DDP(Branchy())
strict(ones, use_extra=False).sum().backward()
try:
    strict(ones, use_extra=False)
except RuntimeError as exc:
    assert "find_unused_parameters=True" in str(exc) and "extra.weight" in str(exc), exc
else:
    raise AssertionError("an unused parameter was not reported")

# broadcast_buffers: rank 0's running statistics reach every rank at forward
bn_model = DDP(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)))
bn = bn_model.module[1]
with ember.no_grad():
    bn.running_mean.fill_(float(rank + 7))
bn_model.eval()
bn_model(ember.ones(2, 3))
assert np.all(bn.running_mean.numpy() == 7.0), bn.running_mean

dist.destroy_process_group()
print(f"ddp ok on rank {rank}")
