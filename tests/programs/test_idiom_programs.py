"""PyTorch programs built around the idioms tutorials teach (autograd Functions, hooks, init,
fine-tuning, distributions, mixed precision, tensor manipulation), run with ``import ember as
torch``."""

from __future__ import annotations

import numpy as np

import ember as torch
from ember.utils.data import DataLoader, TensorDataset

nn = torch.nn
F = torch.nn.functional
optim = torch.optim


def test_custom_autograd_function_in_training():
    class ClampedExp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, limit):
            out = x.clamp(max=limit).exp()
            ctx.save_for_backward(x, out)
            ctx.limit = limit
            return out

        @staticmethod
        def backward(ctx, grad_output):
            x, out = ctx.saved_tensors
            grad = grad_output * out * (x <= ctx.limit).to(grad_output.dtype)
            return grad, None

    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: ClampedExp.apply(t, 10.0), (x,))
    w = torch.zeros(3, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    inputs = torch.randn(16, 3)
    target = torch.exp(inputs @ torch.tensor([0.5, -0.2, 0.1]))
    for _ in range(50):
        opt.zero_grad()
        loss = ((ClampedExp.apply(inputs @ w, 5.0) - target) ** 2).mean()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05


def test_forward_and_backward_hooks_collect_activations():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    activations, grads = {}, {}

    def save_activation(name):
        def hook(module, inputs, output):
            activations[name] = output.detach()

        return hook

    def save_grad(name):
        def hook(module, grad_input, grad_output):
            grads[name] = grad_output[0].detach()

        return hook

    handles = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(save_activation(name)))
            handles.append(module.register_full_backward_hook(save_grad(name)))
    pre_calls = []
    handles.append(model[0].register_forward_pre_hook(lambda m, inp: pre_calls.append(inp[0].shape)))
    x = torch.randn(3, 4)
    out = model(x)
    out.sum().backward()
    assert set(activations) == {"0", "2"} and activations["0"].shape == (3, 8)
    assert torch.equal(grads["2"], torch.ones(3, 2))
    assert pre_calls == [torch.Size([3, 4])]
    # tensor hooks on intermediate values
    h = model[0](x)
    seen = []
    h.register_hook(lambda g: seen.append(g.norm().item()))
    h.retain_grad()
    model[2](F.relu(h)).pow(2).sum().backward()
    assert len(seen) == 1 and h.grad is not None
    for handle in handles:
        handle.remove()
    activations.clear()
    model(x)
    assert activations == {}


def test_weight_init_with_apply_and_parameter_counting():
    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.constant_(m.bias, 0.01)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    model = nn.Sequential(
        nn.Conv2d(3, 6, 3), nn.BatchNorm2d(6), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 4 * 4, 10)
    )
    returned = model.apply(init_weights)
    assert returned is model
    assert torch.all(model[0].bias == 0.01) and torch.all(model[4].bias == 0)
    bound = (6 / (96 + 10)) ** 0.5
    assert model[4].weight.abs().max().item() <= bound
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert total == trainable == 3 * 6 * 9 + 6 + 6 + 6 + 96 * 10 + 10
    with torch.no_grad():
        nn.init.trunc_normal_(model[4].weight, std=0.02)
        nn.init.orthogonal_(model[4].weight)
        nn.init.normal_(model[0].weight, mean=0.0, std=0.1)
        nn.init.uniform_(model[0].bias, -0.1, 0.1)
    w = model[4].weight
    torch.testing.assert_close(w @ w.T, torch.eye(10), atol=1e-5, rtol=0)
    assert model(torch.randn(2, 3, 6, 6)).shape == (2, 10)


def test_fine_tuning_with_frozen_backbone_and_param_groups():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 16))
            self.classifier = nn.Linear(16, 3)

        def forward(self, x):
            return self.classifier(F.relu(self.backbone(x)))

    model = Net()
    for param in model.backbone.parameters():
        param.requires_grad_(False)
    frozen = {n: p.clone() for n, p in model.named_parameters() if n.startswith("backbone")}
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["classifier.weight", "classifier.bias"]
    optimizer = optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.1)
    x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    for _ in range(5):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    for n, p in model.named_parameters():
        if n in frozen:
            assert torch.equal(p, frozen[n]) and p.grad is None
    # unfreeze with a smaller learning rate for the backbone
    model.backbone.requires_grad_(True)
    optimizer = optim.Adam(
        [{"params": model.backbone.parameters(), "lr": 1e-4}, {"params": model.classifier.parameters()}],
        lr=1e-3,
    )
    assert [g["lr"] for g in optimizer.param_groups] == [1e-4, 1e-3]
    optimizer.zero_grad()
    F.cross_entropy(model(x), y).backward()
    optimizer.step()
    assert not torch.equal(model.backbone[0].weight, frozen["backbone.0.weight"])
    for g in optimizer.param_groups:
        g["lr"] *= 0.5
    assert optimizer.state_dict()["param_groups"][0]["lr"] == 5e-5


def test_reinforce_with_categorical_policy():
    torch.manual_seed(0)
    from ember.distributions import Categorical, Normal

    # two-armed bandit-like task: the right action is the index of the larger feature
    policy = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    optimizer = optim.Adam(policy.parameters(), lr=0.02)
    rewards_seen = []
    for _episode in range(80):
        state = torch.rand(16, 2)
        probs = F.softmax(policy(state), dim=-1)
        dist = Categorical(probs)
        actions = dist.sample()
        rewards = (actions == state.argmax(dim=1)).float()
        returns = (rewards - rewards.mean()) / (rewards.std() + 1e-8)
        loss = -(dist.log_prob(actions) * returns).sum()
        entropy = dist.entropy().mean()
        optimizer.zero_grad()
        (loss - 0.01 * entropy).backward()
        optimizer.step()
        rewards_seen.append(rewards.mean().item())
    assert np.mean(rewards_seen[-10:]) > np.mean(rewards_seen[:10])
    logits_dist = Categorical(logits=torch.tensor([0.0, 0.0, 0.0]))
    torch.testing.assert_close(logits_dist.probs, torch.full((3,), 1 / 3))
    normal = Normal(torch.tensor([0.0]), torch.tensor([1.0]))
    value = normal.log_prob(torch.tensor([0.0])).item()
    assert abs(value + 0.5 * np.log(2 * np.pi)) < 1e-6
    sample = normal.rsample((4,))
    assert sample.shape == (4, 1)


def test_mixed_precision_and_compile_idioms():
    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = nn.Sequential(nn.Linear(8, 32), nn.GELU(), nn.Linear(32, 1)).to(device)
    compiled = torch.compile(model)
    optimizer = optim.AdamW(model.parameters(), lr=1e-2)
    scaler = torch.cuda.amp.GradScaler(enabled=False)
    x = torch.randn(64, 8).to(device, non_blocking=True)
    y = x[:, :1] * 2 - x[:, 1:2]
    losses = []
    for _ in range(30):
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            out = compiled(x)
            assert out.dtype == torch.bfloat16
            loss = F.mse_loss(out.float(), y)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.5
    assert next(model.parameters()).dtype == torch.float32
    amp_scaler = torch.amp.GradScaler("cpu", enabled=True)
    assert amp_scaler.is_enabled()


def test_grad_mode_contexts():
    model = nn.Linear(3, 1)
    x = torch.randn(4, 3)
    with torch.no_grad():
        assert not model(x).requires_grad
    with torch.inference_mode():
        out = model(x)
        assert not out.requires_grad
    is_train = False
    with torch.set_grad_enabled(is_train):
        assert not model(x).requires_grad
    with torch.set_grad_enabled(True):
        assert model(x).requires_grad
    torch.set_grad_enabled(False)
    assert not torch.is_grad_enabled()
    torch.set_grad_enabled(True)

    @torch.no_grad()
    def evaluate(m, data):
        return m(data)

    @torch.inference_mode()
    def predict(m, data):
        return m(data).argmax(-1)

    assert not evaluate(model, x).requires_grad
    assert predict(model, x).shape == (4,)
    with torch.enable_grad():
        assert model(x).requires_grad


def test_module_containers():
    class MultiHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
            self.heads = nn.ModuleDict({"cls": nn.Linear(4, 2), "reg": nn.Linear(4, 1)})
            self.scales = nn.ParameterList([nn.Parameter(torch.ones(1)) for _ in range(3)])
            self.extra = nn.ParameterDict({"bias": nn.Parameter(torch.zeros(4))})

        def forward(self, x):
            for layer, scale in zip(self.layers, self.scales):
                x = torch.relu(layer(x)) * scale
            x = x + self.extra["bias"]
            return {name: head(x) for name, head in self.heads.items()}

    model = MultiHead()
    names = [n for n, _ in model.named_parameters()]
    assert "layers.2.weight" in names and "heads.cls.bias" in names
    assert "scales.0" in names and "extra.bias" in names
    assert len(model.layers) == 3 and "reg" in model.heads
    model.layers.append(nn.Linear(4, 4))
    model.heads["aux"] = nn.Linear(4, 3)
    out = model(torch.randn(5, 4))
    assert out["aux"].shape == (5, 3)
    loss = sum(v.sum() for v in out.values())
    loss.backward()
    assert all(p.grad is not None for p in model.scales)
    assert list(model.state_dict())[:2] == ["layers.0.weight", "layers.0.bias"]
    seq = nn.Sequential()
    seq.add_module("fc", nn.Linear(2, 2))
    seq.append(nn.ReLU())
    assert len(seq) == 2 and isinstance(seq[-1], nn.ReLU) and isinstance(seq[:1], nn.Sequential)
    from collections import OrderedDict

    named = nn.Sequential(OrderedDict([("fc1", nn.Linear(2, 3)), ("act", nn.ReLU())]))
    assert named.fc1.out_features == 3
    repr(model)


def test_regression_with_tensor_dataset_and_manual_loop():
    torch.manual_seed(42)
    true_w, true_b = torch.tensor([2.0, -3.4]), 4.2
    features = torch.normal(0, 1, (1000, 2))
    labels = torch.matmul(features, true_w) + true_b
    labels += torch.normal(0, 0.01, labels.shape)
    labels = labels.reshape((-1, 1))
    net = nn.Sequential(nn.Linear(2, 1))
    net[0].weight.data.normal_(0, 0.01)
    net[0].bias.data.fill_(0)
    loss = nn.MSELoss()
    trainer = optim.SGD(net.parameters(), lr=0.03)
    data_iter = DataLoader(TensorDataset(features, labels), batch_size=10, shuffle=True)
    for epoch in range(3):
        for X, y in data_iter:
            batch_loss = loss(net(X), y)
            trainer.zero_grad()
            batch_loss.backward()
            trainer.step()
        epoch_loss = loss(net(features), labels)
        msg = f"epoch {epoch + 1}, loss {epoch_loss:f}"
        assert msg.startswith("epoch")
    w = net[0].weight.data
    assert (true_w - w.reshape(true_w.shape)).abs().max() < 0.05
    assert abs(true_b - net[0].bias.data.item()) < 0.05


def test_pruning_tutorial():
    import ember.nn.utils.prune as prune

    torch.manual_seed(0)

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 3)
            self.conv2 = nn.Conv2d(6, 16, 3)
            self.fc1 = nn.Linear(16 * 2 * 2, 32)
            self.fc2 = nn.Linear(32, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(-1, int(x.nelement() / x.shape[0]))
            return self.fc2(F.relu(self.fc1(x)))

    model = LeNet()
    module = model.conv1
    prune.random_unstructured(module, name="weight", amount=0.3)
    prune.l1_unstructured(module, name="bias", amount=3)
    assert [n for n, _ in module.named_parameters()] == ["weight_orig", "bias_orig"]
    assert [n for n, _ in module.named_buffers()] == ["weight_mask", "bias_mask"]
    assert len(module._forward_pre_hooks) == 2
    assert int((module.bias == 0).sum()) == 3
    # iterative pruning: half of the remaining output channels by L2 norm
    prune.ln_structured(module, name="weight", amount=0.5, n=2, dim=0)
    kept_channels = (module.weight.abs().sum(dim=(1, 2, 3)) != 0).sum().item()
    assert kept_channels == 3
    assert "conv1.weight_orig" in model.state_dict() and "conv1.weight_mask" in model.state_dict()
    prune.remove(module, "weight")
    assert [n for n, _ in module.named_parameters()] == ["bias_orig", "weight"]

    # global pruning of every conv and linear weight, then a few training steps
    parameters_to_prune = [(m, "weight") for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    prune.global_unstructured(parameters_to_prune, pruning_method=prune.L1Unstructured, amount=0.2)
    zeros = sum(float(torch.sum(m.weight == 0)) for m, _ in parameters_to_prune)
    total = sum(float(m.weight.nelement()) for m, _ in parameters_to_prune)
    assert zeros == round(0.2 * total)  # conv1's zeros are the smallest magnitudes
    print(f"Global sparsity: {100.0 * zeros / total:.2f}%")
    optimizer = optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(16, 1, 14, 14), torch.randint(0, 10, (16,))
    for _ in range(3):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    assert bool((model.fc1.weight[model.fc1.weight_mask == 0] == 0).all())
    for m, name in [*parameters_to_prune, (model.conv1, "bias")]:
        prune.remove(m, name)
    assert not prune.is_pruned(model)
