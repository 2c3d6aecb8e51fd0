"""Training on several processes: DistributedDataParallel, DistributedSampler, ember-run.

Each process (rank) holds a replica of the model and reads its own share of the data; during
``backward`` the ranks average their gradients, so every replica takes the same step and the
job trains as one model on the combined batch, N times the samples per step.

    ember-run --nproc-per-node 2 examples/08_distributed.py     # two ranks on this machine
    python examples/08_distributed.py                            # one process works too

(``python -m ember.distributed.run`` is the same launcher as ``ember-run``.)
"""

from __future__ import annotations

import argparse
import os

import ember
import ember.distributed as dist
import ember.nn.functional as F
from ember import nn
from ember.datasets import load_digits
from ember.nn.parallel import DistributedDataParallel as DDP
from ember.utils.data import DataLoader, DistributedSampler


def join_job() -> tuple[int, int]:
    """(rank, world size): join the job when a launcher started several ranks."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group("mpi")  # "gloo" works too (it runs on MPI)
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def evaluate(model, test, rank: int, world: int) -> float:
    """Accuracy on the test set: each rank counts its share, all_reduce adds the counts."""
    sampler = DistributedSampler(test, num_replicas=world, rank=rank, shuffle=False)
    counts = ember.zeros(2)
    model.eval()
    with ember.no_grad():
        for x, y in DataLoader(test, batch_size=256, sampler=sampler):
            counts += ember.tensor([(model(x).argmax(1) == y).sum().item(), len(y)])
    model.train()
    if world > 1:
        dist.all_reduce(counts)  # padding repeats a few samples: close enough for a readout
    return (counts[0] / counts[1]).item()


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=32, help="per rank")
    p.add_argument("--small", action="store_true", help="3 epochs (what CI runs)")
    args = p.parse_args(argv)
    epochs = 3 if args.small else args.epochs
    rank, world = join_job()
    train, test = load_digits("train", flatten=True), load_digits("test", flatten=True)

    ember.manual_seed(rank)  # different on purpose: DDP copies rank 0's weights to everyone
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    if world > 1:
        model = DDP(model)
    sampler = DistributedSampler(train, num_replicas=world, rank=rank, shuffle=True, seed=0)
    loader = DataLoader(train, batch_size=args.batch_size, sampler=sampler)
    optimizer = ember.optim.SGD(model.parameters(), lr=0.05 * world, momentum=0.9)

    losses = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        total = 0.0
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()  # gradients are averaged over the ranks here
            optimizer.step()
            total += loss.item()
        losses.append(total / len(loader))
        if rank == 0:
            print(f"epoch {epoch + 1}: loss {losses[-1]:.3f} (rank 0's batches, {world} ranks)")

    accuracy = evaluate(model, test, rank, world)
    plain = model.module if world > 1 else model  # save this one: keys without "module."
    if rank == 0:
        print(f"test accuracy {accuracy:.3f}; {len(plain.state_dict())} tensors in the state_dict")
    if world > 1:
        dist.destroy_process_group()
    return {"rank": rank, "world": world, "losses": losses, "accuracy": accuracy}


if __name__ == "__main__":
    main()
