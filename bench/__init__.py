"""ember's benchmark suite: each workload runs with ember and PyTorch side by side."""
