"""``ember.nn.grow``: change a network's size while it trains, its function preserved.

* ``widen_(model, name, new_width, example_input=...)``: more output units (Net2WiderNet);
* ``deepen_(model, name, example_input=...)``: a new identity-initialised layer after one;
* ``prune_(model, name, keep, example_input=...)``: fewer units, the most important kept;
* ``GrowOnPlateau``: widen when the validation loss stops improving.

Each returns a ``GrowthReport``; with ``optimizer=`` its state follows. See ``docs/grow.md``.
"""

from ember.nn.grow.deepen import deepen_
from ember.nn.grow.plan import width_of
from ember.nn.grow.policy import GrowOnPlateau
from ember.nn.grow.prune import prune_
from ember.nn.grow.report import GrowthReport
from ember.nn.grow.widen import widen_

__all__ = ["GrowOnPlateau", "GrowthReport", "deepen_", "prune_", "widen_", "width_of"]
