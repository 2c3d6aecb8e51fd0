"""``ember.cuda.amp``: the older spelling of ``ember.amp`` (``torch.cuda.amp.GradScaler``)."""

from ember.amp import GradScaler, autocast

__all__ = ["GradScaler", "autocast"]
