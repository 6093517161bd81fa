"""What the data tells a method about its networks: the type models/ builds from (it lives on the
floor that owns it; methods and the trainer import it from here)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelSpec:
    """What the data tells a method about its networks."""

    input_shapes: dict[str, tuple[int, ...]]  # feature group -> per-row shape
    num_classes: int
    hidden: tuple[int, ...] = (256, 128)
    dropout: float = 0.3
    fusion: str = "early"  # early (concatenate inputs) | late (per-modality encoders, concatenate codes)
    backbone: str = "mlp"  # mlp (fusion classifiers) | transformer (paper 003's M_θ, models.transformer_encoder)
    backbone_options: dict[str, Any] = field(default_factory=dict)  # e.g. TransformerOptions fields
    class_names: tuple[str, ...] = ()  # output order, when the data names its classes

    def without_groups(self, *groups: str) -> "ModelSpec":
        """The same spec minus some input groups (a method that reads a group as a side input)."""
        return dataclasses.replace(self, input_shapes={k: v for k, v in self.input_shapes.items() if k not in groups})
    pad_sides: dict[str, str] = field(default_factory=dict)  # sequence group -> "end" | "start" (head padding); missing = "end"
    channel_axes: dict[str, int] = field(default_factory=dict)  # group -> feature axis from the end when not -1 (avsp: -2)
