"""Ranks that report their pid and then wait (for the signal-forwarding test)."""

import os
import time

import ember.distributed as dist

dist.init_process_group("mpi")
print(f"ready {dist.get_rank()} {os.getpid()}", flush=True)
time.sleep(120)
