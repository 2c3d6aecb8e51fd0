"""``python -m bench.bench_gpu``: an alias of ``python -m bench --device cuda`` (``bench/gpu.py``)."""

import sys

from bench.gpu import main

if __name__ == "__main__":
    sys.exit(main())
