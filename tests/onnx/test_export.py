"""ember.onnx.export: the zoo exported, run by ONNX Runtime, compared with ember at two batch sizes."""

from __future__ import annotations

import io

import numpy as np
import pytest

import ember
import ember.nn as nn
from tests.onnx.zoo import ZOO

ort = pytest.importorskip("onnxruntime", reason="the onnx extra (pip install 'ember[onnx]')")
onnx = pytest.importorskip("onnx", reason="the onnx extra (pip install 'ember[onnx]')")


def export_bytes(model, args, **kwargs) -> bytes:
    f = io.BytesIO()
    ember.onnx.export(model, args, f, **kwargs)
    return f.getvalue()


def run(blob: bytes, *inputs) -> list:
    session = ort.InferenceSession(blob)
    names = [i.name for i in session.get_inputs()]
    return session.run(None, {n: t.numpy() for n, t in zip(names, inputs)})


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_matches_ember_at_two_batch_sizes(name):
    ember.manual_seed(0)
    build, make_input, axes = ZOO[name]
    model = build().eval()
    blob = export_bytes(
        model,
        make_input(2),
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": axes, "output": {0: "batch"}},
    )
    for batch in (2, 5):
        x = make_input(batch)
        (got,) = run(blob, x)
        with ember.no_grad():
            want = model(x).numpy()
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_file_is_a_valid_onnx_model_with_named_initializers(tmp_path):
    model = ZOO["lenet"][0]().eval()
    path = tmp_path / "lenet.onnx"
    ember.onnx.export(
        model, ember.randn(1, 1, 28, 28), str(path), input_names=["image"], output_names=["logits"]
    )
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    initializers = {i.name for i in proto.graph.initializer}
    assert {"conv1.weight", "conv1.bias", "fc2.weight"} <= initializers
    assert [i.name for i in proto.graph.input] == ["image"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    assert proto.opset_import[0].version == 17


def test_without_dynamic_axes_the_shapes_are_fixed():
    model = ZOO["mlp"][0]().eval()
    proto = onnx.load_from_string(export_bytes(model, ember.randn(3, 10)))
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [3, 10]


def test_dynamic_axes_name_the_dimensions():
    model = ZOO["mlp"][0]().eval()
    blob = export_bytes(model, ember.randn(3, 10), input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    proto = onnx.load_from_string(blob)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param


def test_export_params_false_makes_parameters_inputs():
    model = nn.Linear(3, 2).eval()
    blob = export_bytes(model, ember.randn(4, 3), export_params=False)
    proto = onnx.load_from_string(blob)
    assert [i.name for i in proto.graph.input] == ["input", "weight", "bias"]
    assert not proto.graph.initializer


def test_keyword_inputs_as_a_trailing_dict_and_several_outputs():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 2), nn.Linear(4, 3)

        def forward(self, x, scale=None):
            return self.a(x) * scale, self.b(x)

    model = TwoHeads().eval()
    x, scale = ember.randn(2, 4), ember.tensor(3.0)
    blob = export_bytes(model, (x, {"scale": scale}), input_names=["x", "scale"])
    got = run(blob, x, scale)
    with ember.no_grad():
        want = model(x, scale=scale)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-5, atol=1e-6)


def test_export_runs_in_eval_mode_and_restores_training():
    model = ZOO["mlp"][0]()
    assert model.training
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append((self.training, ember.onnx.is_in_onnx_export()))
            return x

    model.append(Probe())
    export_bytes(model, ember.randn(2, 10))
    assert model.training and not ember.onnx.is_in_onnx_export()
    assert seen and all(s == (False, True) for s in seen)


def test_reachable_as_torch_onnx():
    import ember as torch

    assert callable(torch.onnx.export)


@pytest.mark.parametrize("opset", [14, 18, 21])
def test_other_opsets(opset):
    model = ZOO["resnet"][0]().eval()
    x = ember.randn(2, 3, 16, 16)
    (got,) = run(export_bytes(model, x, opset_version=opset), x)
    with ember.no_grad():
        np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-5, atol=1e-5)


def test_unsupported_opset():
    with pytest.raises(ValueError, match="opset_version 9"):
        export_bytes(nn.Linear(2, 2), ember.randn(1, 2), opset_version=9)


def test_ops_other_threads_run_meanwhile_stay_out_of_the_graph():
    """The trace hook is process-wide; a DataLoader or logging thread computing with ember
    while the model is traced must not add its ops to the model's graph (here such a thread
    runs, deterministically, in the middle of the first trace)."""
    import threading

    class Busy(nn.Module):
        calls = 0

        def forward(self, x):
            Busy.calls += 1
            if Busy.calls == 1:  # during the first of export's two traces only
                other = threading.Thread(target=lambda: (ember.ones(3, 3) @ ember.ones(3, 3)).exp().sum())
                other.start()
                other.join()
            return x

    model = nn.Sequential(nn.Linear(4, 8), Busy(), nn.ReLU(), nn.Linear(8, 2)).eval()
    x = ember.randn(2, 4)
    blob = export_bytes(model, x, input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    kinds = [node.op_type for node in onnx.load_from_string(blob).graph.node]
    assert "Exp" not in kinds and "ReduceSum" not in kinds, kinds
    np.testing.assert_allclose(run(blob, x)[0], model(x).detach().numpy(), rtol=1e-5, atol=1e-6)
