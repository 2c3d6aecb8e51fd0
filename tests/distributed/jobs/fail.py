"""Rank 1 fails (an exception, or SIGKILL) while rank 0 waits for it in a collective."""

import os
import signal
import sys

import ember
import ember.distributed as dist

dist.init_process_group("mpi")
if dist.get_rank() == 1:
    if sys.argv[1] == "raise":
        raise ValueError("rank one cannot go on")
    os.kill(os.getpid(), signal.SIGKILL)
dist.all_reduce(ember.ones(3))  # would wait forever for rank 1
dist.barrier()
