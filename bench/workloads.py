"""The training workloads of the benchmark, written once against PyTorch's API.

Every builder takes the library as ``m`` (``ember`` or ``torch``), so both run the same code:

    >>> import ember
    >>> run = build("mlp", ember)
    >>> loss = run.step()

Weights are drawn from one seeded NumPy generator after each library's own initialisation
(each non-constant parameter is redrawn uniformly in +-1/sqrt(fan-in)), and the data are seeded
NumPy arrays, so ember and PyTorch see identical numbers: their first losses must agree, which
the harness checks.

FLOPs are counted analytically (``Workload.flops``): matrix products only (linear layers,
convolutions, the two attention products, the LSTM gates, the char-RNN cell), two FLOPs per
multiply-add. A layer costs its forward product once for the forward pass and twice more for the
backward pass (the weight gradient and the input gradient), except that nobody asks for the
gradient of the first layer's input (the data), so that layer costs two. Elementwise work,
normalisation, pooling, losses and the optimizer step are left out; they are a few percent of
the FLOPs, but (on the CPU) often most of the time, which is what the achieved-fraction-of-peak
column shows.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

DEFAULT_STEPS = {"mlp": 40, "lenet": 30, "convnet": 10, "gpt": 10, "lstm": 10, "resnet": 5, "charrnn": 40}
WARMUP_STEPS = 3


@dataclass
class Workload:
    """A model, its optimizer and data, ready to train: ``step()`` runs one training step.

    The parts are kept too, so that other harnesses (``bench/gpu.py``: autocast, CUDA graphs)
    can write their own step: ``loss(*batch)`` is the forward pass to the scalar loss, and
    ``clip`` the max gradient norm applied between backward and the optimizer step (or None).
    """

    name: str
    step: Callable[[], object]
    model: object
    flops: float  # per training step, analytically
    optimizer: object = None
    batches: list = field(default_factory=list)
    loss: Callable[..., object] | None = None
    clip: float | None = None


def _trainer(m, name: str, model, optimizer, batches, loss, flops: float, clip=None) -> Workload:
    """The Workload whose step cycles through ``batches``: zero_grad, loss, backward, [clip], step."""
    params = list(model.parameters())
    position = [0]

    def step():
        batch = batches[position[0] % len(batches)]
        position[0] += 1
        optimizer.zero_grad(set_to_none=True)
        value = loss(*batch)
        value.backward()
        if clip is not None:
            m.nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        return value

    return Workload(name, step, model, flops, optimizer, batches, loss, clip)


def _products(*layers) -> float:
    """Training FLOPs of matrix products given as (multiply-adds per forward, input needs grad)."""
    return sum(2.0 * macs * (3 if input_grad else 2) for macs, input_grad in layers)


def _seeded_weights(m, model, rng) -> None:
    """Redraw every non-constant parameter from ``rng``: uniform with bound 1/sqrt(fan-in)."""
    with m.no_grad():
        for _, p in model.named_parameters():
            current = p.detach().numpy()
            if current.size == 0 or current.min() == current.max():
                continue  # constant inits (norm weights, zero biases) match already
            fan_in = math.prod(current.shape[1:]) if current.ndim > 1 else current.shape[0]
            fresh = rng.uniform(-1.0, 1.0, current.shape) / math.sqrt(fan_in)
            p.copy_(m.tensor(fresh.astype(np.float32)))


def _batches(rng, count: int, make) -> list:
    return [make(rng) for _ in range(count)]


def _classifier(m, name: str, model, optimizer, batches, flops: float) -> Workload:
    """A classifier's Workload: cross-entropy of ``model(x)`` against the labels ``y``."""
    return _trainer(
        m, name, model, optimizer, batches, lambda x, y: m.nn.functional.cross_entropy(model(x), y), flops
    )


def _images(m, rng, shape, classes: int = 10):
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, classes, shape[0]).astype(np.int64)
    return m.tensor(x), m.tensor(y)


def mlp(m, seed: int = 0, sizes=(784, 512, 512, 10), batch: int = 128) -> Workload:
    """784-512-512-10 with ReLU, batch 128, SGD with momentum 0.9."""
    nn = m.nn
    layers = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers += [nn.Linear(fan_in, fan_out)] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
    model = nn.Sequential(*layers)
    rng = np.random.default_rng(seed)
    _seeded_weights(m, model, rng)
    data = _batches(rng, 4, lambda r: _images(m, r, (batch, sizes[0]), sizes[-1]))
    opt = m.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    flops = _products(*((batch * a * b, i > 0) for i, (a, b) in enumerate(itertools.pairwise(sizes))))
    return _classifier(m, "mlp", model, opt, data, flops)


def lenet(m, seed: int = 0, batch: int = 64) -> Workload:
    """LeNet-5 (ReLU, max-pool) on 1x28x28, batch 64, SGD with momentum 0.9."""
    nn = m.nn
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )
    rng = np.random.default_rng(seed)
    _seeded_weights(m, model, rng)
    data = _batches(rng, 4, lambda r: _images(m, r, (batch, 1, 28, 28)))
    opt = m.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    flops = _products(
        (batch * 28 * 28 * 6 * 1 * 25, False),
        (batch * 10 * 10 * 16 * 6 * 25, True),
        (batch * 400 * 120, True),
        (batch * 120 * 84, True),
        (batch * 84 * 10, True),
    )
    return _classifier(m, "lenet", model, opt, data, flops)


def convnet(m, seed: int = 0, batch: int = 64, widths=(32, 64, 128)) -> Workload:
    """Three 3x3 convs (32, 64, 128) each with BatchNorm2d, ReLU, MaxPool2d(2); Linear to 10."""
    nn = m.nn
    layers, channels, side, conv_layers = [], 3, 32, []
    for width in widths:
        layers += [
            nn.Conv2d(channels, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.MaxPool2d(2),
        ]
        conv_layers.append((batch * side * side * width * channels * 9, channels != 3))
        channels, side = width, side // 2
    model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * side * side, 10))
    rng = np.random.default_rng(seed)
    _seeded_weights(m, model, rng)
    data = _batches(rng, 4, lambda r: _images(m, r, (batch, 3, 32, 32)))
    opt = m.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    flops = _products(*conv_layers, (batch * channels * side * side * 10, True))
    return _classifier(m, "convnet", model, opt, data, flops)


def _gpt_model(m, vocab: int, context: int, layers: int, heads: int, d: int):
    nn, F = m.nn, m.nn.functional

    class Block(nn.Module):
        """Pre-LayerNorm transformer block: causal self-attention, then a 4x GELU MLP."""

        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = (
                z.view(b, t, heads, c // heads).transpose(1, 2) for z in self.qkv(self.ln1(x)).split(c, dim=2)
            )
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
            return x + self.out(F.gelu(self.fc(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens, self.positions = nn.Embedding(vocab, d), nn.Embedding(context, d)
            self.blocks = nn.Sequential(*(Block() for _ in range(layers)))
            self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, vocab, bias=False)
            self.register_buffer("index", m.arange(context))

        def forward(self, idx):
            x = self.tokens(idx) + self.positions(self.index[: idx.shape[1]])
            return self.head(self.ln(self.blocks(x)))

    return GPT()


def gpt(
    m,
    seed: int = 0,
    vocab: int = 65,
    context: int = 64,
    layers: int = 4,
    heads: int = 4,
    d: int = 128,
    batch: int = 32,
    capturable: bool = False,
) -> Workload:
    """Character-level GPT: 4 pre-LN blocks, 4 heads, d_model 128, context 64, AdamW, batch 32.

    ``capturable=True`` builds AdamW with ``capturable=True`` (for CUDA-graph capture)."""
    F = m.nn.functional
    model = _gpt_model(m, vocab, context, layers, heads, d)
    rng = np.random.default_rng(seed)
    _seeded_weights(m, model, rng)

    def sequences(r):
        tokens = r.integers(0, vocab, (batch, context + 1)).astype(np.int64)
        return m.tensor(tokens[:, :-1].copy()), m.tensor(tokens[:, 1:].copy())

    data = _batches(rng, 4, sequences)
    # the keyword only when asked: an optimizer without it still builds the eager workload
    extra = {"capturable": True} if capturable else {}
    opt = m.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1, **extra)

    def loss(x, y):
        return F.cross_entropy(model(x).view(-1, vocab), y.view(-1))

    tokens = batch * context
    per_block = [
        (tokens * d * 3 * d, True),
        (tokens * d * d, True),
        (tokens * d * 4 * d, True),
        (tokens * 4 * d * d, True),
        (batch * context * context * d, True),
        (batch * context * context * d, True),
    ]
    flops = _products(*(per_block * layers), (tokens * d * vocab, True))
    return _trainer(m, "gpt", model, opt, data, loss, flops)


def lstm(
    m,
    seed: int = 0,
    vocab: int = 1000,
    embed: int = 256,
    hidden: int = 256,
    seq: int = 35,
    batch: int = 32,
    clip: float = 0.25,
) -> Workload:
    """Word-level LSTM language model: Embedding -> 1-layer LSTM -> Linear, SGD with clipping."""
    nn, F = m.nn, m.nn.functional

    class LanguageModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, embed)
            self.rnn = nn.LSTM(embed, hidden)
            self.decode = nn.Linear(hidden, vocab)

        def forward(self, tokens):  # (seq, batch), sequence first as in PyTorch's default
            out, _ = self.rnn(self.embed(tokens))
            return self.decode(out)

    model = LanguageModel()
    rng = np.random.default_rng(seed)
    _seeded_weights(m, model, rng)

    def sequences(r):
        tokens = r.integers(0, vocab, (seq + 1, batch)).astype(np.int64)
        return m.tensor(tokens[:-1].copy()), m.tensor(tokens[1:].copy())

    data = _batches(rng, 4, sequences)
    opt = m.optim.SGD(model.parameters(), lr=0.5)

    def loss(x, y):
        return F.cross_entropy(model(x).view(-1, vocab), y.view(-1))

    rows = seq * batch
    flops = _products(
        (rows * embed * 4 * hidden, True), (rows * hidden * 4 * hidden, True), (rows * hidden * vocab, True)
    )
    return _trainer(m, "lstm", model, opt, data, loss, flops, clip)


def _resnet_model(m, blocks: int, widths):
    nn, F = m.nn, m.nn.functional

    class BasicBlock(nn.Module):
        """Two 3x3 convs with BatchNorm; a 1x1 strided conv + BatchNorm on the shortcut when
        the shape changes (option B of the ResNet paper)."""

        def __init__(self, cin: int, cout: int, stride: int):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(widths[0])
            layers, cin = [], widths[0]
            for stage, width in enumerate(widths):
                for i in range(blocks):
                    layers.append(BasicBlock(cin, width, 2 if stage > 0 and i == 0 else 1))
                    cin = width
            self.layers = nn.Sequential(*layers)
            self.fc = nn.Linear(widths[-1], 10)

        def forward(self, x):
            out = self.layers(F.relu(self.bn(self.conv(x))))
            return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))

    return ResNet()


def _resnet_flops(batch: int, blocks: int, widths, side: int = 32) -> float:
    """Training FLOPs of the convolutions and the final Linear of ``_resnet_model``."""
    layers = [(batch * side * side * widths[0] * 3 * 9, False)]
    cin = widths[0]
    for stage, width in enumerate(widths):
        for i in range(blocks):
            stride = 2 if stage > 0 and i == 0 else 1
            side //= stride
            pixels = batch * side * side
            layers += [(pixels * width * cin * 9, True), (pixels * width * width * 9, True)]
            if stride != 1 or cin != width:
                layers.append((pixels * width * cin, True))
            cin = width
    layers.append((batch * widths[-1] * 10, True))
    return _products(*layers)


def resnet(m, seed: int = 0, batch: int = 64, blocks: int = 3, widths=(16, 32, 64)) -> Workload:
    """CIFAR-style ResNet-20 (3 stages of 3 basic blocks, 16-32-64 channels, BatchNorm) on
    3x32x32, batch 64, SGD with momentum 0.9."""
    model = _resnet_model(m, blocks, widths)
    rng = np.random.default_rng(seed)
    _seeded_weights(m, model, rng)
    data = _batches(rng, 4, lambda r: _images(m, r, (batch, 3, 32, 32)))
    opt = m.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _classifier(m, "resnet", model, opt, data, _resnet_flops(batch, blocks, widths))


def charrnn(
    m,
    seed: int = 0,
    letters: int = 57,
    hidden: int = 128,
    categories: int = 18,
    seq: int = 20,
    lr: float = 0.005,
) -> Workload:
    """The classic char-RNN tutorial cell: ``Linear(input+hidden -> hidden)`` and
    ``Linear(input+hidden -> output)`` with LogSoftmax, fed one one-hot character at a time
    (batch 1, ``seq`` characters per step), NLLLoss summed over the sequence, plain SGD."""
    nn = m.nn

    class RNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.i2h = nn.Linear(letters + hidden, hidden)
            self.i2o = nn.Linear(letters + hidden, categories)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, x, h):
            combined = m.cat((x, h), 1)
            return self.softmax(self.i2o(combined)), self.i2h(combined)

    model = RNN()
    rng = np.random.default_rng(seed)
    _seeded_weights(m, model, rng)

    def sequence(r):
        chars = r.integers(0, letters, seq)
        onehot = np.zeros((seq, 1, letters), np.float32)
        onehot[np.arange(seq), 0, chars] = 1.0
        targets = r.integers(0, categories, (seq, 1)).astype(np.int64)
        return m.tensor(onehot), m.tensor(targets)

    data = _batches(rng, 4, sequence)
    opt = m.optim.SGD(model.parameters(), lr=lr)
    criterion = nn.NLLLoss()

    def loss(x, y):
        h = m.zeros(1, hidden, device=x.device)
        total = 0
        for i in range(seq):
            out, h = model(x[i], h)
            total = total + criterion(out, y[i])
        return total

    width = letters + hidden
    flops = seq * _products((width * hidden, True), (width * categories, True))
    return _trainer(m, "charrnn", model, opt, data, loss, flops)


BUILDERS = {
    "mlp": mlp,
    "lenet": lenet,
    "convnet": convnet,
    "gpt": gpt,
    "lstm": lstm,
    "resnet": resnet,
    "charrnn": charrnn,
}
NAMES = tuple(BUILDERS)


class _OnDevice:
    """Library ``m`` whose ``tensor(...)`` puts data on ``device`` (for workloads on a GPU)."""

    def __init__(self, m, device) -> None:
        self._m, self._device = m, device

    def __getattr__(self, name: str):
        return getattr(self._m, name)

    def tensor(self, data, **kwargs):
        return self._m.tensor(data, **{"device": self._device, **kwargs})


def build(name: str, m, seed: int = 0, device=None, **options) -> Workload:
    """The workload ``name`` built with library ``m`` (``ember`` or ``torch``), on ``device``.

    ``options`` go to the builder: sizes such as ``batch=256``, or ``capturable=True`` for gpt.
    """
    if name not in BUILDERS:
        raise ValueError(f"unknown workload {name!r}; choose from {', '.join(NAMES)}")
    m.manual_seed(seed)
    if device is None or str(device) == "cpu":
        return BUILDERS[name](m, seed=seed, **options)
    workload = BUILDERS[name](_OnDevice(m, device), seed=seed, **options)
    workload.model.to(device)  # parameters keep their identity: the optimizer follows them
    return workload
