"""Network blocks. `build_classifier(spec)` is what baselines and most SSL methods start from.

A classifier takes `inputs: dict[str, Tensor]` (feature group -> [B, ...]) and optional
`lengths: dict[str, Tensor]`, and returns class logits [B, C]. Sequence groups [B, T, d] are
mean-pooled over their valid frames (head padding honoured, `models.masking`); see `models.fusion`.
"""

from __future__ import annotations

from torch import nn

from semiemo.models.spec import ModelSpec
from semiemo.models.fusion import EarlyFusionClassifier, LateFusionClassifier, pool_group, pool_group_numpy, pooled_dim
from semiemo.models.mlp import MLP
from semiemo.models.transformer_encoder import TransformerClassifier, TransformerOptions


def build_classifier(spec: ModelSpec) -> nn.Module:
    """Paper 003's transformer when `spec.backbone` says so; else early fusion (concatenate inputs) or
    late fusion (per-group encoders), as `spec.fusion` says."""
    if spec.backbone == "transformer":
        return TransformerClassifier(spec.input_shapes, spec.num_classes,
                                     TransformerOptions.from_dict(spec.backbone_options), spec.pad_sides)
    if spec.backbone != "mlp":
        raise ValueError(f"unknown backbone {spec.backbone!r}; allowed: 'mlp', 'transformer'")
    if spec.fusion == "early":
        return EarlyFusionClassifier(spec.input_shapes, spec.num_classes, spec.hidden, spec.dropout, spec.pad_sides, spec.channel_axes)
    if spec.fusion == "late":
        return LateFusionClassifier(spec.input_shapes, spec.num_classes, spec.hidden, spec.dropout, spec.pad_sides, spec.channel_axes)
    raise ValueError(f"unknown fusion {spec.fusion!r}; allowed: 'early', 'late'")


__all__ = ["MLP", "TransformerClassifier", "TransformerOptions", "EarlyFusionClassifier", "LateFusionClassifier", "build_classifier", "pool_group",
           "pool_group_numpy", "pooled_dim"]
