"""``from torch.utils.data._utils.collate import default_collate`` (PyTorch's private path)."""

from ember.utils.data.collate import default_collate, default_convert

__all__ = ["default_collate", "default_convert"]
