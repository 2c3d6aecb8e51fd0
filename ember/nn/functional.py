"""``ember.nn.functional``: stateless versions of the layers, gathered from one file per family."""

from ember.methods._out import with_out as _with_out
from ember.nn._functional.activation import *  # noqa: F403
from ember.nn._functional.adaptive_pooling import *  # noqa: F403
from ember.nn._functional.attention import *  # noqa: F403
from ember.nn._functional.compat import *  # noqa: F403
from ember.nn._functional.conv import *  # noqa: F403
from ember.nn._functional.distance import *  # noqa: F403
from ember.nn._functional.dropout import *  # noqa: F403
from ember.nn._functional.linear import *  # noqa: F403
from ember.nn._functional.loss import *  # noqa: F403
from ember.nn._functional.loss_composite import *  # noqa: F403
from ember.nn._functional.margin_loss import *  # noqa: F403
from ember.nn._functional.normalization import *  # noqa: F403
from ember.nn._functional.padding import *  # noqa: F403
from ember.nn._functional.pooling import *  # noqa: F403
from ember.nn._functional.rnn import *  # noqa: F403
from ember.nn._functional.sampling import *  # noqa: F403
from ember.nn._functional.sparse import *  # noqa: F403
from ember.nn._functional.vision import *  # noqa: F403

# PyTorch's builtins behind these names take ``out=``, so they do here too (one mechanism)
for _name in (
    "adaptive_avg_pool1d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "channel_shuffle",
    "conv_tbc",
    "gelu",
    "hardshrink",
    "linear",
    "pixel_shuffle",
    "pixel_unshuffle",
    "softplus",
    "softshrink",
):
    globals()[_name] = _with_out(globals()[_name])
del _name
