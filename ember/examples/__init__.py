"""Runnable examples; ``ember-demo digits`` (or ``python -m ember.examples digits``) is the main job."""
