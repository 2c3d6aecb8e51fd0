"""``ember.nn.utils``: gradient clipping, parameter/vector conversion, weight and spectral norm,
conv/linear + batch norm fusion.

``parametrize``, ``parametrizations``, ``prune``, ``rnn`` and the hook-based ``weight_norm`` load
on first use (they need ``Module``, which itself imports ``ember.nn.utils.hooks``).
"""

import importlib as _importlib

from ember.nn.utils import hooks as hooks
from ember.nn.utils.clip_grad import clip_grad_norm as clip_grad_norm
from ember.nn.utils.clip_grad import clip_grad_norm_ as clip_grad_norm_
from ember.nn.utils.clip_grad import clip_grad_value_ as clip_grad_value_
from ember.nn.utils.clip_grad import clip_grads_with_norm_ as clip_grads_with_norm_
from ember.nn.utils.clip_grad import get_total_norm as get_total_norm
from ember.nn.utils.convert_parameters import parameters_to_vector as parameters_to_vector
from ember.nn.utils.convert_parameters import vector_to_parameters as vector_to_parameters

_SUBMODULES = ("parametrize", "parametrizations", "prune", "rnn", "stateless")
_FROM = {
    "weight_norm": "hook_norms",
    "remove_weight_norm": "hook_norms",
    "spectral_norm": "hook_norms",
    "remove_spectral_norm": "hook_norms",
    "fuse_conv_bn_eval": "fusion",
    "fuse_conv_bn_weights": "fusion",
    "fuse_linear_bn_eval": "fusion",
    "fuse_linear_bn_weights": "fusion",
    "skip_init": "module_setup",
    "convert_conv2d_weight_memory_format": "module_setup",
    "convert_conv3d_weight_memory_format": "module_setup",
}


def __getattr__(name):
    if name in _SUBMODULES:
        module = _importlib.import_module(f"ember.nn.utils.{name}")
        globals()[name] = module
        return module
    if name in _FROM:
        value = getattr(_importlib.import_module(f"ember.nn.utils.{_FROM[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ember.nn.utils' has no attribute {name!r}")
