"""PyTorch's private import path ``torch.utils.data._utils``, which some code imports the collate
functions from."""
