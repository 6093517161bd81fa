"""Audio-domain augmented views as a featurization product (issue 26, item 1)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from semiemo.features.augment_policies import (AugmentPolicy, SyntheticRoomReverb, TelephoneChannel, build_policy,
                                               render_view)

SR = 16000


def _speechlike(seconds: float = 1.5, f0: float = 140.0, seed: int = 0) -> np.ndarray:
    """A voiced, amplitude-modulated harmonic tone with a little noise: enough structure to see changes."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    pitch = f0 * (1 + 0.08 * np.sin(2 * np.pi * 1.5 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 12)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2)
    return (0.25 * x / np.max(np.abs(x)) + 0.002 * rng.normal(size=t.size)).astype(np.float32)


def _ltas(x: np.ndarray) -> np.ndarray:
    """Long-term average log spectrum (length-independent), 0-8 kHz in 64 bins."""
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(x, (0, 512)), 512)[::256]
    spec = np.abs(np.fft.rfft(frames * np.hanning(512), axis=1)) ** 2
    return np.log(spec.mean(axis=0)[:256].reshape(64, 4).mean(axis=1) + 1e-10)


@pytest.mark.parametrize("name", ["weak", "strong"])
def test_a_view_is_reproducible_from_seed_utterance_and_index(name):
    pipeline, x = build_policy(name), _speechlike()
    a = render_view(pipeline, x, SR, 0, "u1", 2)
    assert np.array_equal(a, render_view(build_policy(name), x, SR, 0, "u1", 2))
    others = [render_view(pipeline, x, SR, s, u, v) for s, u, v in ((0, "u1", 3), (1, "u1", 2), (0, "u2", 2))]
    assert all(not (len(o) == len(a) and np.allclose(o, a)) for o in others)
    assert np.isfinite(a).all() and np.max(np.abs(a)) <= 1.0


def test_strong_views_move_the_spectrum_further_than_weak_views():
    x = _speechlike()
    ref = _ltas(x)
    dist = {name: np.mean([np.abs(_ltas(render_view(build_policy(name), x, SR, 0, "u", v)) - ref).mean()
                           for v in range(8)]) for name in ("weak", "strong")}
    assert dist["strong"] > 2 * dist["weak"], dist


def test_the_telephone_channel_removes_the_band_above_4_khz():
    x = np.random.default_rng(0).normal(scale=0.1, size=SR).astype(np.float32)
    y = TelephoneChannel(p=1.0)(samples=x, sample_rate=SR)
    spec = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / SR)
    assert spec[freqs > 4200].sum() < 0.01 * spec[freqs < 3800].sum()


def test_synthetic_reverb_leaves_a_decaying_tail_after_the_signal_stops():
    x = np.zeros(SR, np.float32)
    x[:1600] = _speechlike(0.1)
    y = SyntheticRoomReverb(min_rt60=0.6, max_rt60=0.6, p=1.0)(samples=x, sample_rate=SR)
    assert np.abs(y[2000:3000]).mean() > 10 * np.abs(y[8000:9000]).mean() > 0


def test_an_unknown_policy_is_an_error_naming_the_known_ones():
    with pytest.raises(ValueError, match="weak"):
        AugmentPolicy(name="medium")


# --- through the pipeline ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def views_run(tmp_path_factory, ray_local):
    from semiemo.features.audio_views import load_views

    tmp = tmp_path_factory.mktemp("views")
    rows = []
    for i in range(6):
        path = tmp / f"u{i}.wav"
        sf.write(path, _speechlike(1.0 + 0.1 * i, f0=120 + 10 * i, seed=i), SR)
        rows.append({"utt_id": f"u{i}", "corpus": "mini", "split_group": f"s{i % 2}", "speaker": f"s{i % 2}",
                     "domain": "acted", "labeled": True, "label": "neutral", "path": str(path)})
    rows.append({**rows[0], "utt_id": "missing", "path": str(tmp / "nope.wav")})
    manifest = pd.DataFrame(rows)
    store = str(tmp / "store")
    views = load_views(manifest, "egemaps", "strong", views=3, store_root=store, block_size=4, progress=False)
    return manifest, store, views


def test_views_are_stored_view_indexed_one_row_per_utterance(views_run):
    _, _, views = views_run
    assert views.fields["egemaps"].shape == (6, 3, 88)
    assert views.present.tolist() == [True] * 6 + [False]
    per_view = views.fields["egemaps"]
    assert not np.allclose(per_view[:, 0], per_view[:, 1])  # K different renderings


def test_a_row_that_cannot_be_rendered_lands_in_the_errors_table(views_run):
    from semiemo.features.store import FeatureStore

    _, store, _ = views_run
    entry = FeatureStore(store).find("egemaps_strong_views")
    errors = entry.read_errors()
    assert errors["utt_id"].tolist() == ["missing"] and errors["reason"].tolist() == ["missing_file"]


def test_stored_views_are_reused_and_another_policy_gets_its_own_entry(views_run):
    from semiemo.features.audio_views import make_views
    from semiemo.features.pipeline import featurize
    from semiemo.features.store import FeatureStore

    manifest, store, views = views_run
    again = featurize(manifest, make_views(["egemaps"], 3, "strong"), store_root=store, block_size=4, progress=False)
    assert again.featurizers["egemaps_strong_views"].blocks_computed == 0
    reseeded = featurize(manifest, make_views(["egemaps"], 3, "strong", seed=1), store_root=store, block_size=4,
                         progress=False)
    assert reseeded.featurizers["egemaps_strong_views"].key != again.featurizers["egemaps_strong_views"].key
    assert len([e for e in FeatureStore(store).entries() if e.key.featurizer == "egemaps_strong_views"]) == 2


def test_weak_views_stay_closer_to_the_plain_features_than_strong_views(views_run):
    from semiemo.features import load_featureset
    from semiemo.features.audio_views import load_views

    manifest, store, strong = views_run
    weak = load_views(manifest, "egemaps", "weak", views=3, store_root=store, block_size=4, progress=False)
    plain = load_featureset(manifest, ["egemaps"], store_root=store, progress=False).groups["egemaps"]
    scale = plain.std(axis=0) + 1e-6
    distance = {name: float(np.mean(np.abs(v.fields["egemaps"] - plain[:, None]) / scale))
                for name, v in (("weak", weak), ("strong", strong))}
    assert distance["weak"] < distance["strong"], distance


def test_cli_featurize_renders_views_beside_the_plain_features(tmp_path):
    rows = []
    for i in range(4):
        path = tmp_path / f"u{i}.wav"
        sf.write(path, _speechlike(0.8, f0=130 + 15 * i, seed=i), SR)
        rows.append({"utt_id": f"u{i}", "corpus": "mini", "split_group": "s", "speaker": "s", "domain": "acted",
                     "labeled": True, "label": "neutral", "path": str(path)})
    manifest = tmp_path / "m.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    env = {**os.environ, "SEMIEMO_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "semiemo.cli", "featurize", "--corpus", str(manifest), "--features",
                           "egemaps", "--views", "2", "--augment", "weak", "--no-progress"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "egemaps " in proc.stdout and "egemaps_weak_views" in proc.stdout
    assert proc.stdout.count("ok=4") == 2


# --- drawing stored views in training ------------------------------------------------------------

def _row_views():
    from semiemo.train.view_bank import RowViews

    fields = {"is10": np.array([[[10 * i + k] * 2 for k in range(4)] for i in range(3)], np.float32)}  # 3 rows, K=4
    return RowViews("strong", np.array([True, False, True]), fields, views=4)


def test_a_view_bank_holds_its_splits_rows_scaled_like_them_and_marks_rows_without_views():
    bank = _row_views().bank(np.array([2, 1]), lambda group, x: x - 5.0)   # the split's own scaler
    assert bank.has_views.tolist() == [True, False] and bank.n_views == 4
    assert set(bank.views["is10"][0, :, 0]) == {15, 16, 17, 18}            # row 2's four views, scaled


def test_each_step_draws_two_different_stored_views_per_row_uniformly_and_reproducibly():
    import torch

    from semiemo.train.view_bank import TensorViewBank

    bank = TensorViewBank(_row_views().bank(np.array([0, 2]), lambda group, x: x))
    rows = torch.tensor([0, 1])
    rng = np.random.default_rng(0)
    draws = [bank.draw(rows, rng) for _ in range(400)]
    first = np.array([d.draws[0]["is10"][:, 0].numpy() for d in draws])
    second = np.array([d.draws[1]["is10"][:, 0].numpy() for d in draws])
    assert set(first[:, 0]) == {0, 1, 2, 3} and set(first[:, 1]) == {20, 21, 22, 23}
    assert (first != second).all()                                          # K = 4: the two draws differ
    assert np.all(np.abs(np.bincount((first[:, 1] - 20).astype(int)) - 100) < 35)
    again = [bank.draw(rows, np.random.default_rng(0)).draws[0]["is10"] for _ in range(2)]
    assert torch.equal(again[0], again[1])
