"""nn.functional: ``affine_grid`` and ``grid_sample`` (spatial transformers), 4-D and 5-D.

``grid_sample`` is a composite: the sampling positions come from the grid through
differentiable arithmetic (unnormalise, then the padding mode's clip or reflection), each tap's
weight is a product of per-axis weights of those positions, and the input is read at the taps'
integer positions by ``gather``. Gradients reach the input (through gather's scatter) and the
grid (through the weights), to every order, as in PyTorch's kernels.
"""

from __future__ import annotations

import itertools
import warnings

from ember import creation
from ember.methods.join import stack
from ember.tensor import Tensor, make

__all__ = ["GRID_SAMPLE_INTERPOLATION_MODES", "GRID_SAMPLE_PADDING_MODES", "affine_grid", "grid_sample"]

GRID_SAMPLE_INTERPOLATION_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
GRID_SAMPLE_PADDING_MODES = {"zeros": 0, "border": 1, "reflection": 2}

_ALIGN_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False "
    "since 1.3.0. Please specify align_corners=True if the old behavior is desired. "
    "See the documentation of grid_sample for details."
)


def _base_coordinates(size: int, align_corners: bool, like: Tensor) -> Tensor:
    """Normalised positions of ``size`` pixel centres (corners when ``align_corners``)."""
    if size == 1:
        return creation.zeros(1, dtype=like.dtype, device=like.device)
    line = creation.linspace(-1.0, 1.0, size, dtype=like.dtype, device=like.device)
    return line if align_corners else line * ((size - 1) / size)


def affine_grid(theta: Tensor, size: list, align_corners: bool | None = None) -> Tensor:
    """Sampling grid (N, H, W, 2) or (N, D, H, W, 3) of the affine maps ``theta``, (N, 2, 3) or
    (N, 3, 4).

    >>> import ember
    >>> affine_grid(ember.tensor([[[1., 0., 0.], [0., 1., 0.]]]), [1, 1, 2, 2], False)[0, 0]
    tensor([[-0.5000, -0.5000],
            [ 0.5000, -0.5000]])
    """
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = [int(s) for s in size]
    spatial = len(size) - 2
    if spatial not in (2, 3):
        raise NotImplementedError(
            "affine_grid only supports 4D and 5D sizes, for 2D and 3D affine "
            f"transforms, respectively. Got size {size}."
        )
    if theta.dim() != 3 or tuple(theta.shape[1:]) != (spatial, spatial + 1):
        raise ValueError(
            f"Expected a batch of {spatial}D affine matrices of shape "
            f"Nx{spatial}x{spatial + 1} for size {size}. Got {list(theta.shape)}."
        )
    if align_corners and min(size[2:]) == 1:
        warnings.warn(
            "Since version 1.3.0, affine_grid behavior has changed for unit-size grids "
            "when align_corners=True. This is not an intended use case of affine_grid.",
            stacklevel=2,
        )
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    n, out = size[0], size[2:]
    # homogeneous base positions, (x, y[, z], 1) with x along the last spatial dim
    axes = [_base_coordinates(s, align_corners, theta) for s in reversed(out)]
    columns = []
    for k, line in enumerate(axes):
        shape = [1] * spatial
        shape[spatial - 1 - k] = out[spatial - 1 - k]
        columns.append(line.reshape(shape).expand(*out))
    columns.append(creation.ones(out, dtype=theta.dtype, device=theta.device))
    base = stack(columns, dim=-1).reshape(1, -1, spatial + 1)
    grid = base.matmul(theta.transpose(1, 2))  # (N, P, spatial)
    return grid.reshape([n, *out, spatial])


def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (coord + 1) * ((size - 1) / 2)
    return ((coord + 1) * size - 1) / 2


def _clip(coord: Tensor, size: int) -> Tensor:
    """Clamp to [0, size - 1]; the gradient is zero on and past the edges, as in PyTorch."""
    inside = (coord > 0) & (coord < size - 1)
    return coord.where(inside, coord.detach().clamp(0, size - 1))


def _reflect(coord: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """Reflect about the edges ``twice_low / 2`` and ``twice_high / 2`` until inside."""
    if twice_low == twice_high:
        return coord * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    dist = (coord - low).abs()
    flips = (dist.detach() / span).floor()
    extra = dist - flips * span
    even = flips.remainder(2) == 0
    return (extra + low).where(even, span - extra + low)


def _pad_coordinate(coord: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    if padding_mode == "border":
        return _clip(coord, size)
    if padding_mode == "reflection":
        if align_corners:
            coord = _reflect(coord, 0, 2 * (size - 1))
        else:
            coord = _reflect(coord, -1, 2 * size - 1)
        return _clip(coord, size)
    return coord


def _cubic_weights(t: Tensor) -> list:
    """Cubic convolution weights (A = -0.75) of the taps at offsets -1, 0, 1, 2 from floor."""
    a = -0.75

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _taps(coord: Tensor, size: int, mode: str, padding_mode: str, align_corners: bool) -> list:
    """[(integer positions as an array, weight Tensor), ...] along one axis."""
    xp = coord.xp
    if mode == "bicubic":
        floor = coord.detach().floor()
        weights = _cubic_weights(coord - floor)
        taps = []
        for offset, weight in zip((-1, 0, 1, 2), weights):
            pos = floor + offset  # the padding mode moves each tap, not the weights
            pos = _pad_coordinate(pos, size, padding_mode, align_corners)
            taps.append((pos._data.astype(xp.int64), weight))
        return taps
    coord = _pad_coordinate(coord, size, padding_mode, align_corners)
    if mode == "nearest":
        # a constant weight still tied to the grid: its gradient is zero, as PyTorch's
        return [(xp.rint(coord._data).astype(xp.int64), coord * 0 + 1)]
    low = coord.detach().floor()
    frac = coord - low
    low_index = low._data.astype(xp.int64)
    return [(low_index, 1 - frac), (low_index + 1, frac)]


def _check_sample_args(input: Tensor, grid: Tensor, mode: str, padding_mode: str) -> None:
    if mode not in GRID_SAMPLE_INTERPOLATION_MODES:
        raise ValueError(
            "nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' "
            f"or 'bicubic', but got: '{mode}'"
        )
    if padding_mode not in GRID_SAMPLE_PADDING_MODES:
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
            f"'border', or 'reflection', but got: '{padding_mode}'"
        )
    spatial = input.dim() - 2
    if spatial not in (2, 3) or grid.dim() != input.dim() or grid.shape[-1] != spatial:
        raise RuntimeError(
            f"grid_sample(): expected a 4-D input with a grid (N, H_out, W_out, 2) or a 5-D input "
            f"with a grid (N, D_out, H_out, W_out, 3), got input {list(input.shape)} and grid "
            f"{list(grid.shape)}"
        )
    if grid.shape[0] != input.shape[0]:
        raise RuntimeError(
            f"grid_sample(): expected grid and input to have the same batch size, "
            f"but got input {list(input.shape)} and grid {list(grid.shape)}"
        )
    if mode == "bicubic" and spatial != 2:
        raise RuntimeError("grid_sample(): bicubic interpolation only supports 4D input")
    if input.dtype != grid.dtype:
        raise RuntimeError(
            f"grid_sample(): expected input ({input.dtype}) and grid ({grid.dtype}) to have the same dtype"
        )


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """Sample ``input`` (N, C, H, W) at ``grid`` (N, H_out, W_out, 2) positions in [-1, 1].

    ``mode`` is ``'bilinear'``, ``'nearest'`` or ``'bicubic'`` (4-D only); ``padding_mode`` is
    ``'zeros'``, ``'border'`` or ``'reflection'``. 5-D inputs take (N, D_out, H_out, W_out, 3)
    grids (``'bilinear'`` is then trilinear). Grid channel 0 indexes the last (width) axis.

    >>> import ember
    >>> x = ember.arange(4.).reshape(1, 1, 2, 2)
    >>> grid_sample(x, ember.zeros(1, 1, 1, 2), align_corners=True)
    tensor([[[[1.5000]]]])
    """
    _check_sample_args(input, grid, mode, padding_mode)
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    n, c, *sizes = input.shape
    spatial = len(sizes)
    out_sizes = tuple(grid.shape[1:-1])
    xp = input.xp
    per_axis = []
    for axis, size in enumerate(sizes):
        coord = _unnormalize(grid[..., spatial - 1 - axis], size, align_corners)
        per_axis.append(_taps(coord, size, mode, padding_mode, align_corners))
    planes = input.reshape(n, c, -1)
    result = None
    for combo in itertools.product(*per_axis):
        flat, inside, weight = 0, True, None
        for (pos, w), size in zip(combo, sizes):
            inside = inside & (pos >= 0) & (pos < size)
            flat = flat * size + xp.clip(pos, 0, size - 1)
            weight = w if weight is None else weight * w
        index = make(flat.reshape(n, 1, -1)).expand(n, c, -1)
        values = planes.gather(2, index).reshape(n, c, *out_sizes)
        mask = make(inside.astype(input._data.dtype)).unsqueeze(1)
        term = values * (weight * mask.squeeze(1)).unsqueeze(1)
        result = term if result is None else result + term
    return result
