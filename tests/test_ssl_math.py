"""Specifications of the shared semi-supervised mathematics and of each method's loss composition."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from semiemo.methods import augment
from semiemo.methods.base import Batch, ModelSpec, StepInfo
from semiemo.methods.registry import get_method
from semiemo.methods.ssl_math import (
    bias_corrected, confidence_mask, ema_update, ensemble_update, linear_rampup, mixup, sample_mixup_lambda,
    sharpen, sigmoid_rampup, soft_cross_entropy,
)

C = 4
SPEC = ModelSpec(input_shapes={"egemaps": (12,), "fbank": (6, 5)}, num_classes=C, hidden=(16, 8), dropout=0.3)


def entropy(p: torch.Tensor) -> torch.Tensor:
    return -(p * p.clamp_min(1e-12).log()).sum(-1)


def make_batch(n: int, seed: int, labeled: bool, offset: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    inputs = {"egemaps": torch.randn(n, 12, generator=g), "fbank": torch.randn(n, 6, 5, generator=g)}
    labels = torch.randint(0, C, (n,), generator=g)
    return Batch(inputs=inputs, index=torch.arange(offset, offset + n),
                 targets=F.one_hot(labels, C).float() if labeled else None,
                 labels=labels if labeled else torch.full((n,), -1),
                 lengths={"fbank": torch.randint(1, 7, (n,), generator=g)})


INFO = StepInfo(epoch=12, step=500, total_steps=600, num_epochs=30)


# --- sharpening -------------------------------------------------------------------------------
def test_sharpen_rows_sum_to_one():
    p = torch.softmax(torch.randn(32, C), -1)
    assert torch.allclose(sharpen(p, 0.5).sum(-1), torch.ones(32), atol=1e-6)


def test_sharpen_lowers_entropy_for_temperature_below_one():
    p = torch.softmax(torch.randn(32, C), -1)
    assert (entropy(sharpen(p, 0.3)) < entropy(p)).all()


def test_sharpen_with_temperature_one_is_identity():
    p = torch.softmax(torch.randn(8, C), -1)
    assert torch.allclose(sharpen(p, 1.0), p, atol=1e-6)


# --- MixUp ------------------------------------------------------------------------------------
def test_mixup_lambda_prime_is_at_least_one_half():
    g = torch.Generator().manual_seed(0)
    lams = [sample_mixup_lambda(0.75, g) for _ in range(500)]
    assert min(lams) >= 0.5 and max(lams) <= 1.0
    assert max(lams) - min(lams) > 0.3  # genuinely random, not a constant


def test_mixup_uses_max_of_lambda_and_its_complement():
    x1, x2 = torch.zeros(3, 2), torch.ones(3, 2)
    mixed_low, _ = mixup(x1, x1, x2, x2, 0.2)
    mixed_high, _ = mixup(x1, x1, x2, x2, 0.8)
    assert torch.allclose(mixed_low, mixed_high) and torch.allclose(mixed_low, torch.full((3, 2), 0.2))


# --- confidence mask (FixMatch) ---------------------------------------------------------------
def test_confidence_mask_keeps_rows_whose_top_probability_exceeds_tau():
    probs = torch.tensor([[0.95, 0.05], [0.6, 0.4], [0.1, 0.9], [0.91, 0.09]])
    assert confidence_mask(probs, 0.9).tolist() == [1.0, 0.0, 0.0, 1.0]
    assert confidence_mask(probs, 0.5).tolist() == [1.0, 1.0, 1.0, 1.0]


def test_fixmatch_mask_rate_follows_tau():
    torch.manual_seed(0)
    rates = []
    for tau in (0.0, 0.3, 0.999999):
        method = get_method("fixmatch")(SPEC, get_method("fixmatch").HParams(threshold=tau), num_unlabeled=64)
        out = method.train_step(make_batch(8, 1, True), make_batch(32, 2, False), INFO)
        rates.append(float(out["mask_rate"]))
    assert rates[0] == 1.0 and rates[2] == 0.0 and rates[0] >= rates[1] >= rates[2]


# --- ramp-ups ----------------------------------------------------------------------------------
def test_sigmoid_rampup_rises_from_exp_minus_five_to_one():
    assert sigmoid_rampup(0, 10) == pytest.approx(torch.exp(torch.tensor(-5.0)).item())
    assert sigmoid_rampup(5, 10) < sigmoid_rampup(8, 10) < sigmoid_rampup(10, 10) == 1.0
    assert linear_rampup(3, 12) == 0.25 and linear_rampup(20, 12) == 1.0


# --- temporal ensembling ----------------------------------------------------------------------
def test_bias_correction_returns_constant_predictions_from_the_first_update():
    z = torch.softmax(torch.randn(5, C), -1)
    ensemble, updates = torch.zeros(5, C), torch.zeros(5, dtype=torch.long)
    for _ in range(3):
        ensemble, updates = ensemble_update(ensemble, z, 0.6), updates + 1
        assert torch.allclose(bias_corrected(ensemble, 0.6, updates), z, atol=1e-6)


def test_temporal_ensembling_targets_equal_constant_predictions_after_epoch_one():
    te_cls = get_method("temporal_ensembling")
    method = te_cls(SPEC, te_cls.HParams(), num_unlabeled=6)
    z = torch.softmax(torch.randn(6, C), -1)
    for epoch in range(2):
        method.record(torch.arange(6), z)
        method.on_epoch_end(dataclasses.replace(INFO, epoch=epoch))
        assert torch.allclose(method.targets(torch.arange(6)), z, atol=1e-6)


def test_temporal_ensembling_leaves_unseen_rows_without_a_target():
    te_cls = get_method("temporal_ensembling")
    method = te_cls(SPEC, te_cls.HParams(), num_unlabeled=6)
    method.record(torch.tensor([0, 1]), torch.full((2, C), 1.0 / C))
    method.on_epoch_end(INFO)
    assert method.updates.tolist() == [1, 1, 0, 0, 0, 0]
    assert torch.count_nonzero(method.targets(torch.arange(2, 6))) == 0


# --- mean teacher EMA -------------------------------------------------------------------------
def test_ema_update_moves_teacher_by_one_minus_decay_towards_student():
    student, teacher = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    before = [p.clone() for p in teacher.parameters()]
    ema_update(teacher, student, 0.9)
    for t, b, s in zip(teacher.parameters(), before, student.parameters()):
        assert torch.allclose(t, 0.9 * b + 0.1 * s)


def test_mean_teacher_teacher_tracks_student_after_optimizer_step():
    mt_cls = get_method("mean_teacher")
    method = mt_cls(SPEC, mt_cls.HParams(), num_unlabeled=16)
    with torch.no_grad():
        for p in method.model.parameters():
            p.add_(1.0)
    teacher_before = [p.clone() for p in method.teacher.parameters()]
    info = dataclasses.replace(INFO, step=500, total_steps=10_000)  # in ramp-up, past warm start: α = 0.99
    method.after_optimizer_step(info)
    for t, b, s in zip(method.teacher.parameters(), teacher_before, method.model.parameters()):
        assert torch.allclose(t, 0.99 * b + 0.01 * s, atol=1e-6)
    assert not any(p.requires_grad for p in method.teacher.parameters())


# --- each method with its unsupervised weight at 0 is the supervised loss ---------------------
ZERO_WEIGHT = {
    "pi_model": {"max_unsup_weight": 0.0, "noise_std": 0.0},
    "temporal_ensembling": {"max_unsup_weight": 0.0, "noise_std": 0.0},
    "mean_teacher": {"max_consistency_weight": 0.0, "noise_std": 0.0},
    "mixmatch": {"unsup_weight": 0.0, "noise_std": 0.0, "mixup_alpha": 0.0},
    "fixmatch": {"unsup_weight": 0.0, "labeled_view": "none"},
    "pseudo_label": {"unsup_weight": 0.0, "online": True},
    "sae": {"pretrain_epochs": 0},
}


@pytest.mark.parametrize("name", sorted(ZERO_WEIGHT))
def test_method_with_zero_unsupervised_weight_reduces_to_supervised_cross_entropy(name):
    cls = get_method(name)
    torch.manual_seed(0)
    method = cls(SPEC, cls.HParams(**ZERO_WEIGHT[name]), num_unlabeled=64).eval()  # eval: dropout off
    labeled, unlabeled = make_batch(8, 1, True), make_batch(16, 2, False)
    if name == "temporal_ensembling":  # give every unlabeled row a target, so the term is live
        method.record(unlabeled.index, torch.full((16, C), 1.0 / C))
        method.on_epoch_end(INFO)
    out = method.train_step(labeled, unlabeled, INFO)
    expected = soft_cross_entropy(method.predict(labeled.inputs, labeled.lengths), labeled.targets)
    assert torch.allclose(out["loss"], expected, atol=1e-6)
    assert out["loss"].requires_grad


@pytest.mark.parametrize("name", ["pi_model", "temporal_ensembling", "mean_teacher", "mixmatch", "fixmatch", "pseudo_label"])
def test_method_reports_its_loss_components_by_name(name):
    cls = get_method(name)
    torch.manual_seed(0)
    params = {"threshold": 0.0} if name in ("fixmatch", "pseudo_label") else {}
    if name == "pseudo_label":
        params["online"] = True
    method = cls(SPEC, cls.HParams(**params), num_unlabeled=64)
    out = method.train_step(make_batch(8, 1, True), make_batch(16, 2, False), INFO)
    assert {"loss", "sup_loss", "unsup_loss", "unsup_weight"} <= set(out)
    assert torch.isfinite(out["loss"])


# --- offline pseudo-labelling (SSBase) --------------------------------------------------------
def test_ssbase_labels_the_pool_at_the_end_of_warmup_and_keeps_only_confident_rows():
    cls = get_method("pseudo_label")
    method = cls(SPEC, cls.HParams(warmup_epochs=2, threshold=0.8), num_unlabeled=3)
    probs = torch.tensor([[0.9, 0.05, 0.03, 0.02], [0.4, 0.3, 0.2, 0.1], [0.0, 0.0, 0.85, 0.15]])
    method.on_epoch_end(dataclasses.replace(INFO, epoch=0), probs)           # still warming up: ignored
    assert method.pseudo_mask.sum() == 0
    method.on_epoch_end(dataclasses.replace(INFO, epoch=1), probs)           # last warm-up epoch
    assert method.pseudo_labels.tolist() == [0, 0, 2] and method.pseudo_mask.tolist() == [1.0, 0.0, 1.0]


def test_ssbase_trains_supervised_only_during_warmup():
    cls = get_method("pseudo_label")
    method = cls(SPEC, cls.HParams(warmup_epochs=5), num_unlabeled=64).eval()
    labeled = make_batch(8, 1, True)
    out = method.train_step(labeled, make_batch(16, 2, False), dataclasses.replace(INFO, epoch=1))
    assert torch.allclose(out["loss"], out["sup_loss"]) and float(out["unsup_loss"]) == 0.0


# --- augmentation ------------------------------------------------------------------------------
def test_strong_augmentation_masks_sequences_and_vectors_but_not_token_ids():
    torch.manual_seed(0)
    inputs = {"fbank": torch.ones(4, 50, 40), "egemaps": torch.ones(4, 88), "tokens": torch.ones(4, 7, dtype=torch.long)}
    out = augment.strong(inputs)
    assert (out["fbank"] == 0).any() and (out["egemaps"] == 0).any()
    assert torch.equal(out["tokens"], inputs["tokens"])
    assert (out["fbank"] == 1).float().mean() > 0.3  # masks distort, they do not erase


def test_time_mask_never_exceeds_its_ratio_of_the_sequence():
    torch.manual_seed(0)
    x = augment.time_mask(torch.ones(64, 100, 3), max_width=100, count=1, max_ratio=0.2)
    masked_frames = (x[:, :, 0] == 0).sum(dim=1)
    assert masked_frames.max() <= 20

