"""The GPU check of the NCCL path: collectives and DDP on CUDA tensors, one GPU per rank.

ember-run --nproc-per-node 1 tests/distributed/jobs/nccl_gpu.py    # one GPU: world size 1
ember-run --nproc-per-node 2 tests/distributed/jobs/nccl_gpu.py    # two GPUs or more
"""

import os

import numpy as np

import ember
import ember.distributed as dist

dist.init_process_group("nccl")
rank, world = dist.get_rank(), dist.get_world_size()
device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
ember.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))


def on_gpu(values):
    return ember.tensor(np.asarray(values, dtype=np.float32), device=device)


for op, reduce in [
    (dist.ReduceOp.SUM, np.sum),
    (dist.ReduceOp.AVG, np.mean),
    (dist.ReduceOp.MAX, np.max),
    (dist.ReduceOp.MIN, np.min),
]:
    t = on_gpu([rank + 1.0, 2.0 * rank])
    dist.all_reduce(t, op=op)
    want = reduce([[r + 1.0, 2.0 * r] for r in range(world)], axis=0)
    np.testing.assert_allclose(t.cpu().numpy(), want, err_msg=str(op))
t = on_gpu([float(rank)] * 3)
dist.all_reduce(t, async_op=True).wait()
dist.broadcast(t, src=0)
out = [on_gpu([0.0] * 3) for _ in range(world)]
dist.all_gather(out, on_gpu([float(rank)] * 3))
assert [o.cpu().tolist() for o in out] == [[float(r)] * 3 for r in range(world)]
big = on_gpu([0.0] * (3 * world))
dist.all_gather_into_tensor(big, on_gpu([float(rank)] * 3))
red = on_gpu([0.0] * 3)
dist.reduce_scatter_tensor(red, on_gpu([1.0] * (3 * world)))
assert red.cpu().tolist() == [float(world)] * 3
dist.barrier()

ember.manual_seed(0)
model = ember.nn.parallel.DistributedDataParallel(ember.nn.Linear(4, 2).to(device))
model(ember.ones(3, 4, device=device)).sum().backward()
assert model.module.weight.grad.device.type == "cuda"
dist.destroy_process_group()
print(f"nccl ok on rank {rank} of {world} ({device})")
