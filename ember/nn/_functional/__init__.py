"""The families behind ``ember.nn.functional``, one file each."""
