"""``DataParallel``: one process driving several GPUs, as ``torch.nn.DataParallel``.

On the CPU or with one CUDA device it is a pass-through wrapper (it warns once, as there is
nothing to parallelise); with several CUDA devices each forward scatters the batch along
``dim``, runs a replica of the module on each device and gathers the outputs on
``output_device``. Replicas hold differentiable copies of the parameters, so backward brings
every replica's gradient back into the original parameters. ``DistributedDataParallel`` is
faster and is what PyTorch recommends too; this class exists so that code using it runs.
"""

from __future__ import annotations

import copy
import warnings

from ember.nn.modules.module import Module

__all__ = ["DataParallel"]

_warned = [False]


def _warn_once(message: str) -> None:
    if not _warned[0]:
        _warned[0] = True
        warnings.warn(message, UserWarning, stacklevel=3)


def _cuda_device_count() -> int:
    from ember import cuda

    try:
        return cuda.device_count() if cuda.is_available() else 0
    except Exception:  # noqa: BLE001 - a broken CUDA setup means no devices here
        return 0


class DataParallel(Module):
    """Run ``module`` on several CUDA devices by splitting each batch along ``dim``.

    ``state_dict()`` keys carry the ``module.`` prefix, as in PyTorch.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0) -> None:
        super().__init__()
        self.module = module
        self.dim = dim
        count = _cuda_device_count()
        if device_ids is None:
            device_ids = list(range(count))
        self.device_ids = [_index(d) for d in device_ids]
        self.output_device = (
            _index(output_device)
            if output_device is not None
            else (self.device_ids[0] if self.device_ids else None)
        )
        if len(self.device_ids) <= 1:
            where = "the CPU" if not self.device_ids else "one CUDA device"
            _warn_once(
                f"DataParallel on {where} runs the module as it is (nothing to split "
                "across); use DistributedDataParallel for several processes"
            )

    def forward(self, *inputs, **kwargs):
        if len(self.device_ids) <= 1:
            return self.module(*inputs, **kwargs)
        devices = [f"cuda:{i}" for i in self.device_ids]
        return data_parallel_apply(
            self.module, inputs, kwargs, devices, f"cuda:{self.output_device}", self.dim
        )


def _index(device) -> int:
    if isinstance(device, int):
        return device
    index = getattr(device, "index", None)
    if index is None and isinstance(device, str) and ":" in device:
        index = int(device.split(":")[1])
    return 0 if index is None else int(index)


def data_parallel_apply(module: Module, inputs: tuple, kwargs: dict, devices: list, output_device, dim: int):
    """Scatter ``inputs`` over ``devices``, run a replica on each, gather on ``output_device``."""
    chunks = _scatter(inputs, devices, dim)
    used = devices[: len(chunks)]
    outputs = [replicate(module, device)(*chunk, **kwargs) for device, chunk in zip(used, chunks)]
    return gather(outputs, output_device, dim)


def _scatter(inputs: tuple, devices: list, dim: int) -> list[tuple]:
    """Per device, the inputs' slices along ``dim`` (non-tensors are repeated)."""
    from ember.tensor import Tensor

    tensor = next((x for x in inputs if isinstance(x, Tensor)), None)
    if tensor is None:
        return [inputs]
    count = min(len(devices), tensor.shape[dim])
    per_input = [x.chunk(count, dim) if isinstance(x, Tensor) else [x] * count for x in inputs]
    count = min(len(p) for p in per_input)
    return [
        tuple(p[i].to(devices[i]) if isinstance(p[i], Tensor) else p[i] for p in per_input)
        for i in range(count)
    ]


def replicate(module: Module, device) -> Module:
    """A shallow copy of ``module`` whose parameters are differentiable copies on ``device``."""
    replica = copy.copy(module)
    for name in ("_parameters", "_buffers", "_modules"):
        object.__setattr__(replica, name, dict(getattr(module, name)))
    for name, p in module._parameters.items():
        if p is not None:
            replica._parameters[name] = p.to(device)
    for name, b in module._buffers.items():
        if b is not None:
            replica._buffers[name] = b.to(device)
    for name, child in module._modules.items():
        if child is not None:
            replica._modules[name] = replicate(child, device)
    return replica


def gather(outputs: list, output_device, dim: int):
    """Concatenate the replicas' outputs along ``dim`` on ``output_device`` (nested too)."""
    from ember.functions import cat
    from ember.tensor import Tensor

    first = outputs[0]
    if isinstance(first, Tensor):
        if first.dim() == 0:
            return cat([o.to(output_device).reshape(1) for o in outputs], 0)
        return cat([o.to(output_device) for o in outputs], dim)
    if isinstance(first, (list, tuple)):
        return type(first)(gather([o[i] for o in outputs], output_device, dim) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: gather([o[k] for o in outputs], output_device, dim) for k in first}
    return first
