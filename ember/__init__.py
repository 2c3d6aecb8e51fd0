"""ember: a define-by-run deep-learning framework on NumPy (CPU) and CuPy (CUDA).

``import ember as torch`` runs ordinary PyTorch code. Subpackages (``ember.nn``,
``ember.optim``, ``ember.utils.data``, ``ember.cuda``, ...) load on first use.
"""

import importlib as _importlib
import importlib.util as _importlib_util
import math as _math

from ember import dtypes as _dtypes
from ember import nn_aliases as _nn_aliases
from ember import tensor as _tensor_module  # first, so that ember.tensor ends as the factory
from ember.amp import (
    GradScaler,
    autocast,
    clear_autocast_cache,
    get_autocast_cpu_dtype,
    get_autocast_dtype,
    get_autocast_gpu_dtype,
    is_autocast_cache_enabled,
    is_autocast_cpu_enabled,
    is_autocast_enabled,
    set_autocast_cache_enabled,
)
from ember.autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from ember.autograd.grad_mode import is_inference_mode_enabled
from ember.creation import *  # noqa: F403 - tensor, zeros, arange, ...
from ember.creation_extra import (
    empty_strided,
    from_file,
    frombuffer,
    range,  # noqa: A004 - torch.range (deprecated, end inclusive)
    to_dlpack,
)
from ember.device import device
from ember.dtypes import (
    bfloat16,
    bool,
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    dtype,  # noqa: F401  (after the names above: ember.dtype is the class)
    finfo,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    iinfo,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    set_default_dtype,
    short,
    uint8,
)
from ember.functions import *  # noqa: F403  - the free-function twins of Tensor methods
from ember.functions import __all__ as _function_names
from ember.layouts import *  # noqa: F403 - layout, strided, memory_format, channels_last, ...
from ember.random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from ember.random_ops import *  # noqa: F403 - rand, randn, randint, ...
from ember.settings import *  # noqa: F403 - set_default_device, set_num_threads, ... (honest)
from ember.settings import AcceleratorError, OutOfMemoryError, has_lapack, has_mkl, has_openmp, has_spectral
from ember.sparse import hspmm, smm, sparse_coo_tensor, sparse_csr_tensor, spmm
from ember.tensor import Size, Tensor
from ember.tensor_repr import set_printoptions
from ember.transforms import compile, vmap  # noqa: A004 - PyTorch's names
from ember.typed_tensors import *  # noqa: F403 - FloatTensor, LongTensor, ... (legacy constructors)
from ember.typed_tensors import set_default_tensor_type
from ember.windows import *  # noqa: F403 - hann_window, ...

e, pi, inf, nan, newaxis = _math.e, _math.pi, _math.inf, _math.nan, None

from ember.version import __version__ as __version__  # noqa: E402 - one place holds it


def __getattr__(name):
    """Subpackages (``ember.nn``, ``ember.fft``, ...) load on first use; probes such as
    ``hasattr(ember, "xyz")`` answer False for names that do not exist instead of raising."""
    if name in ("save", "load", "SerializationError"):
        serialization = _importlib.import_module("ember.serialization")
        return getattr(serialization, name)
    alias = _nn_aliases.lookup(name)  # ember.conv2d, ember.dropout, ...: nn.functional's
    if alias is not None:
        return alias
    if not name.startswith("_") and _importlib_util.find_spec(f"ember.{name}") is not None:
        module = _importlib.import_module(f"ember.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'ember' has no attribute {name!r}")


def install_as_torch() -> None:
    """Make ``import torch`` (and every ``torch.X``) resolve to ember in this process.

    Refuses when real PyTorch is already imported. See ``ember.as_torch`` and docs/as-torch.md.
    """
    from ember.as_torch import install

    install()


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(input) -> bool:
    return input.is_floating_point()


def numel(input) -> int:
    return input.numel()


def typename(obj) -> str:
    return obj.type() if isinstance(obj, Tensor) else type(obj).__name__
