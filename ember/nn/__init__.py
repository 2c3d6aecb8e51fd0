"""``ember.nn``: Module, Parameter, the layers, and the ``functional``, ``init`` and ``utils`` submodules.

>>> import ember
>>> net = ember.nn.Sequential(ember.nn.Linear(2, 3), ember.nn.Flatten())
>>> sorted(net.state_dict())
['0.bias', '0.weight']
"""

from ember.nn import functional as functional
from ember.nn import init as init
from ember.nn import utils as utils
from ember.nn.modules import *
from ember.nn.modules.utils import factory_kwargs as factory_kwargs
from ember.nn.parallel import DataParallel as DataParallel
from ember.nn.parameter import Buffer as Buffer
from ember.nn.parameter import Parameter as Parameter
from ember.nn.parameter import UninitializedBuffer as UninitializedBuffer
from ember.nn.parameter import UninitializedParameter as UninitializedParameter


def __getattr__(name: str):
    if name in ("grow", "attention"):  # imported on first use: ember.nn.grow after a bare ``import ember``
        import importlib

        return importlib.import_module(f"ember.nn.{name}")
    raise AttributeError(f"module 'ember.nn' has no attribute '{name}'")
