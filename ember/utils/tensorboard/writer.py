"""``SummaryWriter``: scalars, histograms, images, text, hyperparameters and figures for TensorBoard."""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime
from typing import Any, Self

import numpy as np

from ember.utils.tensorboard import _protos
from ember.utils.tensorboard._hparams import hparams_summaries

__all__ = ["SummaryWriter"]


def _numpy(value: Any) -> np.ndarray:
    """A NumPy array from a Tensor, an array or a number (Tensors are read on the host)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _scalar(value: Any) -> float:
    array = _numpy(value)
    if array.size != 1:
        raise ValueError(f"SummaryWriter: a scalar needs one value, got shape {array.shape}")
    return float(array.reshape(()))


def _to_uint8_hwc(img: np.ndarray, dataformats: str) -> np.ndarray:
    dataformats = dataformats.upper()
    if img.ndim != len(dataformats):
        raise ValueError(
            f"add_image: dataformats={dataformats!r} needs a {len(dataformats)}-d image, "
            f"got shape {img.shape}"
        )
    if dataformats in ("HW",):
        img = img[:, :, None]
    elif dataformats == "CHW":
        img = img.transpose(1, 2, 0)
    elif dataformats != "HWC":
        raise ValueError(f"add_image: dataformats should be CHW, HWC or HW, got {dataformats!r}")
    if img.dtype != np.uint8:  # floats in [0, 1], as PyTorch expects
        img = (np.clip(img.astype(np.float64), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if img.shape[2] == 2 or img.shape[2] > 4:
        raise ValueError(f"add_image: 1, 3 or 4 channels expected, got {img.shape[2]}")
    return img


def _grid(images: np.ndarray, dataformats: str) -> np.ndarray:
    """``N`` images tiled into one ``H x W x C`` grid (as PyTorch's ``make_grid``, 8 per row)."""
    dataformats = dataformats.upper()
    if dataformats == "NHWC":
        images = images.transpose(0, 3, 1, 2)
    elif dataformats != "NCHW":
        raise ValueError(f"add_images: dataformats should be NCHW or NHWC, got {dataformats!r}")
    n, c, h, w = images.shape
    cols = min(n, 8)
    rows = -(-n // cols)
    canvas = np.zeros((c, rows * h, cols * w), dtype=images.dtype)
    for i in range(n):
        r, q = divmod(i, cols)
        canvas[:, r * h : (r + 1) * h, q * w : (q + 1) * w] = images[i]
    return canvas


class SummaryWriter:
    """Writes TensorBoard event files into ``log_dir`` (``runs/<date>_<host><comment>`` by default).

    >>> import tempfile
    >>> w = SummaryWriter(tempfile.mkdtemp())
    >>> w.add_scalar("loss", 0.5, global_step=1)
    >>> w.close()
    """

    def __init__(
        self,
        log_dir: str | os.PathLike | None = None,
        comment: str = "",
        purge_step=None,
        max_queue: int = 10,
        flush_secs: int = 120,
        filename_suffix: str = "",
    ) -> None:
        _, _, event_file_writer = _protos.load()
        if log_dir is None:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = os.fspath(log_dir)
        self._max_queue, self._flush_secs, self._suffix = max_queue, flush_secs, filename_suffix
        self._writer = event_file_writer(self.log_dir, max_queue, flush_secs, filename_suffix)
        self._children: dict[str, Any] = {}  # add_scalars' per-tag writers
        self._closed = False
        if purge_step is not None:
            self._add_event(file_version=None, step=purge_step, session_log=True)

    def get_logdir(self) -> str:
        return self.log_dir

    # -- events ----------------------------------------------------------------------------
    def _add_event(
        self, summary=None, step=None, walltime=None, file_version=None, session_log: bool = False
    ) -> None:
        if self._closed:
            self._writer = _protos.load()[2](self.log_dir, self._max_queue, self._flush_secs, self._suffix)
            self._closed = False
        event_pb2 = _protos.load()[0]
        event = event_pb2.Event(wall_time=time.time() if walltime is None else walltime)
        if step is not None:
            event.step = int(step)
        if summary is not None:
            event.summary.CopyFrom(summary)
        if session_log:
            event.session_log.status = event_pb2.SessionLog.START
        self._writer.add_event(event)

    def add_scalar(
        self,
        tag: str,
        scalar_value,
        global_step: int | None = None,
        walltime: float | None = None,
        new_style: bool = False,
        double_precision: bool = False,
    ) -> None:
        """One number at ``global_step``."""
        self._add_event(_protos.scalar(tag, _scalar(scalar_value)), global_step, walltime)

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: dict,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Several numbers in one chart: each goes to ``log_dir/<main_tag>_<tag>``, as PyTorch does."""
        for tag, value in tag_scalar_dict.items():
            folder = os.path.join(self.log_dir, f"{main_tag.replace('/', '_')}_{tag}")
            child = self._children.get(folder)
            if child is None:
                child = self._children[folder] = SummaryWriter(
                    folder, max_queue=self._max_queue, flush_secs=self._flush_secs
                )
            child.add_scalar(main_tag, value, global_step, walltime)

    def add_histogram(
        self,
        tag: str,
        values,
        global_step: int | None = None,
        bins="tensorflow",
        walltime: float | None = None,
        max_bins: int | None = None,
    ) -> None:
        """A histogram of ``values`` (``bins``: a count, edges, a NumPy rule or 'tensorflow')."""
        self._add_event(_protos.histogram(tag, _numpy(values), bins, max_bins), global_step, walltime)

    def add_image(
        self,
        tag: str,
        img_tensor,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "CHW",
    ) -> None:
        """One image: floats in [0, 1] or uint8, ``dataformats`` CHW (default), HWC or HW."""
        img = _to_uint8_hwc(_numpy(img_tensor), dataformats)
        summary = _protos.image(tag, _protos.png(img), img.shape[0], img.shape[1], img.shape[2])
        self._add_event(summary, global_step, walltime)

    def add_images(
        self,
        tag: str,
        img_tensor,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "NCHW",
    ) -> None:
        """A batch of images, tiled into one grid image."""
        self.add_image(tag, _grid(_numpy(img_tensor), dataformats), global_step, walltime, "CHW")

    def add_figure(
        self,
        tag: str,
        figure,
        global_step: int | None = None,
        close: bool = True,
        walltime: float | None = None,
    ) -> None:
        """A matplotlib figure (or a list of them, tiled), rendered to an image."""
        figures = figure if isinstance(figure, list) else [figure]
        for i, fig in enumerate(figures):
            encoded, height, width = _protos.figure_png(fig)
            name = tag if len(figures) == 1 else f"{tag}/{i}"
            self._add_event(_protos.image(name, encoded, height, width, 4), global_step, walltime)
            if close:
                import matplotlib.pyplot as plt

                plt.close(fig)

    def add_text(
        self, tag: str, text_string: str, global_step: int | None = None, walltime: float | None = None
    ) -> None:
        """Text (markdown) shown in TensorBoard's Text tab."""
        self._add_event(_protos.text(tag, text_string), global_step, walltime)

    def add_hparams(
        self,
        hparam_dict: dict,
        metric_dict: dict,
        hparam_domain_discrete=None,
        run_name: str | None = None,
        global_step: int | None = None,
    ) -> None:
        """One run's hyperparameters and metrics for the HParams tab (in a sub-run, as PyTorch)."""
        if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
            raise TypeError("add_hparams: hparam_dict and metric_dict should be dicts")
        run = SummaryWriter(os.path.join(self.log_dir, run_name or str(time.time())))
        for summary in hparams_summaries(hparam_dict, metric_dict):
            run._add_event(summary, global_step)
        for tag, value in metric_dict.items():
            run.add_scalar(tag, value, global_step)
        run.close()

    # -- lifetime --------------------------------------------------------------------------
    def flush(self) -> None:
        """Write everything queued to disk."""
        if not self._closed:
            self._writer.flush()
        for child in self._children.values():
            child.flush()

    def close(self) -> None:
        """Flush and close the event files (a later ``add_*`` opens a new one)."""
        if not self._closed:
            self._writer.close()
            self._closed = True
        for child in self._children.values():
            child.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
