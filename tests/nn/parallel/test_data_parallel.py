"""DataParallel: a pass-through on the CPU; replication checked on CPU 'devices' as a stand-in."""

import warnings

import numpy as np

import ember
from ember import nn
from ember.nn.parallel import data_parallel
from tests.helpers import torch_or_skip


def _model():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2))


def test_cpu_pass_through_warns_once(monkeypatch):
    monkeypatch.setattr(data_parallel, "_warned", [False])
    model = _model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wrapped = nn.DataParallel(model)
        nn.DataParallel(model)
    assert len([w for w in caught if "DataParallel" in str(w.message)]) == 1
    x = ember.randn(5, 4)
    np.testing.assert_array_equal(wrapped(x).detach().numpy(), model(x).detach().numpy())
    assert nn.DataParallel is nn.parallel.DataParallel


def test_state_dict_has_the_module_prefix_as_pytorch(monkeypatch):
    monkeypatch.setattr(data_parallel, "_warned", [True])
    torch = torch_or_skip()
    ours = sorted(nn.DataParallel(_model()).state_dict())
    tmodel = torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6), torch.nn.ReLU(), torch.nn.Linear(6, 2)
    )
    assert ours == sorted(torch.nn.DataParallel(tmodel).state_dict())


def test_replicas_scatter_and_gather_like_one_model():
    """The several-device path, on two CPU 'devices': same outputs and gradients."""
    model = _model().eval()  # eval: batch statistics would differ per chunk, as in PyTorch
    x = ember.randn(7, 4)
    out = data_parallel.data_parallel_apply(model, (x,), {}, ["cpu", "cpu"], "cpu", 0)
    out.sum().backward()
    got = {n: p.grad.numpy().copy() for n, p in model.named_parameters()}
    model.zero_grad()
    expected = model(x)
    expected.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(got[name], p.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_replica_leaves_the_original_module_alone():
    model = _model()
    replica = data_parallel.replicate(model, "cpu")
    assert replica is not model and replica[0] is not model[0]
    replica[0]._parameters["weight"] = ember.zeros(6, 4)
    assert model[0].weight.is_leaf and model[0].weight.abs().sum().item() > 0
