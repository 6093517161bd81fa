"""Paper 004 (AV-SpNET): CNN front-end, majority vote, frozen fine-tuning, pre-train -> store -> fine-tune by key."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from semiemo.features.featureset import FeatureSet
from semiemo.methods.base import Batch, ModelSpec, StepInfo, hparams_from_dict
from semiemo.methods.avspnet import AVSpNet, AVSpNetHParams
from semiemo.models.cnn_frontend import FrontEndConfig, PretrainNetwork, RecognitionNetwork, majority_vote, valid_segments
from semiemo.train.config import TrainConfig
from semiemo.train.loop import FoldData, fit_fold
from semiemo.recipes.avspnet_pretrain import PretrainConfig, build_pretrain_data, pretrain_frontend
from semiemo.recipes.pretrained import resolve_requests, stored_requests, teacher_accuracy
from semiemo.train.pretrained import PretrainedStore
from semiemo.train.streams import Split

F_BINS, T_FRAMES, S_MAX = 24, 20, 3
SMALL = dict(channels=4, pool_size=2)
torch.set_num_threads(1)  # small nets: thread spin-up costs more than it gains on a shared 2-core machine
SMALL_HEAD = dict(hidden=(32, 16, 8), channels=4)


def test_paper_sized_autoencoder_round_trips_the_200x80_segment_shape():
    cfg = FrontEndConfig()
    assert cfg.stage_sizes() == [(99, 39), (48, 18)] and cfg.flat_dim == 27_648  # spec §1.3
    net = PretrainNetwork(cfg).eval()
    x = torch.randn(2, 200, 80)
    recon, proxy = net(x)
    assert recon.shape == (2, 1, 200, 80) and proxy.shape == (2,)


def test_small_autoencoder_learns_to_reconstruct():
    torch.manual_seed(0)
    net = PretrainNetwork(FrontEndConfig(bins=F_BINS, frames=T_FRAMES, channels=4, shared_dim=64, latent_dim=16, proxy_hidden=(8,)))
    x = torch.randn(8, F_BINS, T_FRAMES)
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    losses = []
    for _ in range(15):
        loss = ((net(x)[0].squeeze(1) - x) ** 2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.9 * losses[0]


def test_majority_vote_counts_segment_argmax_and_breaks_ties_by_mean_probability():
    proba = torch.tensor([
        [0.6, 0.4], [0.6, 0.4], [0.1, 0.9],       # utterance 0: two votes for class 0 although class 1 has more mass
        [0.55, 0.45], [0.05, 0.95],                # utterance 1: one vote each; mean prob favours class 1
        [0.2, 0.8],                                # utterance 2: single segment
    ])
    utt = torch.tensor([0, 0, 0, 1, 1, 2])
    assert majority_vote(proba, utt, 3).argmax(1).tolist() == [0, 1, 1]


def test_valid_segments_keeps_only_the_counted_segments_in_utterance_order():
    x = torch.arange(2 * 3, dtype=torch.float32).view(2, 3, 1, 1).expand(2, 3, 2, 2).contiguous()
    segs, rows = valid_segments(x, torch.tensor([2, 1]))
    assert rows.tolist() == [0, 0, 1] and segs[:, 0, 0].tolist() == [0.0, 1.0, 3.0]


def _segment_fold(n_per_class: int = 24, seed: int = 0) -> FoldData:
    """Two classes whose segments differ in the energy of a band of bins; 1-3 valid segments per utterance."""
    rng = np.random.default_rng(seed)

    def split(n):
        y = np.repeat([0, 1], n)
        x = rng.normal(size=(2 * n, S_MAX, F_BINS, T_FRAMES)).astype(np.float32)
        x[y == 1, :, :12, :] *= 3.0  # louder band: survives a random conv + ReLU + max-pool
        counts = rng.integers(1, S_MAX + 1, size=2 * n)
        for i, c in enumerate(counts):
            x[i, c:] = 0.0
        return Split({"avsp": x}, {"avsp": counts}, np.eye(2, dtype=np.float32)[y])

    return FoldData(train=split(n_per_class), val=split(8), test=split(8), class_names=["low", "high"])


def _spec(data: FoldData) -> ModelSpec:
    return ModelSpec(input_shapes=data.input_shapes(), num_classes=2)


def test_frontend_is_frozen_during_fine_tuning_and_the_head_learns():
    data = _segment_fold()
    method = AVSpNet(_spec(data), hparams_from_dict(AVSpNetHParams, SMALL_HEAD))
    method.train()
    assert not method.model.encoder.training  # BN keeps its running statistics
    b = data.train
    batch = Batch({"avsp": torch.tensor(b.inputs["avsp"][:8])}, torch.arange(8), torch.tensor(b.targets[:8]),
                  lengths={"avsp": torch.tensor(b.lengths["avsp"][:8])})
    losses = method.train_step(batch, None, StepInfo(0, 0, 1, 1))
    losses["loss"].backward()
    assert all(p.grad is None for p in method.model.encoder.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in method.model.head.parameters())
    assert all(p.requires_grad is False for p in method.model.encoder.parameters())
    opt_params = {id(p) for p in method.parameters_for_optimizer()}
    assert not opt_params & {id(p) for p in method.model.encoder.parameters()}
    # a whole fit: the encoder (weights and BN statistics) ends bit-identical, the head does not
    torch.manual_seed(0)  # fit_fold seeds, then builds the method: the same initial weights
    initial = AVSpNet(_spec(data), hparams_from_dict(AVSpNetHParams, SMALL_HEAD)).model.state_dict()
    last = {}
    fit_fold(data, "avspnet", SMALL_HEAD, TrainConfig(epochs=2, batch_size=8, num_threads=1), seed=0,
             report=lambda _m, st: last.update(st["method"]))
    for name, _ in method.model.encoder.named_parameters():  # R's BN statistics are calibrated, weights never move
        assert torch.equal(last[f"model.encoder.{name}"], initial[f"encoder.{name}"]), name
    assert not torch.equal(last["model.head.0.weight"], initial["head.0.weight"])


def test_fine_tuning_on_a_random_frontend_beats_chance_with_adam():
    result = fit_fold(_segment_fold(), "avspnet", SMALL_HEAD, TrainConfig(epochs=6, batch_size=8, lr=1e-2, num_threads=1), seed=0)
    assert result.test_metrics["ua"] > 0.7


def _wild_featureset(n_speakers: int = 4, per_speaker: int = 10, seed: int = 0) -> FeatureSet:
    """Wild rows: speakers with their own pitch/intensity offsets, arousal raising both, texts with polarity words."""
    rng = np.random.default_rng(seed)
    rows, segs, pros = [], [], []
    for s in range(n_speakers):
        base_pitch, base_db = 100 + 40 * s, -40 + 5 * s
        for i in range(per_speaker):
            high = i % 2
            x = rng.normal(size=(S_MAX, F_BINS, T_FRAMES)).astype(np.float32)
            x[:, -6:, :] += 2.0 * high
            segs.append(x)
            pros.append([base_pitch + 30 * high + rng.normal(), base_db + 6 * high + rng.normal()])
            rows.append({"utt_id": f"s{s}_{i}", "speaker": f"spk{s}", "arousal": 0.5 if high else -0.5,
                         "text": ("what a wonderful day" if i % 3 else "this is awful") if i != 5 else None})
    m = pd.DataFrame(rows)
    return FeatureSet(m, {"avsp": np.stack(segs), "prosody": np.asarray(pros, np.float32)},
                      lengths={"avsp": np.full(len(m), S_MAX)})


def test_pretraining_data_carries_per_speaker_proxies_and_counts_unknown_valence():
    fs = _wild_featureset()
    data, summary = build_pretrain_data(fs, PretrainConfig(recipe="AV-SpNET_a", **SMALL))
    assert summary["arousal_proxy_accuracy"] == 1.0  # each speaker's louder/higher half is "high"
    assert summary["valence_counts"]["unknown"] == 4  # one missing transcript per speaker
    assert summary["segments"] == len(fs) * S_MAX and data.train.targets.shape == (len(fs) * S_MAX, 2)
    x = data.train.inputs["avsp_segment"]
    assert np.allclose(x.mean(axis=(0, 2)), 0, atol=1e-4)  # z-scored per frequency bin


def test_pretrain_writes_a_keyed_frontend_that_fine_tuning_loads_by_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMIEMO_FEATURE_STORE", str(tmp_path / "store"))
    cfg = PretrainConfig(recipe="AV-SpNET_a", epochs=3, use_ray=False, **SMALL)
    key, summary = pretrain_frontend(cfg, _wild_featureset(), "test-manifest", log=lambda *_: None)
    assert summary["last_loss"] < summary["first_loss"]
    stored = PretrainedStore().load(key)
    assert key in PretrainedStore().keys() and stored["spec"]["recipe"] == "AV-SpNET_a"
    # the teacher premise of every run fine-tuned on it: the proxy's agreement with the hidden truth
    request = AVSpNet.plan(hparams_from_dict(AVSpNetHParams, {**SMALL_HEAD, "frontend": key})).pretrained
    assert teacher_accuracy(stored_requests(request)) == pytest.approx((summary["arousal_proxy_accuracy"], 0.5))
    assert all(v != v for v in teacher_accuracy({}))   # no pretrained part: NaN
    # same recipe again: found by key, not trained again
    assert pretrain_frontend(cfg, _wild_featureset(), "test-manifest", log=lambda *_: None)[0] == key

    data = _segment_fold()
    params = {**SMALL_HEAD, "frontend": key}
    loaded = resolve_requests(AVSpNet.plan(hparams_from_dict(AVSpNetHParams, params)).pretrained, seed=0)
    final = {}
    fit_fold(data, "avspnet", params, TrainConfig(epochs=2, batch_size=8, num_threads=1), seed=0,
             pretrained=loaded, report=lambda _m, st: final.update(st["method"]))
    for k, v in stored["weights"].items():  # a pre-trained front-end stays exactly as stored, BN statistics too
        assert torch.equal(final[f"model.encoder.{k}"], v), k
    method = AVSpNet(_spec(data), hparams_from_dict(AVSpNetHParams, params))
    method.load_pretrained("frontend", loaded["frontend"])
    for k, v in stored["weights"].items():
        assert torch.equal(method.model.encoder.state_dict()[k], v)
    torch.manual_seed(0)
    random_enc = AVSpNet(_spec(data), hparams_from_dict(AVSpNetHParams, SMALL_HEAD)).model.encoder.state_dict()
    assert not torch.equal(random_enc["net.0.weight"], stored["weights"]["net.0.weight"])


def test_unknown_frontend_key_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMIEMO_FEATURE_STORE", str(tmp_path / "store"))
    params = {**SMALL_HEAD, "frontend": "nope"}
    with pytest.raises(ValueError, match="semiemo pretrain"):
        resolve_requests(AVSpNet.plan(hparams_from_dict(AVSpNetHParams, params)).pretrained)


def test_fit_fold_without_the_requested_weights_names_the_resolver():
    with pytest.raises(ValueError, match="resolve_requests"):
        fit_fold(_segment_fold(), "avspnet", {**SMALL_HEAD, "frontend": "nope"}, TrainConfig(epochs=1, num_threads=1))


@pytest.mark.slow
def test_pretraining_runs_as_a_ray_train_job(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMIEMO_FEATURE_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("SEMIEMO_HOME", str(tmp_path / "home"))
    cfg = PretrainConfig(recipe="W_AE_v", epochs=2, use_ray=True, cpus_per_worker=0.5, **SMALL)
    key, summary = pretrain_frontend(cfg, _wild_featureset(), "test-manifest", log=lambda *_: None)
    assert PretrainedStore().exists(key) and summary["epochs"] == 2


def test_w_ae_recipe_spends_epochs_in_both_phases():
    assert PretrainConfig(recipe="W_AE_a", epochs=2).method_params()["ae_epochs"] == 1
    assert PretrainConfig(recipe="W_AE_v", epochs=10).method_params()["ae_epochs"] == 5
    with pytest.raises(ValueError, match="epochs >= 2"):
        PretrainConfig(recipe="W_AE_a", epochs=1)
