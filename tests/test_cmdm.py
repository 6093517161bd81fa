"""CMDM (paper 001): MMD estimator, the unpaired-term cancellation, DAE shapes, the method, the balancer,
paper 001's synthetic pool, and a DDP run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semiemo.corpora.synthetic import SynthConfig, synthesize_manifest
from semiemo.features.visual import Face, NoFaceError
from semiemo.methods.base import ModelSpec, StepInfo
from semiemo.methods.mmd import gaussian_kernel, median_bandwidth, mmd2_unbiased, paired_unpaired_mmd
from semiemo.models.autoencoders import LinearDAE, SequenceDAE, build_dae
from semiemo.recipes.pool_balance import balanced_indices
from semiemo.train.config import TrainConfig
from semiemo.train.loop import FoldData, build_method, fit_fold, model_spec
from semiemo.train.streams import Split, TensorPool

SMALL = {"transformer_ffn": 32, "transformer_blocks": 1}  # tiny transformers: fast tests


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread: tiny models on a shared 2-core machine thrash with more."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --- MMD ---------------------------------------------------------------------------------------

def _direct_mmd(x: np.ndarray, y: np.ndarray, sigma: float) -> float:
    k = lambda a, b: np.exp(-np.sum((a - b) ** 2) / (2 * sigma ** 2))  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_unbiased_mmd_equals_a_direct_double_loop():
    g = np.random.default_rng(0)
    x, y = g.normal(size=(9, 5)), g.normal(0.5, 1.3, size=(7, 5))
    tx, ty = torch.tensor(x), torch.tensor(y)
    for sigma in (0.7, 2.5):
        assert float(mmd2_unbiased(tx, ty, sigma)) == pytest.approx(_direct_mmd(x, y, sigma), rel=1e-10, abs=1e-12)
    med = float(median_bandwidth(tx, ty))
    pooled = np.concatenate([x, y])
    d = [np.linalg.norm(a - b) for i, a in enumerate(pooled) for j, b in enumerate(pooled) if i != j]
    assert med == pytest.approx(np.sort(d)[(len(d) - 1) // 2], rel=1e-6)  # the lower median
    assert float(mmd2_unbiased(tx, ty)) == pytest.approx(_direct_mmd(x, y, med), rel=1e-6)


def test_unbiased_mmd_has_zero_expectation_for_one_distribution_and_the_biased_one_does_not():
    g = torch.Generator().manual_seed(1)
    vals, biased = [], []
    for _ in range(400):
        x, y = torch.randn(12, 4, generator=g), torch.randn(12, 4, generator=g)
        vals.append(float(mmd2_unbiased(x, y, 1.5)))
        k = lambda a, b: gaussian_kernel(a, b, 1.5).mean()  # noqa: E731
        biased.append(float(k(x, x) + k(y, y) - 2 * k(x, y)))
    vals = np.array(vals)
    assert abs(vals.mean()) < 3 * vals.std() / np.sqrt(len(vals))
    assert np.mean(biased) > 10 * vals.std() / np.sqrt(len(vals))  # the V-statistic is biased upwards
    shifted = float(mmd2_unbiased(torch.randn(64, 4, generator=g), torch.randn(64, 4, generator=g) + 1.0, 1.5))
    assert shifted > 20 * vals.std() / np.sqrt(len(vals))


def test_literal_unpaired_term_cancels_the_paired_term_exactly():
    g = torch.Generator().manual_seed(2)
    za, zv = torch.randn(32, 8, generator=g, dtype=torch.float64), torch.randn(32, 8, generator=g, dtype=torch.float64)
    pair, unpaired = paired_unpaired_mmd(za, zv, mode="literal", generator=g)  # equal up to float64 summation order
    assert float(pair) > 1e-3
    assert float(pair + unpaired) == pytest.approx(0.0, abs=1e-12)
    # group-wise with g = batch size has one group: the in-batch shuffle, which cancels just the same
    pair, unpaired = paired_unpaired_mmd(za, zv, group_size=32, generator=g)
    assert float(pair + unpaired) == pytest.approx(0.0, abs=1e-12)


def test_groupwise_unpaired_term_does_not_cancel_and_separates_matched_latents():
    g = torch.Generator().manual_seed(3)
    centres = torch.randn(4, 8, generator=g) * 3
    za = centres.repeat_interleave(8, 0) + 0.1 * torch.randn(32, 8, generator=g)  # 4 groups, each its own cluster
    zv = za + 0.1 * torch.randn(32, 8, generator=g)                               # the paired modality matches
    pair, unpaired = paired_unpaired_mmd(za, zv, group_size=8, sigma=1.0, generator=g)
    assert float(pair) < 0.05 and float(-unpaired) > 0.5
    assert abs(float(pair + unpaired)) > 0.4


# --- DAEs --------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, kind", [
    ((18, 342), "visual"), ((17, 341), "visual"), ((22, 384), "lexical"), ((12, 384), "lexical"),
    ((23, 97), "lexical"), ((32, 384), "lexical"),
])
def test_sequence_dae_round_trips_its_input_shape(shape, kind):
    dae = build_dae(shape, kind, ffn=32, blocks=1)
    x = torch.randn(3, *shape)
    z, rec = dae(x)
    assert z.shape == (3, 128) and rec.shape == x.shape
    assert isinstance(dae, SequenceDAE) and dae.reversed_target


def test_paper_shapes_close_as_printed_in_table_3():
    assert build_dae((18, 342), "visual", ffn=32, blocks=1).map_shape == (32, 2, 29)     # 1856
    assert build_dae((22, 1024), "lexical", ffn=32, blocks=1).map_shape == (4, 4, 171)   # 2736
    assert build_dae((22, 384), "lexical", ffn=32, blocks=1).map_shape == (4, 4, 64)     # spec: 1024 for MiniLM
    assert build_dae((18, 342), "visual", ffn=32, blocks=1).heads == 3                   # 4 does not divide 342


def test_linear_dae_is_1582_512_256_128_and_mirrored():
    dae = build_dae((1582,))
    assert isinstance(dae, LinearDAE) and not dae.reversed_target
    widths = [m.out_features for m in dae.encoder if isinstance(m, torch.nn.Linear)]
    assert widths == [512, 256, 128]
    assert [m.out_features for m in dae.decoder if isinstance(m, torch.nn.Linear)] == [256, 512, 1582]
    z, rec = dae(torch.randn(2, 1582))
    assert z.shape == (2, 128) and rec.shape == (2, 1582)


def test_dae_errors_name_the_problem():
    with pytest.raises(ValueError, match="too small"):
        build_dae((2, 3), "visual")
    with pytest.raises(ValueError, match=r"\[B, 18, 342\]"):
        build_dae((18, 342), "visual", ffn=32, blocks=1)(torch.randn(2, 18, 300))


# --- the method --------------------------------------------------------------------------------

CLASSES = ["anger", "happiness", "neutral", "sadness"]


def _multimodal(n: int, seed: int, labeled: bool = True) -> tuple[dict[str, np.ndarray], np.ndarray]:
    g = np.random.default_rng(seed)
    y = g.integers(0, 4, n)
    proto_a, proto_v, proto_l = (np.random.default_rng(99 + k).normal(size=(4, d)) for k, d in enumerate((24, 10, 12)))
    x = {"is10": proto_a[y] * 1.2 + g.normal(size=(n, 24)),
         "face": (proto_v[y][:, None, :] * 0.8 + g.normal(size=(n, 7, 10))),
         "text_tokens": (proto_l[y][:, None, :] * 1.5 + g.normal(size=(n, 9, 12)))}
    return {k: v.astype(np.float32) for k, v in x.items()}, y


def _fold(n_unlabeled: int = 64) -> FoldData:
    eye = np.eye(4, dtype=np.float32)
    split = lambda n, s: (lambda xy: Split(xy[0], targets=eye[xy[1]]))(_multimodal(n, s))  # noqa: E731
    unl = Split(_multimodal(n_unlabeled, 9)[0]) if n_unlabeled else None
    return FoldData(train=split(128, 0), val=split(48, 1), test=split(64, 2), unlabeled=unl, class_names=CLASSES)


def _method(**params):
    data = _fold()
    return build_method("cmdm", {**SMALL, **params}, model_spec(data), 64), data


def test_train_step_returns_every_loss_of_eq_7_to_9_and_combines_them():
    torch.manual_seed(0)
    method, data = _method()
    lab, unl = TensorPool(data.train).batch(np.arange(64)), TensorPool(data.unlabeled).batch(np.arange(64))
    out = method.train_step(lab, unl, StepInfo(0, 0, 10, 1))
    for key in ("loss", "cls", "rec", "pair", "unpaired", "loss_s", "u_rec", "u_pair", "u_unpaired", "loss_u"):
        assert key in out and torch.isfinite(out[key])
    hp = method.hp
    assert float(out["loss_s"]) == pytest.approx(float(out["cls"] + hp.alpha * out["rec"] + hp.beta * (out["pair"] + out["unpaired"])), rel=1e-5)
    assert float(out["loss"].detach()) == pytest.approx(float(out["loss_s"] + hp.omega * out["loss_u"]), rel=1e-5)
    assert float(out["unpaired"]) < 0 < float(out["pair"] + 1.0)
    # the generic names the trainer's run columns read (unlabeled term share, issue 23 premises)
    assert float(out["unsup_weight"]) == pytest.approx(hp.omega) and float(out["unsup_loss"]) == float(out["loss_u"])
    assert float(out["loss"].detach()) == pytest.approx(float(out["sup_loss"] + out["unsup_weight"] * out["unsup_loss"]), rel=1e-5)


@pytest.mark.parametrize("ablation, rec_on, mmd_on, unpaired_on", [
    ("none", True, True, True), ("no_mmd", True, False, True), ("no_unpaired", True, True, False),
    ("no_rec", False, True, True), ("paired_only", False, True, False), ("vanilla", False, False, True),
])
def test_ablations_switch_the_named_terms_off(ablation, rec_on, mmd_on, unpaired_on):
    torch.manual_seed(0)
    method, data = _method(ablation=ablation, use_unlabeled=False)
    out = method.train_step(TensorPool(data.train).batch(np.arange(64)), None, StepInfo(0, 0, 10, 1))
    expect = out["cls"] + (0.2 * out["rec"] if rec_on else 0) + (0.1 * (out["pair"] + out["unpaired"]) if mmd_on else 0)
    assert float(out["loss"].detach()) == pytest.approx(float(expect), rel=1e-5)
    assert (float(out["unpaired"]) != 0.0) == unpaired_on
    assert "loss_u" not in out


def test_modalities_select_groups_and_a_missing_group_is_named():
    method, _ = _method(modalities="al")
    assert list(method.groups) == ["a", "l"] and method.anchor == "a"
    spec = ModelSpec({"is10": (24,)}, 4)
    with pytest.raises(ValueError, match="text_tokens"):
        build_method("cmdm", {"modalities": "al"}, spec, 0)
    with pytest.raises(ValueError, match="ablation"):
        build_method("cmdm", {"ablation": "nope"}, spec, 0)


@pytest.mark.slow
def test_cmdm_learns_three_modalities_with_unlabeled_data():
    result = fit_fold(_fold(128), "cmdm", SMALL, TrainConfig(epochs=8, batch_size=32, num_threads=1), seed=0)
    assert result.test_metrics["ua"] > 0.7  # chance 0.25
    h = result.history
    assert h[-1]["train/cls"] < 0.5 * h[0]["train/cls"]
    assert h[-1]["train/rec"] < h[0]["train/rec"] and "train/u_pair" in h[-1]


# --- the unlabeled pool --------------------------------------------------------------------------

def test_balancer_reaches_equal_predicted_counts_by_sub_and_over_sampling():
    predicted = np.array([0] * 80 + [1] * 12 + [2] * 5 + [3] * 3)
    rows = balanced_indices(predicted, 4, 25, seed=0)
    assert np.bincount(predicted[rows], minlength=4).tolist() == [25, 25, 25, 25]
    assert len(set(rows[predicted[rows] == 0])) == 25          # sub-sampled without replacement
    assert set(np.flatnonzero(predicted == 3)) <= set(rows)     # every rare row kept


def test_balance_unlabeled_trains_a_vanilla_classifier_and_equalises_its_predictions():
    from semiemo.recipes.pool_balance import balance_unlabeled
    from semiemo.train.config import UnlabeledBalanceConfig

    data = _fold(200)
    cfg = UnlabeledBalanceConfig(method_params={"ablation": "vanilla", "use_unlabeled": False, **SMALL}, epochs=3,
                                 per_class=40)
    new, info = balance_unlabeled(data, cfg, TrainConfig(batch_size=32, num_threads=1), model_spec(data), seed=0)
    assert len(new.unlabeled) == 160 and info["pool"] == 200
    assert info["balanced_counts"] == [40, 40, 40, 40]


def test_synthetic_pool_options_skew_classes_and_drop_faces_and_defaults_are_unchanged():
    base = dict(n_acted=40, n_wild_labeled=0, n_unlabeled=600, emotions=tuple(CLASSES))
    plain = synthesize_manifest(SynthConfig(**base))
    skew = synthesize_manifest(SynthConfig(**base, unlabeled_majority_share=0.8, unlabeled_no_face_share=0.11))
    unl = skew[~skew["labeled"]]
    share = unl["oracle_label"].isin(["happiness", "neutral"]).mean()
    assert 0.75 < share < 0.85
    faceless = unl["face_features"].isna().mean()
    assert 0.07 < faceless < 0.15 and skew.loc[skew["labeled"], "face_features"].notna().all()
    assert (skew["utt_id"] == plain["utt_id"]).all()
    lab = plain["labeled"].to_numpy()
    assert (skew.loc[lab, "text"].to_numpy() == plain.loc[lab, "text"].to_numpy()).all()  # labeled rows untouched
    assert plain["face_features"].notna().all()


def test_a_clip_without_face_is_a_no_face_error_for_the_face_featurizer():
    with pytest.raises(NoFaceError, match="no face"):
        Face()({"utt_id": np.array(["u1"]), "face_features": [None], "visual_path": [None]})


# --- DDP -----------------------------------------------------------------------------------------

@pytest.mark.slow
def test_cmdm_trains_with_ddp_on_two_workers(tmp_path):
    from semiemo.jobs.ray_runtime import init_ray, shutdown_ray
    from semiemo.train.distributed import DistributedFold, fit_fold_distributed

    data = _fold(128)
    train = TrainConfig(epochs=4, batch_size=32, num_threads=1)
    init_ray(num_cpus=2)
    try:
        job = DistributedFold("cmdm", dict(SMALL), train, model_spec(data), seed=0)
        result = fit_fold_distributed(data, job, run_name="cmdm-ddp2", storage_path=tmp_path, workers=2)
    finally:
        shutdown_ray()
    assert result.epochs_run == 4
    assert result.test_metrics["ua"] > 0.5
    assert result.history[-1]["train/cls"] < result.history[0]["train/cls"]
    assert "train/u_unpaired" in result.history[-1]


def test_loss_curves_read_tensorboard_events_and_draw_a_png(tmp_path):
    from semiemo.analysis.loss_curves import plot_loss_curves, trend_summary
    from semiemo.train.tb_logging import TensorBoardLogger

    for seed in (0, 1):
        with TensorBoardLogger(tmp_path / "tb" / f"seed{seed}" / "fold0") as logger:
            for epoch in range(1, 5):
                logger.log_epoch(epoch, {"epoch": epoch, "train/cls": 2.0 / epoch, "train/pair": 0.1 * epoch,
                                         "train/unpaired": -0.1 * epoch - seed})
    out = plot_loss_curves(tmp_path, tmp_path / "fig7b.png", ("cls", "rec", "pair", "unpaired"))
    assert out.stat().st_size > 5000
    trends = trend_summary(tmp_path, ("cls", "pair", "unpaired"))
    assert trends["cls"] == pytest.approx((2.0, 0.5)) and trends["unpaired"] == pytest.approx((-0.6, -0.9))
    with pytest.raises(FileNotFoundError, match="no TensorBoard events"):
        plot_loss_curves(tmp_path / "empty", tmp_path / "x.png")
