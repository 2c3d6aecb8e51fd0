"""ember keeps freed memory for reuse (glibc), so a training loop stops faulting pages back in."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc settings, Linux only")

_LOOP = textwrap.dedent("""
    import resource
    import numpy as np
    import ember

    def step():  # allocate and free arrays of a few MB, as a training step does
        big = [np.ones(1 << 20, np.float32) * i for i in range(12)]
        return sum(float(b[0]) for b in big)

    for _ in range(3):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        step()
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) // 20)
""")


def _faults_per_step(malloc: str | None) -> int:
    env = dict(os.environ)
    env.pop("EMBER_MALLOC", None)
    if malloc is not None:
        env["EMBER_MALLOC"] = malloc
    out = subprocess.run([sys.executable, "-c", _LOOP], env=env, capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def test_freed_arrays_are_reused_without_page_faults():
    from ember.backend import allocator

    if not allocator.keep_freed_memory():
        pytest.skip("not glibc")
    assert _faults_per_step(None) < 50


@pytest.mark.slow
def test_opting_out_leaves_glibc_defaults():
    assert _faults_per_step("default") > 1000  # each 4 MB array is mapped and faulted in afresh
