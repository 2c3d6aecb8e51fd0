"""The same architecture exported by PyTorch and by ember, on the same weights, gives the same
outputs in ONNX Runtime."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip
from tests.onnx.zoo import ZOO

ort = pytest.importorskip("onnxruntime", reason="the onnx extra (pip install 'ember[onnx]')")


def _torch_models(torch):
    nn, F = torch.nn, torch.nn.functional

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.avg_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(x.size(0), -1)
            return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)

    class LSTMLanguageModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(40, 16)
            self.lstm = nn.LSTM(16, 24, num_layers=2, batch_first=True)
            self.decoder = nn.Linear(24, 40)

        def forward(self, tokens):
            return self.decoder(self.lstm(self.embed(tokens))[0])

    class GRUClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(8, 12, bidirectional=True, batch_first=True)
            self.fc = nn.Linear(24, 3)

        def forward(self, x):
            return self.fc(self.gru(x)[0][:, -1])

    def mlp():
        return nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 5))

    return {"mlp": mlp, "lenet": LeNet, "lstm_lm": LSTMLanguageModel, "bigru": GRUClassifier}


def _run(blob, x):
    session = ort.InferenceSession(blob)
    return session.run(None, {session.get_inputs()[0].name: x})[0]


@pytest.mark.parametrize("name", ["mlp", "lenet", "lstm_lm", "bigru"])
def test_same_outputs_as_pytorch_export(name):
    torch = torch_or_skip()
    ember.manual_seed(0)
    build, make_input, axes = ZOO[name]
    model = build().eval()
    reference = _torch_models(torch)[name]().eval()
    state = {k: torch.from_numpy(v.detach().numpy().copy()) for k, v in model.state_dict().items()}
    reference.load_state_dict(state)
    x = make_input(3)
    ours, theirs = io.BytesIO(), io.BytesIO()
    ember.onnx.export(model, x, ours, input_names=["input"], dynamic_axes={"input": axes})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                reference,
                (torch.from_numpy(x.numpy()),),
                theirs,
                dynamo=False,
                input_names=["input"],
                dynamic_axes={"input": axes},
            )
        except Exception as exc:  # PyTorch's own exporter missing a dependency here
            pytest.skip(f"torch.onnx.export failed on this machine: {exc}")
    for batch in (3, 4):
        x = make_input(batch).numpy()
        np.testing.assert_allclose(_run(ours.getvalue(), x), _run(theirs.getvalue(), x), rtol=1e-5, atol=1e-5)
