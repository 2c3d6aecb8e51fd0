"""``ember.backends``: switches for the device libraries (``ember.backends.cuda``)."""
