"""The errors ``ember.onnx.export`` raises."""

from __future__ import annotations


class OnnxExporterError(RuntimeError):
    """Export failed; nothing was written."""


class UnsupportedOperatorError(OnnxExporterError):
    """An op of the traced model has no ONNX mapping, or tracing cannot capture it."""
