"""ember: a define-by-run deep-learning framework on NumPy (CPU) and CuPy (CUDA).

``import ember as torch`` runs ordinary PyTorch code. Subpackages (``ember.nn``,
``ember.optim``, ``ember.utils.data``, ``ember.cuda``, ...) load on first use.
"""

import importlib as _importlib
import importlib.util as _importlib_util

from ember import dtypes as _dtypes
from ember.autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from ember.autograd.grad_mode import is_inference_mode_enabled
from ember.creation import *  # noqa: F403 - tensor, zeros, arange, ...
from ember.device import device
from ember.dtypes import (
    bfloat16, bool, double, finfo, float, float16, float32, float64, get_default_dtype, half, iinfo,
    int, int8, int16, int32, int64, long, promote_types, set_default_dtype, short, uint8,
)
from ember.dtypes import dtype  # noqa: F401  (after the names above: ember.dtype is the class)
from ember.functions import *  # noqa: F403  - the free-function twins of Tensor methods
from ember.functions import __all__ as _function_names
from ember.random import (
    Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state,
)
from ember.random_ops import *  # noqa: F403 - rand, randn, randint, ...
from ember.tensor import Size, Tensor
from ember.tensor_repr import set_printoptions

__version__ = "0.1.0"



from ember.amp import autocast  # noqa: E402 - mixed precision (ember.amp)


def set_float32_matmul_precision(precision: str) -> None:
    """``"highest"`` keeps float32 matmuls exact; ``"high"``/``"medium"`` allow TF32 on CUDA."""
    from ember.backends import cuda as cuda_flags

    cuda_flags.set_float32_matmul_precision(precision)


def get_float32_matmul_precision() -> str:
    from ember.backends import cuda as cuda_flags

    return cuda_flags.get_float32_matmul_precision()


def __getattr__(name):
    """Subpackages (``ember.nn``, ``ember.fft``, ...) load on first use; probes such as
    ``hasattr(ember, "xyz")`` answer False for names that do not exist instead of raising."""
    if name in ("save", "load", "SerializationError"):
        serialization = _importlib.import_module("ember.serialization")
        return getattr(serialization, name)
    if not name.startswith("_") and _importlib_util.find_spec(f"ember.{name}") is not None:
        module = _importlib.import_module(f"ember.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'ember' has no attribute {name!r}")


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(t) -> bool:
    return t.is_floating_point()


def numel(t) -> int:
    return t.numel()


def get_default_device():
    return device("cpu")


def typename(obj) -> str:
    return obj.type() if isinstance(obj, Tensor) else type(obj).__name__
