"""``ember.onnx``: export a trained model to ONNX (``torch.onnx.export``'s API).

>>> import ember.onnx
>>> ember.onnx.is_in_onnx_export()
False

``export`` needs the optional ``onnx`` package (``pip install "ember[onnx]"``); importing this
module does not.
"""

from __future__ import annotations

from ember.onnx.errors import OnnxExporterError, UnsupportedOperatorError
from ember.onnx.export import export, is_in_onnx_export

__all__ = ["OnnxExporterError", "UnsupportedOperatorError", "export", "is_in_onnx_export"]
