"""Matrix-product methods (see ``ember.ops.linalg``)."""

from __future__ import annotations


# Tensor methods that are also free functions: ember.<name>(t, ...) is t.<name>(...)
FUNCTIONS = ["mm"]
__all__: list = []  # free functions defined here


class LinalgMethods:
    __slots__ = ()

    def mm(self, other):
        if self._data.ndim != 2 or other._data.ndim != 2:
            raise RuntimeError(
                f"mm: expected 2-D tensors, got shapes {list(self.shape)} and {list(other.shape)}"
            )
        return self.matmul(other)
