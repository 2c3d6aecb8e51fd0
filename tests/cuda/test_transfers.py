"""Moving tensors and modules, saving and loading, pinned memory, DLPack and device mismatches."""

from __future__ import annotations

import io

import numpy as np
import pytest

import ember
from ember.utils.data import DataLoader, TensorDataset
from ember.utils.dlpack import from_dlpack, to_dlpack
from tests.cuda.conftest import host


def test_tensor_to_cuda_and_back(device):
    x = ember.randn(3, 4)
    for moved in (
        x.cuda(),
        x.to(device),
        x.to(device, non_blocking=True),
        x.to("cuda:0"),
        x.to(device=device, dtype=ember.float64),
        x.cuda(0),
    ):
        assert moved.is_cuda and moved.device.type == "cuda" and not moved.is_cpu
        np.testing.assert_allclose(host(moved), x.numpy())
        back = moved.cpu()
        assert back.is_cpu and type(back.numpy()) is np.ndarray
    assert x.cuda().to(device) is not None and x.to("cpu") is x


def test_numpy_on_a_cuda_tensor_raises_pytorchs_error(device):
    y = ember.ones(2, device=device)
    with pytest.raises(
        TypeError, match=r"can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu\(\)"
    ):
        y.numpy()
    with pytest.raises(TypeError, match="Tensor.cpu"):
        np.asarray(y)
    assert y.tolist() == [1.0, 1.0] and y.sum().item() == 2.0 and float(y.sum()) == 2.0


def test_gradients_flow_across_a_device_move(device):
    x = ember.randn(3, requires_grad=True)
    (x.to(device) * 2).sum().backward()
    assert x.grad.is_cpu and x.grad.tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize(
    "op",
    [
        lambda a, b: a + b,
        lambda a, b: a @ b.t(),
        lambda a, b: ember.cat([a, b]),
        lambda a, b: ember.nn.functional.mse_loss(a, b),
        lambda a, b: a.add_(b),
    ],
)
def test_different_devices_in_one_op_raise_naming_both(op, device):
    a, b = ember.randn(2, 3, device=device), ember.randn(2, 3)
    with pytest.raises(RuntimeError, match=r"(?s)same device.*(cuda:0.*cpu|cpu.*cuda:0)"):
        op(a, b)


def test_module_to_cuda_cpu_keeps_parameters_and_moves_grads_and_buffers(device):
    model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.BatchNorm1d(4))
    weight = model[0].weight
    model(ember.randn(5, 3)).sum().backward()
    model.cuda()
    assert model[0].weight is weight and weight.is_cuda and weight.grad.is_cuda
    assert model[1].running_mean.is_cuda and model[1].num_batches_tracked.is_cuda
    model.to("cpu")
    assert weight.is_cpu and weight.grad.is_cpu
    model.to(device, non_blocking=True)
    assert weight.is_cuda


def test_save_cuda_tensors_and_load_with_map_location(tmp_path, device):
    model = ember.nn.Linear(3, 2).to(device)
    path = tmp_path / "model.safetensors"
    ember.save({"model": model.state_dict(), "x": ember.arange(4.0, device=device)}, path)
    on_device = ember.load(path)
    assert on_device["x"].is_cuda and on_device["model"]["weight"].is_cuda
    for location in ("cpu", ember.device("cpu"), {"cuda:0": "cpu"}, lambda storage, loc: storage):
        loaded = ember.load(path, map_location=location)
        assert loaded["x"].is_cpu and loaded["x"].tolist() == [0.0, 1.0, 2.0, 3.0]
    to_device = ember.load(
        ember.save({"y": ember.ones(2)}, tmp_path / "y") or tmp_path / "y", map_location=device
    )
    assert to_device["y"].is_cuda
    fresh = ember.nn.Linear(3, 2).to(device)
    fresh.load_state_dict(on_device["model"])
    np.testing.assert_array_equal(host(fresh.weight), host(model.weight))


def test_saving_a_module_with_its_optimizer_keeps_shared_parameters_one_object(device):
    """A parameter saved twice (in the module and in the optimizer) loads as one Parameter."""
    nn = ember.nn
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).to(device)
    opt = ember.optim.Adam(model.parameters(), lr=0.1)
    model(ember.randn(5, 4, device=device)).sum().backward()
    opt.step()
    buffer = io.BytesIO()
    ember.save({"model": model, "opt": opt}, buffer)
    buffer.seek(0)
    loaded = ember.load(buffer, weights_only=False)
    weight = loaded["model"][0].weight
    assert loaded["opt"].param_groups[0]["params"][0] is weight
    assert loaded["opt"].state[weight]["exp_avg"].device == weight.device


def test_dataloader_pin_memory_gives_pinned_batches(device):
    data = TensorDataset(ember.randn(8, 3), ember.arange(8))
    for workers in (0, 2):
        batches = list(DataLoader(data, batch_size=4, pin_memory=True, num_workers=workers))
        assert all(t.is_pinned() and t.is_cpu for batch in batches for t in batch)
        assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    unpinned = next(iter(DataLoader(data, batch_size=4)))
    assert not unpinned[0].is_pinned()
    moved = batches[0][0].to(device, non_blocking=True)
    np.testing.assert_array_equal(host(moved), batches[0][0].numpy())


def test_pin_memory_of_a_tensor(device):
    x = ember.randn(3)
    pinned = x.pin_memory()
    assert pinned.is_pinned() and not x.is_pinned() and pinned.pin_memory() is pinned
    with pytest.raises(RuntimeError, match="only dense CPU tensors can be pinned"):
        x.to(device).pin_memory()


def test_dlpack_round_trips_share_memory(device):
    x = ember.arange(4.0, device=device)
    for y in (from_dlpack(to_dlpack(x)), ember.from_dlpack(x), from_dlpack(x)):
        assert y.is_cuda
        y.add_(1)
    assert x.tolist() == [3.0, 4.0, 5.0, 6.0]
    assert x.__dlpack_device__() == (2, 0)


def test_dlpack_on_the_cpu_is_zero_copy_with_numpy():
    x = ember.arange(3.0)
    a = np.from_dlpack(x)
    a[0] = 7.0
    assert x.tolist() == [7.0, 1.0, 2.0]
    y = from_dlpack(to_dlpack(x))  # a bare capsule: NumPy imports it read-only, sharing memory
    x.add_(1)
    assert y.tolist() == [8.0, 2.0, 3.0]
    z = ember.from_dlpack(np.ones(2))
    assert z.tolist() == [1.0, 1.0]


def test_bfloat16_on_cuda_is_refused_with_the_remedy(device):
    with pytest.raises(TypeError, match="CuPy has no bfloat16 dtype; use float16"):
        ember.ones(2, dtype=ember.bfloat16, device=device)
    with pytest.raises(TypeError, match="CuPy has no bfloat16"):
        ember.ones(2, dtype=ember.bfloat16).to(device)


def test_in_place_on_an_expanded_cuda_tensor_raises_as_on_the_cpu(device):
    for where in ("cpu", device):
        expanded = ember.ones(1, 3, device=where).expand(4, 3)
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
            expanded.add_(1.0)


def test_dlpack_on_the_cpu_is_zero_copy_with_pytorch():
    from tests.helpers import torch_or_skip

    torch = torch_or_skip()
    x = ember.arange(3.0)
    t = torch.from_dlpack(x)
    t[0] = 5.0
    assert x.tolist() == [5.0, 1.0, 2.0]
    source = torch.arange(3.0)
    y = ember.from_dlpack(source)
    source[1] = 7.0
    assert y.tolist() == [0.0, 7.0, 2.0]
