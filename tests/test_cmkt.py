"""CMKT (paper 003): visual pseudo-labels, FF1 Consistent & Random, FF2 Weighted Fusion, DCMKT baselines."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from av_fold import av_fold
from semiemo.corpora.schema import FER_CLASSES
from semiemo.methods.base import Batch, ModelSpec, StepInfo, hparams_from_dict
from semiemo.methods.cmkt import CMKT, CMKTHParams, consistent_and_random_mask, weighted_fusion
from semiemo.methods.dcmkt import DCMKT, DCMKTHParams
from semiemo.methods.fixmatch import FixMatch, FixMatchHParams
from semiemo.methods.visual_labels import fer_to_task_matrix, track_probabilities, visual_class_probabilities
from semiemo.train.config import TrainConfig
from semiemo.train.loop import fit_fold, model_spec
from semiemo.train.streams import TensorPool

INFO = StepInfo(epoch=0, step=0, total_steps=1, num_epochs=1)


def _fer(*classes: str) -> torch.Tensor:
    p = torch.zeros(len(classes), len(FER_CLASSES))
    for i, c in enumerate(classes):
        p[i, FER_CLASSES.index(c)] = 1.0
    return p


# --- visual pseudo-labels (§3.2, Table 2) -----------------------------------------------------------
def test_track_probabilities_average_real_frames_only_and_renormalise():
    frames = torch.zeros(1, 4, 7)
    frames[0, 0] = 9.0                            # head padding junk
    frames[0, 2:, FER_CLASSES.index("anger")] = 0.5
    frames[0, 2:, FER_CLASSES.index("fear")] = 0.3
    track = track_probabilities(frames, torch.tensor([2]), "start")
    assert track.sum().item() == pytest.approx(1.0)
    assert track[0, FER_CLASSES.index("anger")].item() == pytest.approx(0.625)


def test_table_2_maps_seven_expressions_onto_three_sentiments_by_summing_groups():
    m, kind = fer_to_task_matrix(["negative", "neutral", "positive"])
    assert kind == "sentiment"
    probs, keep = visual_class_probabilities(_fer("surprise", "happiness", "neutral", "fear", "disgust"), m, kind)
    assert probs.argmax(1).tolist() == [2, 2, 1, 0, 0] and keep.all()
    track = torch.tensor([[0.3, 0.1, 0.1, 0.15, 0.15, 0.1, 0.1]])  # neutral argmax, but negative sums to 0.5
    assert visual_class_probabilities(track, m, kind)[0].tolist()[0] == pytest.approx([0.5, 0.3, 0.2])


def test_four_class_task_keeps_only_clips_whose_expression_is_one_of_the_four():
    m, kind = fer_to_task_matrix(["anger", "happiness", "neutral", "sadness"])
    assert kind == "restrict"
    probs, keep = visual_class_probabilities(_fer("anger", "surprise", "sadness") * 0.7 + 0.1, m, kind)
    assert keep.tolist() == [True, False, True]
    assert probs.sum(1).tolist() == pytest.approx([1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="Table 2"):
        fer_to_task_matrix(["calm", "excited"])


# --- the fusion functions (eqs. 5-9) ---------------------------------------------------------------
def test_ff1_with_epsilon_zero_keeps_exactly_the_agreeing_rows_and_with_one_all_rows():
    audio = torch.tensor([0, 1, 2, 0, 1])
    visual = torch.tensor([0, 2, 2, 1, 1])
    w = torch.rand(5)
    assert consistent_and_random_mask(audio, visual, 0.0, w).tolist() == [1, 0, 1, 0, 1]
    assert consistent_and_random_mask(audio, visual, 1.0, w).tolist() == [1, 1, 1, 1, 1]
    w = torch.tensor([0.1, 0.6, 0.9, 0.4, 0.9])
    assert consistent_and_random_mask(audio, visual, 0.5, w).tolist() == [1, 0, 1, 1, 1]


def _method_pair(fusion: str, **hp):
    data = av_fold(n_train=16, n_unlabeled=16, seed=1)
    spec = model_spec(data)
    cmkt = CMKT(spec, hparams_from_dict(CMKTHParams, {"fusion": fusion, **hp}))
    labeled = TensorPool(data.train).batch(np.arange(16))
    unlabeled = TensorPool(data.unlabeled).batch(np.arange(16))
    return data, spec, cmkt, labeled, unlabeled


def test_ff1_step_with_epsilon_zero_trains_only_on_agreeing_rows_with_visual_targets():
    _, _, cmkt, labeled, unlabeled = _method_pair("ff1", epsilon=0.0)
    torch.manual_seed(0)
    out = cmkt.train_step(labeled, unlabeled, INFO)
    assert out["mask_rate"].item() == pytest.approx(out["av_agreement"].item())
    _, _, cmkt1, labeled, unlabeled = _method_pair("ff1", epsilon=1.0)
    assert cmkt1.train_step(labeled, unlabeled, INFO)["mask_rate"].item() == 1.0


def test_ff1_draws_a_fresh_uniform_per_row_each_step():
    _, _, cmkt, labeled, unlabeled = _method_pair("ff1", epsilon=0.5)
    torch.manual_seed(0)
    rates = {round(cmkt.train_step(labeled, unlabeled, INFO)["mask_rate"].item(), 4) for _ in range(6)}
    assert len(rates) > 1


def test_ff2_with_alpha_one_is_fixmatch_on_the_same_batch():
    data, spec, cmkt, labeled, unlabeled = _method_pair("ff2", alpha=1.0, threshold=0.4)
    fixmatch = FixMatch(spec.without_groups("fer"), FixMatchHParams(threshold=0.4))
    fixmatch.load_state_dict(cmkt.state_dict())
    audio_only = lambda b: Batch({"audio": b.inputs["audio"]}, b.index, b.targets, b.labels, {"audio": b.lengths["audio"]})  # noqa: E731
    torch.manual_seed(5)
    a = cmkt.train_step(labeled, unlabeled, INFO)
    torch.manual_seed(5)
    b = fixmatch.train_step(audio_only(labeled), audio_only(unlabeled), INFO)
    assert b["mask_rate"].item() > 0                       # the comparison is not vacuous
    for k in ("loss", "sup_loss", "unsup_loss", "mask_rate"):
        assert a[k].item() == pytest.approx(b[k].item(), abs=1e-6), k


def test_weighted_fusion_alpha_weights_audio():
    pa, pv = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    assert weighted_fusion(pa, pv, 0.2)[0].tolist() == pytest.approx([0.2, 0.8])


def test_missing_visual_group_is_an_error_naming_the_fix():
    spec = ModelSpec({"audio": (4, 3)}, 3, class_names=("negative", "neutral", "positive"))
    with pytest.raises(ValueError, match="features"):
        CMKT(spec, CMKTHParams())


# --- training ------------------------------------------------------------------------------------
def test_cmkt_trains_with_the_transformer_and_logs_oracle_accuracy_of_each_pseudo_label():
    data = av_fold(seed=2, inconsistency=0.3)
    spec = model_spec(data, backbone="transformer",
                      backbone_options={"layers": 1, "heads": 2, "d_model": 16, "ffn": 32}, pad_sides={"audio": "start"})
    cfg = TrainConfig(num_threads=1, epochs=3, batch_size=16, optimizer="adamax", lr=0.01,
                      lr_schedule="warmup_step_decay", grad_clip_norm=1.0)
    result = fit_fold(data, "cmkt", {"fusion": "ff1"}, cfg, spec, seed=0)
    last = result.history[-1]
    # the visual labels disagree with the truth at the configured 30 % (noise in the FER frames aside)
    assert 0.6 <= last["train/oracle_accuracy/visual"] <= 0.8
    for k in ("train/oracle_accuracy/audio", "train/oracle_accuracy/fused", "train/mask_rate",
              "train/pseudo_label_hist/visual/0", "train/pseudo_label_share/2", "train/lr"):
        assert k in last, k
    assert sum(last[f"train/pseudo_label_hist/visual/{c}"] for c in range(3)) == pytest.approx(1.0)


def test_dcmkt_learns_the_visual_labels_and_fine_tuning_switches_to_labeled_data():
    data = av_fold(seed=3, inconsistency=0.0, separation=3.0)
    cfg = TrainConfig(num_threads=1, epochs=4, batch_size=16)
    plain = fit_fold(data, "dcmkt", {}, cfg, seed=0)
    assert plain.test_metrics["ua"] > 0.6                           # consistent faces teach the voice
    tuned = fit_fold(data, "dcmkt", {"pretrain_epochs": 2}, cfg, seed=0)
    assert [h["train/phase"] for h in tuned.history] == [0.0, 0.0, 1.0, 1.0]
    assert tuned.best_epoch >= 3                                    # selection counts from fine-tuning
    assert DCMKT.side_groups(DCMKTHParams()) == ("fer",)


def test_a_user_fer_checkpoint_turns_face_crops_into_frame_probabilities(tmp_path):
    from semiemo.methods.visual_labels import fer_probabilities_from_checkpoint

    class TinyFER(torch.nn.Module):
        def __init__(self, out: int) -> None:
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, out))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)

    good, bad = tmp_path / "fer.pt", tmp_path / "bad.pt"
    torch.jit.script(TinyFER(7)).save(str(good))
    torch.jit.script(TinyFER(5)).save(str(bad))
    probs = fer_probabilities_from_checkpoint(str(good), torch.randn(10, 3, 8, 8), batch_size=4)
    assert probs.shape == (10, 7) and torch.allclose(probs.sum(1), torch.ones(10))
    with pytest.raises(ValueError, match="expected"):
        fer_probabilities_from_checkpoint(str(bad), torch.randn(2, 3, 8, 8))
