"""Featurizers: output matches the declared schema on real and generated audio; each one's own contract."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from semiemo.corpora.schema import TOPICS  # noqa: E402
from semiemo.features.base import SAMPLE_RATE, config_hash  # noqa: E402
from semiemo.features.lexical import WORD_STATS, word_statistics  # noqa: E402
from semiemo.features.registry import available_featurizers, make_featurizer  # noqa: E402
from semiemo.features.spectral import frame_count  # noqa: E402
from semiemo.paths import casia_root  # noqa: E402

AUDIO_FEATURIZERS = [
    "is09", "is10", "compare16", "egemaps", "is10_lld", "egemaps_lld",
    "fbank", "stft", "stft512", "avsp", "prosody",
]


def tone(seconds: float, f0: float = 150.0, amplitude: float = 0.1, seed: int = 0) -> np.ndarray:
    """A voiced-like signal: harmonics of f0 with a slow amplitude envelope and a little noise."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    harmonics = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 3.0 * t)
    noise = np.random.default_rng(seed).normal(0, 0.01, t.shape)
    return (amplitude * (harmonics * envelope / 2 + noise)).astype(np.float32)


def check_against_schema(featurizer, out: dict, n: int) -> None:
    schema = featurizer.schema()
    assert set(out) == set(schema)
    for field_name, spec in schema.items():
        assert out[field_name].shape == (n, *spec.shape), field_name
        assert out[field_name].dtype == np.dtype(spec.dtype), field_name
        if out[field_name].dtype.kind == "f":
            assert np.isfinite(out[field_name]).all(), field_name


@pytest.fixture(scope="module")
def casia_batch() -> dict:
    root = casia_root()
    wavs = sorted(root.glob("*/*/*.wav"))[:2] if root.is_dir() else []
    if not wavs:
        pytest.skip(f"CASIA not found at {root} (set SEMIEMO_CASIA)")
    audio = [sf.read(w, dtype="float32")[0] for w in wavs]
    return {"utt_id": [w.stem for w in wavs], "audio": audio}


@pytest.fixture(scope="module")
def tone_batch() -> dict:
    return {"utt_id": ["tone_a", "tone_b"], "audio": [tone(1.3), tone(2.2, f0=220.0)]}


# ---- every audio featurizer: shapes and dtypes -------------------------------------------------

@pytest.mark.parametrize("name", AUDIO_FEATURIZERS)
def test_audio_featurizer_matches_its_schema_on_casia(name, casia_batch):
    featurizer = make_featurizer(name)
    check_against_schema(featurizer, featurizer(casia_batch), len(casia_batch["utt_id"]))


@pytest.mark.parametrize("name", AUDIO_FEATURIZERS)
def test_audio_featurizer_matches_its_schema_on_generated_audio(name, tone_batch):
    featurizer = make_featurizer(name)
    check_against_schema(featurizer, featurizer(tone_batch), 2)


def test_is10_has_1582_functionals(casia_batch):
    assert make_featurizer("is10")(casia_batch)["is10"].shape == (2, 1582)


def test_opensmile_set_sizes():
    sizes = {name: make_featurizer(name).schema()[name].shape for name in ("is09", "compare16", "egemaps")}
    assert sizes == {"is09": (384,), "compare16": (6373,), "egemaps": (88,)}


@pytest.mark.filterwarnings("ignore:Segment too short")
def test_opensmile_rejects_audio_too_short_naming_the_utterance():
    with pytest.raises(ValueError, match="tiny"):
        make_featurizer("is10")({"utt_id": ["tiny"], "audio": [tone(0.01)]})


def test_lld_length_counts_10ms_frames():
    out = make_featurizer("is10_lld")({"utt_id": ["a"], "audio": [tone(2.0)]})
    assert 190 <= out["length"][0] <= 201
    assert not out["is10_lld"][0, out["length"][0]:].any()


def test_featurizers_pickle_before_and_after_use(tone_batch):
    featurizer = make_featurizer("is10")
    featurizer(tone_batch)
    restored = pickle.loads(pickle.dumps(featurizer))
    np.testing.assert_array_equal(restored(tone_batch)["is10"], featurizer(tone_batch)["is10"])


# ---- spectral frames ---------------------------------------------------------------------------

def test_fbank_length_is_the_uncentred_frame_count():
    out = make_featurizer("fbank")({"utt_id": ["a"], "audio": [tone(1.0)]})
    assert out["length"][0] == 1 + (16000 - 400) // 160 == frame_count(16000, 25.0, 10.0)


def test_frames_beyond_max_frames_are_trimmed():
    out = make_featurizer("fbank", max_frames=50)({"utt_id": ["a"], "audio": [tone(2.0)]})
    assert out["fbank"].shape == (1, 50, 128) and out["length"][0] == 50


def test_head_padding_puts_frames_at_the_end():
    out = make_featurizer("stft512", pad_side="start")({"utt_id": ["a"], "audio": [tone(1.0)]})
    n = out["length"][0]
    assert not out["stft512"][0, : 555 - n].any() and out["stft512"][0, 555 - n:].any()


def test_stft_128_bins_span_0_to_8khz_at_62_5_hz():
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    sine = (0.5 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)
    frames = make_featurizer("stft")({"utt_id": ["a"], "audio": [sine]})["stft"][0, :50]
    assert np.bincount(frames.argmax(axis=1)).argmax() == 1000 // 62.5


def test_stft512_peak_bin_of_a_sine():
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    sine = (0.5 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)
    frames = make_featurizer("stft512")({"utt_id": ["a"], "audio": [sine]})["stft512"][0, :50]
    assert np.bincount(frames.argmax(axis=1)).argmax() == round(1000 / (16000 / 1024))


@pytest.mark.parametrize(
    "seconds, segments",
    [(0.5, 1), (0.81, 1), (2.0, 2), (4.0, 4), (10.0, 10)],  # 2.0 s = 199 frames -> 2 full segments; cap S = 10
)
def test_avsp_segment_count_for_known_duration(seconds, segments):
    out = make_featurizer("avsp")({"utt_id": ["a"], "audio": [tone(seconds)]})
    assert out["num_segments"][0] == segments
    assert out["avsp"].shape == (1, 10, 200, 80)
    assert not out["avsp"][0, segments:].any() and out["avsp"][0, :segments].all()


def test_avsp_max_segments_is_configurable():
    out = make_featurizer("avsp", max_segments=3)({"utt_id": ["a"], "audio": [tone(4.0)]})
    assert out["avsp"].shape == (1, 3, 200, 80) and out["num_segments"][0] == 3


# ---- prosody -----------------------------------------------------------------------------------

def test_prosody_median_pitch_of_a_150hz_tone():
    pitch, _ = make_featurizer("prosody")({"utt_id": ["a"], "audio": [tone(1.5, f0=150.0)]})["prosody"][0]
    assert pitch == pytest.approx(150.0, rel=0.03)


def test_prosody_intensity_rises_20db_for_ten_times_the_amplitude():
    out = make_featurizer("prosody")({"utt_id": ["q", "l"], "audio": [tone(1.5, amplitude=0.02), tone(1.5, amplitude=0.2)]})
    assert out["prosody"][1, 1] - out["prosody"][0, 1] == pytest.approx(20.0, abs=1.0)


def test_prosody_without_voiced_frames_names_the_utterance():
    silence = np.zeros(SAMPLE_RATE, np.float32)
    with pytest.raises(ValueError, match="quiet_one.*no voiced frame"):
        make_featurizer("prosody")({"utt_id": ["quiet_one"], "audio": [silence]})


# ---- lexical (shipped MiniLM, offline) ---------------------------------------------------------

SENTENCES = ["I am so happy to see you again.", "This is the worst day of my life.", "今天天气很好。"]


@pytest.fixture(scope="module")
def text_featurizer():
    return make_featurizer("text")


def test_text_embedding_is_384d_unit_norm(text_featurizer):
    out = text_featurizer({"utt_id": ["a", "b", "c"], "text": SENTENCES})["text"]
    assert out.shape == (3, 384) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)


def test_text_embedding_differs_between_sentences_and_repeats_for_the_same(text_featurizer):
    out = text_featurizer({"utt_id": ["a", "b", "a2"], "text": [SENTENCES[0], SENTENCES[1], SENTENCES[0]]})["text"]
    assert np.abs(out[0] - out[1]).max() > 0.1
    np.testing.assert_allclose(out[0], out[2], atol=1e-5)


def test_text_embedding_equals_sentence_transformers_encode(text_featurizer):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    from semiemo.features.lexical import resolve_model_dir

    reference = sentence_transformers.SentenceTransformer(str(resolve_model_dir(text_featurizer.config.model_dir)), device="cpu")
    ours = text_featurizer({"utt_id": ["a", "b", "c"], "text": SENTENCES})["text"]
    np.testing.assert_allclose(ours, reference.encode(SENTENCES), atol=1e-4)


def test_text_tokens_keep_word_tokens_with_mask():
    featurizer = make_featurizer("text_tokens", max_tokens=8)
    out = featurizer({"utt_id": ["a", "b", "c"], "text": ["hello world", SENTENCES[1], ""]})
    check_against_schema(featurizer, out, 3)
    assert list(out["length"]) == [2, 8, 0]  # "hello world" = 2 word pieces, long one trimmed to L, empty = 0
    np.testing.assert_array_equal(out["mask"], np.arange(8)[None] < out["length"][:, None])
    assert not out["text_tokens"][0, 2:].any() and out["text_tokens"][0, :2].any()


def test_word_stats_is_14_blocks_of_d():
    featurizer = make_featurizer("word_stats")
    out = featurizer({"utt_id": ["a", "b"], "text": SENTENCES[:2]})
    check_against_schema(featurizer, out, 2)
    assert out["word_stats"].shape == (2, 14 * 384)


def test_word_statistics_of_known_values():
    stats = dict(zip(WORD_STATS, word_statistics(np.array([[1.0], [2.0], [3.0], [4.0]]))))
    expected = {
        "max": 4, "min": 1, "mean": 2.5, "range": 3, "std": np.sqrt(1.25), "disp": 1.25, "skewness": 0,
        "kurtosis": -1.36, "quartile1": 1.75, "quartile2": 2.5, "quartile3": 3.25,
        "iqr1-2": 0.75, "iqr2-3": 0.75, "iqr1-3": 1.5,
    }
    assert stats == pytest.approx(expected, abs=1e-5)


def test_word_statistics_of_a_single_word_has_zero_shape_moments():
    stats = word_statistics(np.ones((1, 3)))
    assert np.isfinite(stats).all() and stats.shape == (42,)


def test_missing_text_model_dir_says_how_to_point_at_a_local_copy(tmp_path):
    featurizer = make_featurizer("text", model_dir=str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="model_dir.*SEMIEMO_TEXT_MODEL"):
        featurizer({"utt_id": ["a"], "text": ["hi"]})


def test_text_model_env_var_sets_the_default_model_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("SEMIEMO_TEXT_MODEL", str(tmp_path))
    assert make_featurizer("text").config.model_dir == str(tmp_path)


def test_missing_text_names_the_utterance(text_featurizer):
    with pytest.raises(ValueError, match="utt_7"):
        text_featurizer({"utt_id": ["utt_7"], "text": [None]})


# ---- social and visual -------------------------------------------------------------------------

def test_social_one_hot_topic_then_accent():
    out = make_featurizer("social", num_accents=3)({"utt_id": ["a"], "topic": ["Joke"], "accent": [2]})["social"]
    expected = np.zeros(len(TOPICS) + 3, np.float32)
    expected[TOPICS.index("joke")] = expected[len(TOPICS) + 2] = 1
    np.testing.assert_array_equal(out[0], expected)


def test_social_named_accents():
    featurizer = make_featurizer("social", accent_names=("north", "south"))
    out = featurizer({"utt_id": ["a"], "topic": ["chat"], "accent": ["south"]})["social"]
    assert out.shape == (1, len(TOPICS) + 2) and out[0, -1] == 1


def test_social_reads_the_synthetic_corpus_region_ids():
    out = make_featurizer("social")({"utt_id": ["a"], "topic": ["chat"], "accent": ["r11"]})["social"]
    assert out.shape == (1, 7 + 34) and out[0, 7 + 11] == 1.0 and out.sum() == 2.0


@pytest.mark.parametrize("topic, accent", [("weather", 0), ("chat", 99), ("chat", "east"), ("chat", "r40")])
def test_social_unknown_value_names_the_utterance(topic, accent):
    with pytest.raises(ValueError, match="row_42"):
        make_featurizer("social")({"utt_id": ["row_42"], "topic": [topic], "accent": [accent]})


def test_face_sequence_from_manifest_is_padded_with_length():
    frames = np.random.default_rng(0).normal(size=(5, 342)).tolist()
    featurizer = make_featurizer("face")
    out = featurizer({"utt_id": ["a"], "face_features": [frames], "visual_path": [None]})
    check_against_schema(featurizer, out, 1)
    assert out["length"][0] == 5
    np.testing.assert_allclose(out["face"][0, :5], np.asarray(frames, np.float32))


def test_fer_sequence_from_npy_file(tmp_path):
    data = np.random.default_rng(0).random((30, 349)).astype(np.float32)
    np.save(tmp_path / "u1.npy", data)
    out = make_featurizer("fer", visual_root=str(tmp_path))({"utt_id": ["u1"], "fer_probs": [None], "visual_path": ["u1.npy"]})
    assert out["fer"].shape == (1, 18, 7) and out["length"][0] == 18
    np.testing.assert_array_equal(out["fer"][0], data[:18, 342:])


def test_visual_file_with_wrong_shape_names_the_file(tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((4, 100), np.float32))
    with pytest.raises(ValueError, match="bad.npy"):
        make_featurizer("face")({"utt_id": ["u"], "face_features": [None], "visual_path": [str(tmp_path / "bad.npy")]})


# ---- self-supervised speech (tiny random wav2vec2 saved locally) --------------------------------

@pytest.fixture(scope="module")
def tiny_wav2vec2(tmp_path_factory):
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    config = Wav2Vec2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
    )
    path = tmp_path_factory.mktemp("tiny_wav2vec2")
    Wav2Vec2Model(config).save_pretrained(path)
    return str(path)


def test_wav2vec_frames_are_20ms_padded_to_t(tiny_wav2vec2, tone_batch):
    featurizer = make_featurizer("wav2vec", model_dir=tiny_wav2vec2, max_frames=100)
    out = featurizer(tone_batch)
    check_against_schema(featurizer, out, 2)
    assert out["wav2vec"].shape == (2, 100, 32)
    assert list(out["length"]) == [64, 100]  # 1.3 s -> 64 frames of 20 ms; 2.2 s -> 109, trimmed


def test_wav2vec_mean_and_conv_features(tiny_wav2vec2, tone_batch):
    assert make_featurizer("wav2vec_mean", model_dir=tiny_wav2vec2)(tone_batch)["wav2vec_mean"].shape == (2, 32)
    conv = make_featurizer("wav2vec_mean", model_dir=tiny_wav2vec2, conv_features=True)
    assert conv.schema()["wav2vec_mean"].shape == (16,) and conv(tone_batch)["wav2vec_mean"].shape == (2, 16)


def test_wav2vec_pickles_before_first_use(tiny_wav2vec2, tone_batch):
    restored = pickle.loads(pickle.dumps(make_featurizer("wav2vec_mean", model_dir=tiny_wav2vec2)))
    assert restored(tone_batch)["wav2vec_mean"].shape == (2, 32)


def test_missing_wav2vec_model_dir_says_how_to_point_at_a_local_copy(monkeypatch):
    monkeypatch.delenv("SEMIEMO_SSL_MODEL", raising=False)
    with pytest.raises(FileNotFoundError, match="model_dir.*SEMIEMO_SSL_MODEL.*never downloads"):
        make_featurizer("wav2vec")({"utt_id": ["a"], "audio": [tone(1.0)]})


# ---- registry and config hashes ----------------------------------------------------------------

def test_registry_lists_every_issue_featurizer():
    wanted = {"is09", "is10", "compare16", "egemaps", "fbank", "stft", "stft512", "avsp", "prosody",
              "text", "text_tokens", "word_stats", "social", "face", "fer", "wav2vec", "wav2vec_mean"}
    assert wanted <= set(available_featurizers())


def test_unknown_featurizer_error_lists_the_available_ones():
    with pytest.raises(KeyError, match="available: .*is10"):
        make_featurizer("is11")


def test_unknown_config_field_error_lists_the_allowed_ones():
    with pytest.raises(TypeError, match="max_frame.*allowed: .*max_frames"):
        make_featurizer("fbank", max_frame=10)


def test_config_hash_is_stable_for_equal_configs():
    assert config_hash(make_featurizer("fbank").config) == config_hash(make_featurizer("fbank").config)
    assert config_hash(make_featurizer("fbank", max_frames=300).config) == config_hash(make_featurizer("fbank").config)


@pytest.mark.parametrize("name, change", [("fbank", {"max_frames": 128}), ("avsp", {"max_segments": 4}),
                                          ("text", {"normalize": False}), ("is10_lld", {"pad_side": "start"})])
def test_config_hash_changes_when_a_field_changes(name, change):
    assert config_hash(make_featurizer(name, **change).config) != config_hash(make_featurizer(name).config)
