"""``GrowthReport``: what one call of ``widen_``, ``deepen_`` or ``prune_`` changed."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["GrowthReport"]


@dataclass
class GrowthReport:
    """Modules changed (with each tensor's old and new shape), modules added, parameter counts.

    ``str(report)`` is a few readable lines; the fields are there for programs.
    """

    operation: str
    layers: list[str]
    old_width: int | None = None
    new_width: int | None = None
    shapes: dict[str, dict[str, tuple[tuple, tuple]]] = field(default_factory=dict)
    added_modules: list[str] = field(default_factory=list)
    parameters_before: int = 0
    parameters_after: int = 0

    @property
    def parameters_added(self) -> int:
        """Parameters gained (negative when pruning)."""
        return self.parameters_after - self.parameters_before

    @property
    def modules(self) -> list[str]:
        """Every module touched: changed in shape or newly added."""
        return list(self.shapes) + [m for m in self.added_modules if m not in self.shapes]

    def __str__(self) -> str:
        layers = ", ".join(f"'{n}'" for n in self.layers)
        head = f"{self.operation} {layers}"
        if self.old_width is not None:
            head += f": {self.old_width} -> {self.new_width} units"
        head += f" ({self.parameters_added:+,} parameters, {self.parameters_after:,} in all)"
        lines = [head]
        for module, tensors in self.shapes.items():
            parts = "; ".join(f"{k} {list(a)} -> {list(b)}" for k, (a, b) in tensors.items())
            lines.append(f"  {module}: {parts}")
        for module in self.added_modules:
            lines.append(f"  {module}: new")
        return "\n".join(lines)
