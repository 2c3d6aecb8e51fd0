"""Two 'hosts' of two ranks each on one machine (``--nnodes 2 --nproc-per-node 2``).

Each host's ranks form a group (as ranks sharing a machine would), the first rank of each host
forms a cross-host group, and reductions inside and across them are checked.
"""

import os

import ember
import ember.distributed as dist

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
local, per_host = int(os.environ["LOCAL_RANK"]), int(os.environ["LOCAL_WORLD_SIZE"])
host = int(os.environ["GROUP_RANK"])
assert (world, per_host) == (4, 2) and int(os.environ["RANK"]) == rank
assert local == rank % 2 and host == rank // 2, (rank, local, host)
assert os.environ["MASTER_ADDR"] and os.environ["MASTER_PORT"]

hosts = [dist.new_group([h * per_host + i for i in range(per_host)]) for h in range(2)]
mine = hosts[host]
assert dist.get_process_group_ranks(mine) == [host * per_host + i for i in range(per_host)]
assert dist.get_global_rank(mine, 1) == host * per_host + 1
assert dist.get_group_rank(mine, rank) == local
assert dist.get_rank(mine) == local and dist.get_world_size(mine) == per_host
t = ember.tensor([float(rank)])
dist.all_reduce(t, group=mine)
assert t.item() == sum(range(host * per_host, (host + 1) * per_host)), t

leaders = dist.new_group([0, per_host])  # one rank per host, as a hierarchical all-reduce uses
if local == 0:
    dist.all_reduce(t, group=leaders)
dist.broadcast(t, src=host * per_host, group=mine)
assert t.item() == sum(range(world)), t
print(f"hosts ok on rank {rank} (host {host}, local rank {local})")
