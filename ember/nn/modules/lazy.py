"""Lazy layers: in_features / in_channels / num_features are read from the first input.

A lazy layer starts with ``UninitializedParameter``/``UninitializedBuffer`` placeholders. Its
first forward pass (or ``load_state_dict``, from the checkpoint's shapes) materializes them,
runs ``reset_parameters``, and turns the layer into its ordinary class (``LazyLinear`` becomes
``Linear``), as in PyTorch.
"""

from __future__ import annotations

from ember.autograd.grad_mode import no_grad
from ember.nn.modules.conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ember.nn.modules.linear import Linear
from ember.nn.modules.normalization import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
)
from ember.nn.parameter import UninitializedBuffer, UninitializedParameter
from ember.tensor import Tensor

__all__ = [
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
    "LazyLinear",
    "LazyModuleMixin",
]

_PLACEHOLDERS = (UninitializedParameter, UninitializedBuffer)


class LazyModuleMixin:
    """Infers a layer's input size from its first input, then becomes ``cls_to_become``."""

    cls_to_become: type | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._lazy_hook = self.register_forward_pre_hook(_infer_parameters)

    def has_uninitialized_params(self) -> bool:
        """Whether a parameter or buffer is still a placeholder."""
        tensors = list(self._parameters.values()) + list(self._buffers.values())
        return any(isinstance(t, _PLACEHOLDERS) for t in tensors)

    def initialize_parameters(self, *args, **kwargs) -> None:
        """Materialize the placeholders from the forward arguments (each lazy layer writes it)."""
        raise NotImplementedError(f"{type(self).__name__}: initialize_parameters is not written")

    def _load_from_state_dict(
        self,
        state_dict: dict,
        prefix: str,
        local_metadata: dict,
        strict: bool,
        missing_keys: list,
        unexpected_keys: list,
        error_msgs: list,
    ) -> None:
        for name, value in list(self._parameters.items()) + list(self._buffers.items()):
            key = prefix + name
            if isinstance(value, _PLACEHOLDERS) and isinstance(state_dict.get(key), Tensor):
                with no_grad():
                    value.materialize(state_dict[key].shape)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
        if not self.has_uninitialized_params() and "_lazy_hook" in self.__dict__:
            self._sizes_from_parameters()
            self._finish_lazy()

    def _sizes_from_parameters(self) -> None:
        """Set the inferred size attribute from materialized parameters (after loading)."""

    def _finish_lazy(self) -> None:
        hook = self.__dict__.pop("_lazy_hook", None)
        if hook is not None:
            hook.remove()
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become


def _infer_parameters(module: LazyModuleMixin, args: tuple) -> None:
    with no_grad():
        module.initialize_parameters(*args)
    if module.has_uninitialized_params():
        raise RuntimeError(
            f"{type(module).__name__}: module {module._get_name()} has not been "
            "fully initialized by its first input"
        )
    module._finish_lazy()


class LazyLinear(LazyModuleMixin, Linear):
    """A ``Linear`` whose ``in_features`` is the last dim of its first input.

    >>> import ember
    >>> fc = LazyLinear(4)
    >>> fc(ember.ones(2, 3)).shape, fc
    (ember.Size([2, 4]), Linear(in_features=3, out_features=4, bias=True))
    """

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(0, 0, False, device=device, dtype=dtype)
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def _sizes_from_parameters(self) -> None:
        self.in_features = self.weight.shape[1]

    def initialize_parameters(self, input: Tensor, *args) -> None:
        if self.has_uninitialized_params():
            self.in_features = input.shape[-1]
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()


class _LazyConvMixin(LazyModuleMixin):
    def _lazy_init(self, bias: bool, device, dtype) -> None:
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_channels = self._lazy_out_channels
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def _sizes_from_parameters(self) -> None:
        shape = self.weight.shape
        self.in_channels = shape[0] if self._transposed else shape[1] * self.groups

    def initialize_parameters(self, input: Tensor, *args, **kwargs) -> None:
        if not self.has_uninitialized_params():
            return
        batched = input.dim() == self._spatial + 2
        self.in_channels = input.shape[1 if batched else 0]
        if self.in_channels % self.groups:
            raise ValueError(
                f"{type(self).__name__}: in_channels ({self.in_channels}) must be "
                f"divisible by groups ({self.groups})"
            )
        if self._transposed:
            shape = (self.in_channels, self.out_channels // self.groups)
        else:
            shape = (self.out_channels, self.in_channels // self.groups)
        self.weight.materialize(shape + self.kernel_size)
        if self.bias is not None:
            self.bias.materialize((self.out_channels,))
        self.reset_parameters()


def _register_hook(self) -> None:
    """What ``LazyModuleMixin.__init__`` adds, for constructors that call the base directly."""
    self._lazy_hook = self.register_forward_pre_hook(_infer_parameters)


def _lazy_conv(name: str, base: type, transposed: bool) -> type:
    """The lazy form of a convolution layer: the same arguments less ``in_channels``."""

    if transposed:

        def __init__(
            self,
            out_channels: int,
            kernel_size,
            stride=1,
            padding=0,
            output_padding=0,
            groups: int = 1,
            bias: bool = True,
            dilation=1,
            padding_mode: str = "zeros",
            device=None,
            dtype=None,
        ) -> None:
            self._lazy_out_channels = out_channels
            base.__init__(
                self,
                0,
                0,
                kernel_size,
                stride,
                padding,
                output_padding,
                groups,
                False,
                dilation,
                padding_mode,
                device=device,
                dtype=dtype,
            )
            _register_hook(self)
            self._lazy_init(bias, device, dtype)
    else:

        def __init__(
            self,
            out_channels: int,
            kernel_size,
            stride=1,
            padding=0,
            dilation=1,
            groups: int = 1,
            bias: bool = True,
            padding_mode: str = "zeros",
            device=None,
            dtype=None,
        ) -> None:
            self._lazy_out_channels = out_channels
            base.__init__(
                self,
                0,
                0,
                kernel_size,
                stride,
                padding,
                dilation,
                groups,
                False,
                padding_mode,
                device=device,
                dtype=dtype,
            )
            _register_hook(self)
            self._lazy_init(bias, device, dtype)

    doc = (
        f"A ``{base.__name__}`` whose ``in_channels`` is read from its first input "
        "(``cls_to_become`` once it has run)."
    )
    return type(
        name,
        (_LazyConvMixin, base),
        {"__init__": __init__, "cls_to_become": base, "__doc__": doc, "__module__": __name__},
    )


LazyConv1d = _lazy_conv("LazyConv1d", Conv1d, False)
LazyConv2d = _lazy_conv("LazyConv2d", Conv2d, False)
LazyConv3d = _lazy_conv("LazyConv3d", Conv3d, False)
LazyConvTranspose1d = _lazy_conv("LazyConvTranspose1d", ConvTranspose1d, True)
LazyConvTranspose2d = _lazy_conv("LazyConvTranspose2d", ConvTranspose2d, True)
LazyConvTranspose3d = _lazy_conv("LazyConvTranspose3d", ConvTranspose3d, True)


class _LazyNormMixin(LazyModuleMixin):
    _unbatched_rank: int | None = None  # instance norm takes an input without a batch dim

    def _lazy_init(self, device, dtype) -> None:
        if self.affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if self.bias is not None:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if self.track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def _sizes_from_parameters(self) -> None:
        for name in ("weight", "running_mean"):
            value = getattr(self, name)
            if value is not None:
                self.num_features = value.shape[0]
                return

    def initialize_parameters(self, input: Tensor, *args) -> None:
        if not self.has_uninitialized_params():
            return
        unbatched = input.dim() == self._unbatched_rank
        self.num_features = input.shape[0 if unbatched else 1]
        for name in ("weight", "bias", "running_mean", "running_var"):
            value = getattr(self, name)
            if isinstance(value, _PLACEHOLDERS):
                value.materialize((self.num_features,))
        self.reset_parameters()


def _lazy_norm(name: str, base: type) -> type:
    """The lazy form of a batch or instance norm layer: the same arguments less num_features."""
    batch_norm = base.__name__.startswith("Batch")
    defaults = (True, True) if batch_norm else (False, False)

    def __init__(
        self,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = defaults[0],
        track_running_stats: bool = defaults[1],
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        base.__init__(self, 0, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        _register_hook(self)
        self._lazy_init(device, dtype)

    doc = (
        f"A ``{base.__name__}`` whose ``num_features`` is read from its first input "
        "(``cls_to_become`` once it has run)."
    )
    return type(
        name,
        (_LazyNormMixin, base),
        {
            "__init__": __init__,
            "cls_to_become": base,
            "__doc__": doc,
            "__module__": __name__,
            "_unbatched_rank": None if batch_norm else base._dims[1],
        },
    )


LazyBatchNorm1d = _lazy_norm("LazyBatchNorm1d", BatchNorm1d)
LazyBatchNorm2d = _lazy_norm("LazyBatchNorm2d", BatchNorm2d)
LazyBatchNorm3d = _lazy_norm("LazyBatchNorm3d", BatchNorm3d)
LazyInstanceNorm1d = _lazy_norm("LazyInstanceNorm1d", InstanceNorm1d)
LazyInstanceNorm2d = _lazy_norm("LazyInstanceNorm2d", InstanceNorm2d)
LazyInstanceNorm3d = _lazy_norm("LazyInstanceNorm3d", InstanceNorm3d)
