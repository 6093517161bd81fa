"""The embedded synthetic corpus: determinism, class shares, acoustic/text/visual sanity, CLI."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from semiemo.corpora.schema import FER_CLASSES, REQUIRED_COLUMNS, TOPICS
from semiemo.corpora.synthetic import (
    DomainConfig,
    SynthConfig,
    render_audio,
    render_visual,
    synthesize_manifest,
    synthesize_utterance,
    write_corpus,
)
from semiemo.corpora.synthetic.text import lexicon
from semiemo.corpora.synthetic.visual import EMOTION_TO_FER

SMALL = SynthConfig(n_acted=40, n_wild_labeled=30, n_unlabeled=30)


@pytest.fixture(scope="module")
def large_manifest() -> tuple[SynthConfig, pd.DataFrame]:
    cfg = SynthConfig(n_acted=1500, n_wild_labeled=1500, n_unlabeled=1500, seed=3)
    return cfg, synthesize_manifest(cfg)


# ---- determinism ---------------------------------------------------------------------------------

def test_same_index_renders_identical_samples_whatever_was_rendered_before():
    first = render_audio(SMALL, 45)
    for i in (0, 3, 80, 12):  # other voices, volumes and rates in between
        render_audio(SMALL, i)
    assert np.array_equal(first, render_audio(SMALL, 45))


def test_a_fresh_process_renders_the_same_samples():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        elsewhere = pool.submit(render_audio, SMALL.to_json(), 55).result()
    assert np.array_equal(elsewhere, render_audio(SMALL, 55))


def test_render_audio_accepts_the_config_json():
    assert np.array_equal(render_audio(SMALL.to_json(), 7), render_audio(SMALL, 7))


def test_manifest_rows_do_not_depend_on_chunking():
    whole = synthesize_manifest(SMALL)
    chunked = synthesize_manifest(SMALL, chunk_size=7)
    pd.testing.assert_frame_equal(whole.drop(columns=["face_features", "fer_probs"]),
                                  chunked.drop(columns=["face_features", "fer_probs"]))
    assert all(np.array_equal(np.stack(a), np.stack(b)) for a, b in zip(whole.face_features, chunked.face_features))


def test_a_single_utterance_regenerates_its_manifest_row():
    manifest = synthesize_manifest(SMALL)
    for i in (0, 39, 40, 69, 70, 99):
        row = synthesize_utterance(SMALL, i).row
        expected = manifest.iloc[i]
        for col in ("utt_id", "speaker", "domain", "labeled", "oracle_label", "text", "topic", "accent", "arousal"):
            assert row[col] == expected[col], (i, col)
        face, fer = render_visual(SMALL, i)
        assert np.array_equal(face, np.stack(expected["face_features"]))
        assert np.array_equal(fer, np.stack(expected["fer_probs"]))


def test_seed_changes_the_corpus():
    a = synthesize_manifest(SMALL)
    b = synthesize_manifest(SMALL.model_copy(update={"seed": 1}))
    assert (a["text"] != b["text"]).mean() > 0.5


# ---- layout, labels, shares ----------------------------------------------------------------------

def test_index_layout_is_acted_then_wild_labeled_then_unlabeled():
    m = synthesize_manifest(SMALL)
    assert list(m["synth_index"]) == list(range(100))
    assert (m["domain"][:40] == "acted").all() and m["labeled"][:40].all()
    assert (m["domain"][40:] == "wild").all()
    assert m["labeled"][40:70].all() and not m["labeled"][70:].any()
    assert set(REQUIRED_COLUMNS) <= set(m.columns)
    assert m["utt_id"].is_unique and (m["split_group"] == m["speaker"]).all()


def test_unlabeled_rows_have_no_label_but_keep_their_oracle_label():
    m = synthesize_manifest(SMALL)
    unlabeled = m[~m["labeled"]]
    assert unlabeled["label"].isna().all() and unlabeled["votes"].isna().all()
    assert unlabeled["oracle_label"].isin(SMALL.emotions).all()
    labeled = m[m["labeled"]]
    assert (labeled["label"] == labeled["oracle_label"]).all()


@pytest.mark.parametrize("block,domain", [(slice(0, 1500), "acted"), (slice(1500, 3000), "wild"),
                                          (slice(3000, 4500), "wild")])
def test_class_shares_match_the_configured_shares(large_manifest, block, domain):
    cfg, m = large_manifest
    shares = m["oracle_label"].iloc[block].value_counts(normalize=True)
    for emotion, p in zip(cfg.emotions, cfg.class_probabilities(domain)):
        assert abs(shares.get(emotion, 0.0) - p) < 0.01, (domain, emotion)


def test_default_shares_are_paper_000s():
    wild = dict(zip(SMALL.emotions, SMALL.class_probabilities("wild") * 100))
    assert wild["neutral"] == pytest.approx(49.3, abs=0.05) and wild["sadness"] == pytest.approx(4.6, abs=0.05)
    acted = dict(zip(SMALL.emotions, SMALL.class_probabilities("acted") * 100))
    assert acted["happiness"] == pytest.approx(23.8, abs=0.05) and acted["boredom"] == 0.0


def test_a_custom_label_set_and_shares_are_honoured():
    four = ("neutral", "happiness", "sadness", "anger")
    acted = DomainConfig(class_shares={"neutral": 25, "happiness": 25, "sadness": 25, "anger": 25}, n_speakers=10,
                         expression_strength=1.0, text_cue_prob=0.8, text_misleading_prob=0.05, vote_agreement=0.9)
    cfg = SynthConfig(emotions=four, acted=acted, n_acted=400, n_wild_labeled=0, n_unlabeled=0,
                      visual_in_manifest=False)
    shares = synthesize_manifest(cfg)["label"].value_counts(normalize=True)
    assert set(shares.index) == set(four) and (shares - 0.25).abs().max() < 0.01


def test_config_errors_name_the_allowed_values():
    with pytest.raises(ValueError, match="allowed"):
        SynthConfig(emotions=("neutral", "joy"))
    with pytest.raises(ValueError, match="n_acted|extra"):
        SynthConfig(n_actd=3)


def test_config_json_round_trips():
    cfg = SynthConfig(seed=5, n_unlabeled=7, av_inconsistency_rate=0.3)
    assert SynthConfig.from_json(cfg.to_json()) == cfg


# ---- audio ---------------------------------------------------------------------------------------

def test_audio_is_16khz_mono_float32_speech():
    utt = synthesize_utterance(SMALL, 3)
    assert utt.sample_rate == 16_000 and utt.audio.dtype == np.float32 and utt.audio.ndim == 1
    assert 1.0 < utt.audio.size / 16_000 < 8.0
    assert np.isfinite(utt.audio).all() and np.abs(utt.audio).max() <= 1.0


def test_wild_audio_carries_noise_and_acted_audio_is_clean():
    m = synthesize_manifest(SMALL)
    assert m["snr_db"][:40].isna().all()
    assert m["snr_db"][40:].between(*SMALL.wild.snr_db).all()
    acted_head = render_audio(SMALL, 0)[:400]     # espeak starts with a little silence
    wild_head = render_audio(SMALL, 50)[:400]
    assert np.sqrt(np.mean(acted_head ** 2)) < 1e-4 < np.sqrt(np.mean(wild_head ** 2))


def test_anger_is_higher_pitched_and_louder_than_sadness_for_the_same_speaker():
    librosa = pytest.importorskip("librosa")
    acted = DomainConfig(n_speakers=2, female_share=0.5, expression_strength=1.0, text_cue_prob=0.8,
                         text_misleading_prob=0.05, vote_agreement=0.9)
    cfg = SynthConfig(acted=acted, n_acted=60, n_wild_labeled=0, n_unlabeled=0, visual_in_manifest=False)
    m = synthesize_manifest(cfg)
    for speaker, rows in m.groupby("speaker"):
        stats = {}
        for emotion in ("anger", "sadness"):
            idx = rows.index[rows["oracle_label"] == emotion][:4]
            assert len(idx) >= 3, (speaker, emotion)
            pitch, rms = [], []
            for i in idx:
                audio = render_audio(cfg, int(i))
                f0 = librosa.yin(audio, fmin=60, fmax=500, sr=16_000, frame_length=1024, hop_length=256)
                energy = librosa.feature.rms(y=audio, frame_length=1024, hop_length=256)[0][: len(f0)]
                pitch.append(np.median(f0[energy > 0.25 * energy.max()]))  # median over speech frames
                rms.append(np.sqrt(np.mean(audio ** 2)))
            stats[emotion] = (np.mean(pitch), np.mean(rms))
        assert stats["anger"][0] > stats["sadness"][0] * 1.1, (speaker, stats)
        assert stats["anger"][1] > stats["sadness"][1] * 1.3, (speaker, stats)


def test_write_corpus_writes_audio_equal_to_render_audio(tmp_path):
    sf = pytest.importorskip("soundfile")
    cfg = SynthConfig(n_acted=2, n_wild_labeled=1, n_unlabeled=1, visual_in_manifest=False)
    manifest_path = write_corpus(cfg, tmp_path, write_audio=True, progress=False)
    m = pd.read_parquet(manifest_path)
    assert m["path"].notna().all()
    audio, sr = sf.read(tmp_path / m["path"][3], dtype="float32")
    assert sr == 16_000 and np.array_equal(audio, render_audio(cfg, 3))
    assert m["duration"][3] == pytest.approx(audio.size / sr)


# ---- text, social, annotation, visual ------------------------------------------------------------

def _carries_class_word(row) -> bool:
    words = lexicon()["emotion_words"][row["oracle_label"]]
    return any(re.search(rf"\b{w}\b", row["text"]) for w in words)


def test_text_carries_its_class_word_more_often_in_acted_than_wild(large_manifest):
    _, m = large_manifest
    rate = m.apply(_carries_class_word, axis=1).groupby(m["domain"]).mean()
    assert rate["acted"] > rate["wild"] + 0.25
    assert 0.1 < rate["wild"] and rate["acted"] < 0.95  # informative, never perfect


def test_topic_depends_on_emotion(large_manifest):
    _, m = large_manifest
    table = pd.crosstab(m["oracle_label"], m["topic"], normalize="index")
    assert set(m["topic"]) <= set(TOPICS)
    assert table.loc["happiness", "joke"] > 2 * table.loc["anger", "joke"]
    assert table.loc["anger", "operation"] > table.loc["sadness", "operation"]


def test_annotators_agree_less_in_the_wild(large_manifest):
    _, m = large_manifest
    labeled = m[m["labeled"]]
    assert labeled["votes"].map(len).eq(3).all()
    agree = labeled.apply(lambda r: np.mean([v == r["label"] for v in r["votes"]]), axis=1)
    by_domain = agree.groupby(labeled["domain"]).mean()
    assert by_domain["acted"] > by_domain["wild"] + 0.15


def test_arousal_and_valence_follow_the_class(large_manifest):
    _, m = large_manifest
    means = m.groupby("oracle_label")[["arousal", "valence"]].mean()
    assert means.loc["anger", "arousal"] > means.loc["sadness", "arousal"] + 0.3
    assert means.loc["happiness", "valence"] > means.loc["anger", "valence"] + 0.3
    assert m["arousal"].between(-1, 1).all() and m["valence"].between(-1, 1).all()


def test_visual_columns_have_the_configured_shapes_and_fer_probabilities(large_manifest):
    cfg, m = large_manifest
    face, fer = np.stack(m["face_features"].iloc[0]), np.stack(m["fer_probs"].iloc[0])
    assert face.shape == (18, 342) and fer.shape == (18, len(FER_CLASSES))
    assert np.allclose(fer.astype(np.float32).sum(axis=1), 1.0, atol=1e-2)


def test_audio_visual_inconsistency_and_fer_accuracy_match_the_config(large_manifest):
    cfg, m = large_manifest
    inconsistent = (m["oracle_face_label"] != m["oracle_label"]).mean()
    assert abs(inconsistent - cfg.av_inconsistency_rate) < 0.03
    fer_argmax = np.array([np.stack(f).astype(np.float32).mean(axis=0).argmax() for f in m["fer_probs"]])
    shown = m["oracle_face_label"].map(lambda e: FER_CLASSES.index(EMOTION_TO_FER[e])).to_numpy()
    assert abs((fer_argmax == shown).mean() - cfg.fer_accuracy) < 0.04


# ---- CLI -----------------------------------------------------------------------------------------

def test_corpora_synth_cli_writes_a_manifest(tmp_path):
    from typer.testing import CliRunner

    from semiemo.cli import app

    result = CliRunner().invoke(app, ["corpora", "synth", "--out", str(tmp_path), "--acted", "12",
                                      "--wild-labeled", "6", "--unlabeled", "6", "--seed", "2"])
    assert result.exit_code == 0, result.output
    m = pd.read_parquet(tmp_path / "manifest.parquet")
    assert len(m) == 24 and (m["corpus"] == "synthetic").all()
    assert "class shares" in result.output

    summary = CliRunner().invoke(app, ["corpora", "summary", str(tmp_path)])
    assert summary.exit_code == 0 and "24 rows" in summary.output
