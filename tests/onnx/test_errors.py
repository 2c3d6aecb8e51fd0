"""What export refuses, and that it refuses before writing anything."""

from __future__ import annotations

import sys

import pytest

import ember
import ember.nn as nn

pytest.importorskip("onnx", reason="the onnx extra (pip install 'ember[onnx]')")


class Atan2Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        y = self.fc(x)
        return ember.atan2(y[:, :1], y[:, 1:])


class Branchy(nn.Module):
    def forward(self, x):
        if x.sum() > 0:  # data-dependent control flow
            return x * 2
        return x.exp() - 1


class ReadsValues(nn.Module):
    def forward(self, x):
        return x * float(x.abs().max())  # a value leaves the graph through Python


def test_unsupported_op_names_the_op_and_where_it_was_called(tmp_path):
    path = tmp_path / "m.onnx"
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match=r"Atan2 \(called in Atan2Head"):
        ember.onnx.export(Atan2Head(), ember.randn(3, 4), str(path))
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind either


def test_failed_export_leaves_an_existing_file_alone(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    with pytest.raises(ember.onnx.UnsupportedOperatorError):
        ember.onnx.export(Atan2Head(), ember.randn(3, 4), str(path))
    assert path.read_bytes() == b"old"


def test_data_dependent_control_flow_is_explained(tmp_path):
    with pytest.raises(
        ember.onnx.UnsupportedOperatorError,
        match=r"Branchy.*reads a tensor's value.*data-dependent control flow",
    ):
        ember.onnx.export(Branchy(), ember.randn(2, 3), str(tmp_path / "m.onnx"))


def test_values_computed_outside_the_graph_are_refused(tmp_path):
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="float"):
        ember.onnx.export(ReadsValues(), ember.randn(3, 4), str(tmp_path / "m.onnx"))


def test_unknown_dynamic_axes_name(tmp_path):
    with pytest.raises(ember.onnx.OnnxExporterError, match="not an input or output name"):
        ember.onnx.export(
            nn.Linear(2, 2),
            ember.randn(1, 2),
            str(tmp_path / "m.onnx"),
            dynamic_axes={"images": {0: "batch"}},
        )


def test_missing_onnx_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"ember\[onnx\]"):
        ember.onnx.export(nn.Linear(2, 2), ember.randn(1, 2), str(tmp_path / "m.onnx"))
