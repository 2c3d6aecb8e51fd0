"""Matplotlib, loaded lazily, and PNGs written atomically."""

from __future__ import annotations

import io
import os

from ember.serialization.atomic import atomic_write

__all__ = ["pyplot", "save_figure"]


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend, or an ImportError naming the extra."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError('plotting needs matplotlib: pip install "ember[plot]"') from None
    if matplotlib.get_backend().lower() != "agg" and not os.environ.get("DISPLAY"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | os.PathLike, dpi: int = 100) -> str:
    """Write ``fig`` as a PNG at ``path`` atomically, close it, and return the path."""
    plt = pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with atomic_write(path) as out:
        out.write(buffer.getvalue())
    return path
