"""Small models covering every layer kind and position grow supports, with example inputs."""

from __future__ import annotations

import ember
import ember.nn.functional as F
from ember import nn


class CustomCNN(nn.Module):
    """Attributes of a custom module, functional relu/pool/view/silu between them."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 3, 3)
        self.c2 = nn.Conv2d(3, 5, 3)
        self.fc = nn.Linear(5 * 2 * 2, 10)
        self.out = nn.Linear(10, 2)

    def forward(self, x):
        x = F.relu(self.c1(x))
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        x = x.view(x.size(0), -1)
        return self.out(F.silu(self.fc(x)) * 0.5 + 1)


class Residual(nn.Module):
    """``a`` and ``b`` meet in a residual add: their units are tied."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.b = nn.Linear(4, 4)
        self.c = nn.Linear(4, 2)

    def forward(self, x):
        h = F.relu(self.a(x))
        return self.c(h + F.relu(self.b(h)))


class Nested(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Sequential(nn.Linear(3, 4), nn.Tanh()), nn.Dropout(0.2))
        self.head = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))

    def forward(self, x):
        return self.head(self.body(x))


class Embedder(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.fc = nn.Linear(4, 3)

    def forward(self, i):
        return self.fc(self.emb(i)).mean(1)


class GlobalPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3)
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3)))


def mlp():
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)), ember.randn(5, 4)


def cnn_bn_flatten():
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 5),
    )
    return net, ember.randn(3, 1, 8, 8)


def linear_bn():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    return net, ember.randn(6, 3)


def conv1d():
    net = nn.Sequential(
        nn.Conv1d(2, 3, 3),
        nn.BatchNorm1d(3),
        nn.ReLU(),
        nn.AvgPool1d(2),
        nn.Conv1d(3, 2, 1),
        nn.Flatten(),
        nn.Linear(2 * 3, 1),
    )
    return net, ember.randn(2, 2, 8)


def warmed(net, x):
    """Move BatchNorm running statistics away from their initial values."""
    net.train()
    with ember.no_grad():
        for _ in range(2):
            net(x)
    return net


def activations():
    net = nn.Sequential(
        nn.Linear(3, 4),
        nn.ReLU(inplace=True),
        nn.Dropout(0.5),
        nn.Linear(4, 4),
        nn.LeakyReLU(),
        nn.GELU(),
        nn.Linear(4, 4),
        nn.ELU(),
        nn.Softplus(),
        nn.Linear(4, 1),
    )
    return net, ember.randn(5, 3)


#: (id, builder, layer names to widen, new width)
WIDEN_CASES = [
    ("sequential-linear", mlp, "0", 7),
    ("conv-bn-pool-flatten-linear", cnn_bn_flatten, "0", 7),
    ("linear-batchnorm1d", linear_bn, "0", 9),
    ("custom-conv-into-conv", lambda: (CustomCNN(), ember.randn(2, 1, 8, 8)), "c1", 4),
    ("custom-conv-view-linear", lambda: (CustomCNN(), ember.randn(2, 1, 8, 8)), "c2", 9),
    ("custom-linear-silu", lambda: (CustomCNN(), ember.randn(2, 1, 8, 8)), "fc", 13),
    ("nested", lambda: (Nested(), ember.randn(4, 3)), "body.0.0", 6),
    ("nested-head", lambda: (Nested(), ember.randn(4, 3)), "head.0", 5),
    ("tied-residual", lambda: (Residual(), ember.randn(4, 3)), ["a", "b"], 6),
    ("embedding", lambda: (Embedder(), ember.tensor([[1, 2, 3], [4, 5, 6]])), "emb", 7),
    ("global-mean-pool", lambda: (GlobalPool(), ember.randn(2, 2, 6, 6)), "conv", 5),
    ("conv1d-bn-avgpool", conv1d, "0", 5),
    ("doubling", mlp, "0", 6),
    ("inplace-relu-dropout", activations, "0", 7),
    ("leaky-gelu", activations, "3", 7),
    ("elu-softplus", activations, "6", 9),
]
