"""``torch.utils.hooks``'s name for the handle every ``register_*_hook`` returns."""

from ember.autograd.hooks import RemovableHandle

__all__ = ["RemovableHandle"]
