"""widen_: the function is preserved for every layer kind and position; sizes are reported."""

from __future__ import annotations

import pytest

import ember
from ember import nn
from ember.nn.grow import widen_

from .nets import WIDEN_CASES, mlp, warmed


def _output(net, x):
    net.eval()
    with ember.no_grad():
        out = net(x)
    net.train()
    return out.numpy().copy()


@pytest.mark.parametrize("case", WIDEN_CASES, ids=[c[0] for c in WIDEN_CASES])
def test_widen_preserves_output(case):
    _, build, names, width = case
    ember.manual_seed(0)
    net, x = build()
    warmed(net, x)
    before = _output(net, x)
    report = widen_(net, names, width, example_input=x)
    after = _output(net, x)
    assert abs(after - before).max() <= 1e-5 * (1 + abs(before).max())
    assert report.new_width == width and report.parameters_added > 0
    first = names if isinstance(names, str) else names[0]
    layer = net.get_submodule(first)
    widths = (
        getattr(layer, "out_features", None),
        getattr(layer, "out_channels", None),
        getattr(layer, "embedding_dim", None),
    )
    assert width in widths
    net.train()
    out = net(x)  # training mode (BatchNorm on batch statistics) runs too
    out.sum().backward()


def test_widen_in_train_mode_batchnorm_is_exact_too():
    from .nets import cnn_bn_flatten

    net, x = cnn_bn_flatten()
    net.train()
    with ember.no_grad():
        before = net(x).detach().numpy().copy()
        widen_(net, "0", 8, example_input=x)
        after = net(x).numpy()
    assert abs(after - before).max() < 1e-5 * (1 + abs(before).max())


def test_report_attributes_repr_and_state_dict_tell_new_sizes():
    net, x = mlp()
    report = widen_(net, "0", 7, example_input=x)
    assert report.shapes["0"]["weight"] == ((3, 4), (7, 4))
    assert report.shapes["2"]["weight"] == ((2, 3), (2, 7))
    assert report.parameters_added == 4 * 4 + 4 + 2 * 4
    assert "widen_ '0': 3 -> 7 units" in str(report)
    assert net[0].out_features == 7 and net[2].in_features == 7
    assert "out_features=7" in repr(net) and "in_features=7" in repr(net)
    sd = net.state_dict()
    assert tuple(sd["0.weight"].shape) == (7, 4) and tuple(sd["2.weight"].shape) == (2, 7)


def test_parameters_keep_their_identity():
    net, x = mlp()
    held = [net[0].weight, net[0].bias, net[2].weight, net[2].bias]
    widen_(net, "0", 5, example_input=x)
    now = [net[0].weight, net[0].bias, net[2].weight, net[2].bias]
    assert all(a is b for a, b in zip(now, held))
    assert tuple(held[0].shape) == (5, 4)


def test_save_and_load_grown_model(tmp_path):
    net, x = mlp()
    widen_(net, "0", 6, example_input=x)
    path = tmp_path / "grown.safetensors"
    ember.save(net.state_dict(), path)
    fresh = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    fresh.load_state_dict(ember.load(path))
    assert abs(fresh(x).detach().numpy() - net(x).detach().numpy()).max() == 0


def test_copies_are_copies_and_outgoing_weights_split():
    ember.manual_seed(1)
    net, x = mlp()
    w_in, w_out = net[0].weight.detach().numpy().copy(), net[2].weight.detach().numpy().copy()
    widen_(net, "0", 5, example_input=x)
    new_in, new_out = net[0].weight.detach().numpy(), net[2].weight.detach().numpy()
    assert (new_in[:3] == w_in).all()
    for j in (3, 4):
        (src,) = [u for u in range(3) if (new_in[j] == w_in[u]).all()]
        assert abs(new_out[:, j] - w_out[:, src] / 2).max() < 1e-7
        assert abs(new_out[:, src] - w_out[:, src] / 2).max() < 1e-7


def test_noise_breaks_symmetry_but_stays_close():
    ember.manual_seed(2)
    net, x = mlp()
    before = net(x).detach().numpy().copy()
    widen_(net, "0", 6, example_input=x, noise=1e-3)
    w = net[0].weight.detach().numpy()
    assert not any((w[j] == w[u]).all() for j in range(3, 6) for u in range(3))
    assert abs(net(x).detach().numpy() - before).max() < 1e-2


def test_same_width_is_a_no_op_and_narrower_is_refused():
    net, x = mlp()
    assert widen_(net, "0", 3, example_input=x).parameters_added == 0
    with pytest.raises(ValueError, match="prune_"):
        widen_(net, "0", 2, example_input=x)


def test_frozen_layers_and_no_grad_callers():
    net, x = mlp()
    net[0].requires_grad_(False)
    before = net(x).detach().numpy().copy()
    with ember.no_grad():
        widen_(net, "0", 6, example_input=x)
    assert not net[0].weight.requires_grad and net[2].weight.requires_grad
    assert abs(net(x).detach().numpy() - before).max() < 1e-5


def test_shared_layer_called_twice_and_lazy_attribute():
    import importlib

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 3)
            self.b = nn.Linear(3, 4)
            self.c = nn.Linear(4, 1)

        def forward(self, x):
            return self.c(self.b(self.a(self.a(x).tanh())).relu())

    net, x = Twice(), ember.randn(5, 3)
    before = net(x).detach().numpy().copy()
    grow = importlib.import_module("ember").nn.grow  # reachable as an attribute of ember.nn
    grow.widen_(net, "b", 6, example_input=x)
    assert abs(net(x).detach().numpy() - before).max() < 1e-5
    with pytest.raises(ValueError, match="other inputs"):
        grow.widen_(net, "a", 5, example_input=x)  # a feeds itself: its input cannot grow
