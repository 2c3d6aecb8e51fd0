"""The tensorboard package, imported lazily, and the Summary protos the writer needs."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np

__all__ = ["histogram", "image", "load", "png", "scalar", "text"]


def load():
    """``(event_pb2, summary_pb2, EventFileWriter)``, or an ImportError naming the extra."""
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        raise ImportError(
            'ember.utils.tensorboard needs the tensorboard package: pip install "ember[tensorboard]"'
        ) from None
    return event_pb2, summary_pb2, EventFileWriter


def scalar(tag: str, value: float):
    _, summary_pb2, _ = load()
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=float(value))])


def histogram(tag: str, values: np.ndarray, bins="tensorflow", max_bins: int | None = None):
    _, summary_pb2, _ = load()
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError(f"add_histogram({tag!r}): the values are empty")
    if isinstance(bins, str) and bins == "tensorflow":
        bins = 30 if max_bins is None else max_bins
    counts, edges = np.histogram(values, bins=bins)
    proto = summary_pb2.HistogramProto(
        min=float(values.min()),
        max=float(values.max()),
        num=int(values.size),
        sum=float(values.sum()),
        sum_squares=float(np.dot(values, values)),
        bucket_limit=[float(e) for e in edges[1:]],
        bucket=[float(c) for c in counts],
    )
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, histo=proto)])


def png(image_hwc: np.ndarray) -> bytes:
    """A PNG (8-bit grey, RGB or RGBA) from an ``H x W x C`` uint8 array, with zlib only."""
    height, width, channels = image_hwc.shape
    color_type = {1: 0, 3: 2, 4: 6}[channels]
    rows = np.concatenate(
        [np.zeros((height, 1), np.uint8), np.ascontiguousarray(image_hwc, np.uint8).reshape(height, -1)],
        axis=1,
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def image(tag: str, encoded: bytes, height: int, width: int, channels: int):
    _, summary_pb2, _ = load()
    proto = summary_pb2.Summary.Image(
        height=height, width=width, colorspace=channels, encoded_image_string=encoded
    )
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, image=proto)])


def text(tag: str, text_string: str):
    _, summary_pb2, _ = load()
    from tensorboard.compat.proto import tensor_pb2, tensor_shape_pb2, types_pb2
    from tensorboard.plugins.text import metadata

    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING,
        string_val=[text_string.encode("utf-8")],
        tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=1)]),
    )
    meta = metadata.create_summary_metadata(display_name=None, description=None)
    return summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=tag + "/text_summary", metadata=meta, tensor=tensor)]
    )


def figure_png(figure) -> tuple[bytes, int, int]:
    """A matplotlib figure rendered to PNG bytes, with its pixel size."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    width, height = (int(v) for v in figure.canvas.get_width_height())
    return buffer.getvalue(), height, width
