"""Paper 002's SSGAN/MSSGAN: DCGAN shapes, the K+1 and consistency maths, the two-optimizer update,
bit-exact resume of several optimizers, and the baselines on the same backbone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semiemo.methods.base import Batch, ModelSpec, StepInfo, hparams_from_dict
from semiemo.methods.gan_math import consistency_term, k_plus_one_probs, prob_fake
from semiemo.methods.registry import get_method
from semiemo.models.crops import crop_groups, window_positions
from semiemo.models.dcgan import Critic, DiscriminatorTrunk, Generator, Generators
from semiemo.train.config import TrainConfig
from semiemo.train.loop import FoldData, fit_fold
from semiemo.train.streams import Split

SMALL = {"crop_frames": 16, "width_scale": 1 / 32}   # D 4-32 channels, G 16-2: CPU-sized
MODALITIES = {"fbank": 128, "stft": 128, "face": 342}


# --- networks -------------------------------------------------------------------------------------
@pytest.mark.parametrize("group,features", MODALITIES.items())
def test_generator_makes_crops_of_the_modality_and_discriminator_flattens_them(group, features):
    g, d = Generator(32, features, noise_dim=100, width_scale=1 / 16), DiscriminatorTrunk(32, features, width_scale=1 / 16)
    fake = g(torch.rand(3, 100) * 2 - 1)
    assert fake.shape == (3, 32, features)                       # F' = 352 for face is cropped back to 342
    h = d(fake)
    assert h.shape == (3, d.out_dim) and d.out_dim == 64 * (32 // 16) * (16 * -(-features // 16) // 16)


@pytest.mark.slow
@pytest.mark.parametrize("features,penultimate", [(128, 65_536), (342, 180_224)])
def test_paper_sized_discriminator_penultimate_layer(features, penultimate):
    d = DiscriminatorTrunk(128, features)
    assert d(Generator(128, features).eval()(torch.zeros(1, 100)).detach()).shape == (1, penultimate)


def test_critic_concatenates_the_trunks_of_every_modality_before_the_fusion_head():
    c = Critic({"fbank": 128, "face": 342}, 16, num_classes=3, width_scale=1 / 32)
    logits, h = c({"fbank": torch.randn(2, 16, 128), "face": torch.randn(2, 16, 342)})
    assert logits.shape == (2, 3) and h.shape == (2, c.trunks["fbank"].out_dim + c.trunks["face"].out_dim)
    fakes = Generators({"fbank": 128, "face": 342}, 16, width_scale=1 / 32)(torch.zeros(2, 100))
    assert {k: v.shape for k, v in fakes.items()} == {"fbank": (2, 16, 128), "face": (2, 16, 342)}


def test_discriminator_rejects_a_crop_of_the_wrong_size():
    with pytest.raises(ValueError, match=r"expects \[B, 16, 20\]"):
        DiscriminatorTrunk(16, 20)(torch.zeros(1, 12, 20))


def test_crops_repeat_short_utterances_and_align_groups_in_time():
    x = torch.arange(10, dtype=torch.float32).view(1, 10, 1)
    out = crop_groups({"a": x}, {"a": torch.tensor([3])}, 8, torch.zeros(1))["a"].flatten().tolist()
    assert out == [0, 1, 2, 0, 1, 2, 0, 1]
    end = crop_groups({"a": x}, {"a": torch.tensor([10])}, 4, torch.ones(1))["a"].flatten().tolist()
    assert end == [6, 7, 8, 9]
    assert window_positions({"a": torch.zeros(1, 32, 1)}, 16) == [0.0, 0.5, 1.0]


# --- maths ----------------------------------------------------------------------------------------
def test_k_plus_one_probabilities_sum_to_one_and_the_fake_column_is_sigmoid_of_minus_lse():
    logits = torch.randn(7, 3) * 4
    p = k_plus_one_probs(logits)
    assert torch.allclose(p.sum(1), torch.ones(7)) and torch.allclose(p[:, -1], prob_fake(logits))


def test_consistency_term_is_zero_without_dropout_and_positive_with_it():
    x = {"fbank": torch.randn(8, 16, 128)}
    torch.manual_seed(0)
    for dropout, positive in ((0.0, False), (0.2, True)):
        critic = Critic({"fbank": 128}, 16, 3, width_scale=1 / 16, dropout=dropout).train()
        (l1, h1), (l2, h2) = critic(x), critic(x)
        ct = float(consistency_term(l1, l2, h1, h2).detach())
        assert (ct > 0) == positive, (dropout, ct)
    assert float(consistency_term(l1, l2, h1, h2, margin=1e6).detach()) == 0.0  # M′ above every distance


# --- the method -----------------------------------------------------------------------------------
def _sequences(n: int, groups: dict[str, int], rng: np.random.Generator, y: np.ndarray | None, frames: int = 40):
    """Class-dependent means in every group; variable lengths, padded at the end."""
    inputs, lengths = {}, {}
    for g, f in groups.items():
        centers = np.random.default_rng(len(g) * 7).normal(0, 1.5, size=(3, f))
        x = rng.normal(size=(n, frames, f)).astype(np.float32)
        if y is not None:
            x += centers[y][:, None, :]
        ln = rng.integers(8, frames + 1, size=n)
        x[np.arange(frames)[None, :] >= ln[:, None]] = 0.0
        inputs[g], lengths[g] = x, ln.astype(np.int64)
    return inputs, lengths


def _seq_fold(groups: dict[str, int], n_unlabeled: int = 48, seed: int = 0) -> FoldData:
    rng = np.random.default_rng(seed)
    def split(n):
        y = rng.integers(0, 3, size=n)
        x, ln = _sequences(n, groups, rng, y)
        return Split(x, ln, np.eye(3, dtype=np.float32)[y])
    ux, uln = _sequences(n_unlabeled, groups, rng, rng.integers(0, 3, size=n_unlabeled))
    return FoldData(train=split(48), val=split(24), test=split(24), unlabeled=Split(ux, uln),
                    class_names=["low", "medium", "high"])


def _method(name: str, groups: dict[str, int], **params):
    cls = get_method(name)
    spec = ModelSpec({g: (40, f) for g, f in groups.items()}, num_classes=3)
    return cls(spec, hparams_from_dict(cls.HParams, {**SMALL, **params}), num_unlabeled=16)


def _batches(groups: dict[str, int], seed: int = 0) -> tuple[Batch, Batch]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=6)
    x, ln = _sequences(6, groups, rng, y)
    ux, uln = _sequences(6, groups, rng, None)
    t = lambda d: {k: torch.as_tensor(v) for k, v in d.items()}  # noqa: E731
    return (Batch(t(x), torch.arange(6), torch.eye(3)[y], torch.as_tensor(y), t(ln)),
            Batch(t(ux), torch.arange(6), lengths=t(uln)))


def test_generator_step_changes_only_g_and_feature_matching_gradient_reaches_only_g():
    groups = {"fbank": 20}
    method = _method("ssgan", groups)
    method.attach_optimizers(method.configure_optimizers(TrainConfig(lr=1e-3)))
    seen = {}
    original = method.step_optimizer

    def probe(name, loss):
        if name == "generator":
            method.D.zero_grad(set_to_none=True)
            d_before = [p.detach().clone() for p in method.D.parameters()]
            original(name, loss)
            seen["d_grads"] = [n for n, p in method.D.named_parameters() if p.grad is not None]
            seen["g_grads"] = [float(p.grad.abs().sum()) for p in method.G.parameters() if p.grad is not None]
            seen["d_moved"] = any(not torch.equal(a, b) for a, b in zip(d_before, method.D.parameters()))
        else:
            original(name, loss)

    method.step_optimizer = probe
    losses = method.train_step(*_batches(groups), StepInfo(0, 0, 1, 1))
    assert seen["d_grads"] == [] and not seen["d_moved"]
    assert len(seen["g_grads"]) == len(list(method.G.parameters())) and sum(seen["g_grads"]) > 0
    assert all(p.requires_grad for p in method.D.parameters())   # D unfrozen again for its next step
    for key in ("d_loss", "g_loss", "sup_loss", "real_loss", "fake_loss", "ct", "p_fake_on_real", "p_fake_on_fake"):
        assert torch.isfinite(losses[key]), key
    assert float(losses["ct"]) > 0


def test_discriminator_loss_is_the_sum_of_its_named_terms():
    groups = {"fbank": 20}
    method = _method("ssgan", groups, ct_weight=2.0)
    method.attach_optimizers(method.configure_optimizers(TrainConfig(lr=1e-3)))
    out = method.train_step(*_batches(groups), StepInfo(0, 0, 1, 1))
    expected = out["sup_loss"] + out["real_loss"] + out["fake_loss"] + 2.0 * out["ct"]
    assert torch.allclose(out["d_loss"], expected)
    # the unlabeled part by the generic names the `unlabeled_active` premise reads: L_real + L_fake + λ·CT, weight 1
    assert torch.allclose(out["unsup_loss"], out["real_loss"] + out["fake_loss"] + 2.0 * out["ct"])
    assert float(out["unsup_weight"]) == 1.0
    assert torch.allclose(out["d_loss"], out["sup_loss"] + out["unsup_weight"] * out["unsup_loss"])


def test_unimodal_and_multimodal_methods_check_their_feature_groups():
    with pytest.raises(ValueError, match="unimodal"):
        _method("ssgan", {"fbank": 20, "face": 30})
    with pytest.raises(ValueError, match="several modalities"):
        _method("mssgan", {"fbank": 20})
    with pytest.raises(ValueError, match=r"frame sequences \[T, F\]"):
        get_method("fsbase")(ModelSpec({"egemaps": (88,)}, 3), hparams_from_dict(get_method("fsbase").HParams, {}))


def test_ssgan_without_unlabeled_data_says_what_to_do():
    method = _method("ssgan", {"fbank": 20})
    with pytest.raises(ValueError, match="unlabeled"):
        method.train_step(_batches({"fbank": 20})[0], None, StepInfo(0, 0, 1, 1))


def test_two_optimizer_checkpoint_resumes_bit_exactly():
    groups = {"fbank": 20, "face": 30}
    data = _seq_fold(groups)
    cfg = TrainConfig(num_threads=1, epochs=3, batch_size=16, lr=2e-4)
    states = {}

    def keep(metrics, state):
        states[state["epoch"]] = {k: v for k, v in state.items()}
        states[state["epoch"]]["method"] = {k: v.clone() for k, v in state["method"].items()}

    import copy
    full = fit_fold(data, "mssgan", SMALL, cfg, seed=5, report=lambda m, s: keep(m, copy.deepcopy(s)))
    assert set(states[1]["optimizers"]) == {"discriminator", "generator"} and "optimizer" not in states[1]
    assert states[1]["optimizers"]["generator"]["state"]          # Adam moments of G are kept
    resumed = fit_fold(data, "mssgan", SMALL, cfg, seed=5, resume_state=states[1],
                       report=lambda m, s: states.__setitem__(("resumed", s["epoch"]), copy.deepcopy(s)))
    assert resumed.history == full.history
    final, again = states[3]["method"], states[("resumed", 3)]["method"]
    assert final.keys() == again.keys() and all(torch.equal(final[k], again[k]) for k in final)


def test_one_optimizer_methods_give_the_same_losses_as_before_the_multi_optimizer_trainer():
    # Recorded from main at 5eecd26 (before `manual_optimization`): same seed, same numbers, bit for bit.
    from gaussian_featureset import gaussian_fold_data as _fold_data

    for method, unlabeled, losses, ua in (("supervised", 0, [0.9995258450508118, 0.29460519552230835], 1.0),
                                          ("fixmatch", 60, [1.1142590045928955, 0.5502990484237671], 0.96875)):
        r = fit_fold(_fold_data(unlabeled=unlabeled, seed=1), method, {}, TrainConfig(num_threads=1, epochs=2, batch_size=16), seed=3)
        assert [h["train/loss"] for h in r.history] == losses and r.test_metrics["ua"] == ua


@pytest.mark.parametrize("method", ["ssgan", "fsbase", "ssbase"])
def test_methods_on_the_dcgan_backbone_learn_separable_sequences(method):
    data = _seq_fold({"fbank": 20}, seed=1)
    params = {**SMALL, **({"warmup_epochs": 3} if method == "ssbase" else {})}
    r = fit_fold(data, method, params, TrainConfig(num_threads=1, epochs=5, batch_size=16, lr=2e-3), seed=0)
    assert r.test_metrics["ua"] > 0.5, r.test_metrics["ua"]   # chance 1/3


def test_both_macro_f1_variants_are_reported_and_differ_as_defined():
    from sklearn.metrics import f1_score, precision_score, recall_score

    from semiemo.train.metrics import classification_metrics

    t, p = [0, 0, 0, 1, 1, 2, 2, 2, 2], [0, 1, 1, 1, 2, 2, 2, 0, 2]
    m = classification_metrics(t, p, 3)
    uar, map_ = recall_score(t, p, average="macro"), precision_score(t, p, average="macro")
    assert m["map"] == pytest.approx(map_)
    assert m["f1_uar_map"] == pytest.approx(2 * uar * map_ / (uar + map_))
    assert m["f1_macro"] == pytest.approx(f1_score(t, p, average="macro"))
    assert m["f1_uar_map"] != pytest.approx(m["f1_macro"])


def test_side_view_option_adds_noisier_faces_and_leaves_the_default_corpus_alone():
    from semiemo.corpora.synthetic import SynthConfig, synthesize_manifest

    small = dict(n_acted=30, n_wild_labeled=10, n_unlabeled=10)
    plain, viewed = synthesize_manifest(SynthConfig(**small)), synthesize_manifest(SynthConfig(**small, side_view_share=0.5))
    assert "face_view" not in plain and "side_view_share" not in SynthConfig(**small).to_json()
    side = (viewed["face_view"] == "side").to_numpy()
    assert 0 < side.sum() < len(side)
    faces = lambda m: np.stack([np.stack(f) for f in m["face_features"]]).astype(np.float32)  # noqa: E731
    a, b = faces(plain), faces(viewed)
    assert np.array_equal(a[~side], b[~side])                        # frontal faces untouched
    assert (b[side] - a[side]).std() == pytest.approx(1.0, abs=0.05)  # side_view_noise_sd = 1 added


def test_label_map_renames_votes_too_so_fuzzy_targets_follow_the_new_classes():
    import pandas as pd

    from semiemo.features.featureset import FeatureSet
    from semiemo.train.config import ExperimentConfig
    from semiemo.train.experiment import prepare_data

    m = pd.DataFrame({"utt_id": ["a", "b"], "labeled": [True, True], "label": ["anger", "sadness"],
                      "votes": [["anger", "happiness", "sadness"], ["sadness", "boredom", "sadness"]]})
    cfg = ExperimentConfig(features=["x"], fuzzy_labels=True,
                           label_map={"anger": "high", "happiness": "high", "sadness": "low", "boredom": "low"})
    prep = prepare_data(cfg, FeatureSet(m, {"x": np.zeros((2, 3), np.float32)}))
    high, low = prep.classes.index("high"), prep.classes.index("low")
    assert prep.targets[0, high] == pytest.approx(2 / 3) and prep.targets[0, low] == pytest.approx(1 / 3)
    assert prep.targets[1, low] == pytest.approx(1.0)


def test_analysis_report_lists_the_extra_metrics_beside_the_plotted_one(tmp_path):
    import pandas as pd

    from semiemo.analysis.reproduce import markdown_report
    from semiemo.tune.space import SearchSpace

    spec = SearchSpace.model_validate({
        "name": "t", "experiment": {"method": "ssgan"}, "parameters": {"normalization": {"grid": ["none", "self"]}},
        "plot": {"also": ["test_f1_macro", "test_f1_uar_map"]}})
    table = pd.DataFrame({"normalization": ["none", "self"], "seed": [0, 0], "test_ua": [0.5, 0.4],
                          "test_f1_macro": [0.31, 0.21], "test_f1_uar_map": [0.52, 0.42]})
    text, _ = markdown_report(spec, table, tmp_path / "f.png", corpus="synthetic")
    assert "| normalization | test_ua (spread) | seeds | folds | test_f1_macro | test_f1_uar_map |" in text
    assert "| none | 0.5000 | 1 | — | 0.3100 | 0.5200 |" in text
