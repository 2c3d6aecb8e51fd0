"""Every collective, on two (or more) ranks, against NumPy. Run under ember-run / mpiexec."""

import numpy as np

import ember
import ember.distributed as dist

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
RANKS = range(world)


def data(r, shape=(2, 3), dtype=np.float32):
    return (np.arange(np.prod(shape)).reshape(shape) * (r + 1) + r).astype(dtype)


def check(name, got, want):
    got = got.numpy() if isinstance(got, ember.Tensor) else np.asarray(got)
    np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=f"{name} on rank {rank}")


assert dist.is_initialized() and dist.get_backend() == "gloo"

# all_reduce, every op, blocking and async
for op, reduce in [
    (dist.ReduceOp.SUM, np.sum),
    (dist.ReduceOp.AVG, np.mean),
    (dist.ReduceOp.MIN, np.min),
    (dist.ReduceOp.MAX, np.max),
    (dist.ReduceOp.PRODUCT, np.prod),
]:
    want = reduce(np.stack([data(r) for r in RANKS]), axis=0)
    t = ember.tensor(data(rank))
    memory = t.numpy()
    assert dist.all_reduce(t, op=op) is None
    check(f"all_reduce {op}", t, want)
    assert t.numpy() is memory  # in place, no new array
    t = ember.tensor(data(rank))
    work = dist.all_reduce(t, op=op, async_op=True)
    work.wait()
    assert work.is_completed()
    check(f"all_reduce async {op}", t, want)

# bitwise reductions on integers (MPI)
t = ember.tensor(np.array([1 << rank, 3], dtype=np.int32))
dist.all_reduce(t, op=dist.ReduceOp.BOR)
check("all_reduce bor", t, np.array([(1 << world) - 1, 3]))

# integers (AVG floors), float16, a non-contiguous tensor
t = ember.tensor(np.array([rank + 1, 7], dtype=np.int64))
dist.all_reduce(t, op=dist.ReduceOp.AVG)
check("all_reduce int avg", t, np.array([sum(r + 1 for r in RANKS) // world, 7]))
t = ember.tensor(data(rank, dtype=np.float16))
dist.all_reduce(t)
check("all_reduce float16", t, sum(data(r, dtype=np.float32) for r in RANKS))
base = ember.tensor(data(rank, (3, 4)))
view = base.t()
dist.all_reduce(view)
check("all_reduce non-contiguous", base, sum(data(r, (3, 4)) for r in RANKS))

# broadcast from each source
for src in RANKS:
    t = ember.tensor(data(rank))
    dist.broadcast(t, src=src)
    check(f"broadcast src={src}", t, data(src))
t = ember.tensor(data(rank))
dist.broadcast(t, src=world - 1, async_op=True).wait()
check("broadcast async", t, data(world - 1))

# reduce onto each destination
for dst in RANKS:
    t = ember.tensor(data(rank))
    dist.reduce(t, dst=dst, op=dist.ReduceOp.MAX)
    check(f"reduce dst={dst}", t, np.max([data(r) for r in RANKS], 0) if rank == dst else data(rank))

# all_gather / all_gather_into_tensor
out = [ember.zeros(2, 3) for _ in RANKS]
dist.all_gather(out, ember.tensor(data(rank)))
for r in RANKS:
    check("all_gather", out[r], data(r))
out = [ember.zeros(2, 3) for _ in RANKS]
dist.all_gather(out, ember.tensor(data(rank)), async_op=True).wait()
check("all_gather async", out[world - 1], data(world - 1))
big = ember.zeros(world * 2, 3)
dist.all_gather_into_tensor(big, ember.tensor(data(rank)))
check("all_gather_into_tensor", big, np.concatenate([data(r) for r in RANKS]))
stacked = ember.zeros(world, 2, 3)
dist.all_gather_into_tensor(stacked, ember.tensor(data(rank)), async_op=True).wait()
check("all_gather_into_tensor stacked", stacked, np.stack([data(r) for r in RANKS]))

# reduce_scatter / reduce_scatter_tensor
inputs = [ember.tensor(data(rank) + i) for i in RANKS]
out = ember.zeros(2, 3)
dist.reduce_scatter(out, inputs)
check("reduce_scatter", out, sum(data(r) + rank for r in RANKS))
full = ember.tensor(np.concatenate([data(rank) * (i + 1) for i in RANKS]))
out = ember.zeros(2, 3)
dist.reduce_scatter_tensor(out, full, op=dist.ReduceOp.AVG, async_op=True).wait()
check("reduce_scatter_tensor avg", out, np.mean([data(r) * (rank + 1) for r in RANKS], 0))

# gather / scatter
for root in RANKS:
    bins = [ember.zeros(2, 3) for _ in RANKS] if rank == root else None
    dist.gather(ember.tensor(data(rank)), bins, dst=root)
    if rank == root:
        for r in RANKS:
            check("gather", bins[r], data(r))
    parts = [ember.tensor(data(r) * 10) for r in RANKS] if rank == root else None
    out = ember.zeros(2, 3)
    dist.scatter(out, parts, src=root)
    check("scatter", out, data(rank) * 10)

# all_to_all (and all_to_all_single)
ins = [ember.tensor(np.full(3, 10 * rank + peer, np.float32)) for peer in RANKS]
outs = [ember.zeros(3) for _ in RANKS]
dist.all_to_all(outs, ins)
for peer in RANKS:
    check("all_to_all", outs[peer], np.full(3, 10 * peer + rank))
single_in = ember.tensor(np.repeat(np.arange(world, dtype=np.float32) + 100 * rank, 2))
single_out = ember.zeros(2 * world)
dist.all_to_all_single(single_out, single_in)
check("all_to_all_single", single_out, np.repeat(100 * np.arange(world) + rank, 2))

# point to point: a ring, blocking and non-blocking
right, left = (rank + 1) % world, (rank - 1) % world
got = ember.zeros(2, 3)
if rank % 2 == 0:
    dist.send(ember.tensor(data(rank)), dst=right)
    sender = dist.recv(got, src=left)
else:
    sender = dist.recv(got)
    dist.send(ember.tensor(data(rank)), dst=right)
assert sender == left, (sender, left)
check("send/recv", got, data(left))
got = ember.zeros(2, 3)
works = [dist.irecv(got, src=left, tag=5), dist.isend(ember.tensor(data(rank)), dst=right, tag=5)]
for w in works:
    w.wait()
check("isend/irecv", got, data(left))

got = ember.zeros(2, 3)
ops = [dist.P2POp(dist.irecv, got, left), dist.P2POp(dist.isend, ember.tensor(data(rank)), right)]
for w in dist.batch_isend_irecv(ops):
    w.wait()
check("batch_isend_irecv", got, data(left))

# objects (pickle, between our own ranks)
objects = [{"from": rank}, "x"] if rank == 1 else [None, None]
dist.broadcast_object_list(objects, src=1)
assert objects == [{"from": 1}, "x"], objects
gathered = [None] * world
dist.all_gather_object(gathered, ("rank", rank))
assert gathered == [("rank", r) for r in RANKS], gathered

# barrier, async
dist.barrier()
work = dist.barrier(async_op=True)
work.wait()
assert work.is_completed()

# groups: every rank calls new_group; only members take part
evens = dist.new_group([r for r in RANKS if r % 2 == 0])
if rank % 2 == 0:
    assert dist.get_rank(evens) == rank // 2
    t = ember.tensor(data(rank))
    dist.all_reduce(t, group=evens)
    check("all_reduce in group", t, sum(data(r) for r in RANKS if r % 2 == 0))
else:
    assert evens is dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(evens) == -1
    assert dist.all_reduce(ember.ones(1), group=evens) is None
last = dist.new_group([world - 1])
if rank == world - 1:
    t = ember.tensor(data(rank))
    dist.broadcast(t, src=world - 1, group=last)
    check("broadcast in a one-rank group", t, data(rank))

dist.destroy_process_group()
assert not dist.is_initialized()
print(f"collectives ok on rank {rank}")
