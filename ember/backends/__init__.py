"""``ember.backends``: switches for the device libraries (``ember.backends.cuda``)."""

from ember.backends import cuda

__all__ = ["cuda"]
