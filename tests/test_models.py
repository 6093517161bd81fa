"""Classifier blocks: ELU MLPs, early/late fusion over feature groups, sequence pooling."""

from __future__ import annotations

import pytest
import torch

from semiemo.methods.base import ModelSpec
from semiemo.models import EarlyFusionClassifier, LateFusionClassifier, build_classifier, pool_group


def test_sequence_groups_are_mean_pooled_over_their_valid_frames():
    x = torch.tensor([[[1.0], [3.0], [100.0]], [[2.0], [4.0], [6.0]]])  # [B=2, T=3, d=1]
    pooled = pool_group(x, torch.tensor([2, 3]))
    assert pooled.squeeze(1).tolist() == [2.0, 4.0]  # the padded 100 is ignored


def test_higher_rank_groups_pool_their_segments_and_frames_per_channel():
    assert pool_group(torch.zeros(4, 2, 3, 5)).shape == (4, 5)
    assert pool_group(torch.zeros(4, 2, 3, 5), channel_axis=-2).shape == (4, 3)


def test_early_fusion_concatenates_groups_into_one_mlp():
    spec = ModelSpec({"is10": (10,), "fbank": (7, 4)}, num_classes=3, hidden=(8,), dropout=0.0, fusion="early")
    model = build_classifier(spec)
    assert isinstance(model, EarlyFusionClassifier)
    assert model.encoder.in_dim == 10 + 4
    logits = model({"is10": torch.randn(5, 10), "fbank": torch.randn(5, 7, 4)}, {"fbank": torch.tensor([7, 3, 1, 2, 7])})
    assert logits.shape == (5, 3)


def test_late_fusion_gives_each_group_its_own_encoder():
    spec = ModelSpec({"is10": (10,), "text": (6,)}, num_classes=4, hidden=(8, 5), dropout=0.1, fusion="late")
    model = build_classifier(spec)
    assert isinstance(model, LateFusionClassifier)
    assert set(model.encoders) == {"is10", "text"} and model.head.in_features == 2 * 5
    assert model({"is10": torch.randn(3, 10), "text": torch.randn(3, 6)}).shape == (3, 4)
    assert any(isinstance(m, torch.nn.ELU) for m in model.modules())


def test_unknown_fusion_is_an_error_naming_the_allowed_ones():
    with pytest.raises(ValueError, match="'early', 'late'"):
        build_classifier(ModelSpec({"x": (3,)}, num_classes=2, fusion="mcb"))
