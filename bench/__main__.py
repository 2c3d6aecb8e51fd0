"""``python -m bench``: the side-by-side ember/PyTorch benchmark (see ``bench/run.py``)."""

import sys

from bench.run import main

sys.exit(main())
