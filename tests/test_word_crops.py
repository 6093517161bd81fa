"""Paper 001's unlabeled sampling: clips of a fixed width centred on the middle of 3 consecutive words,
inside the recording, the visual track cut with the same window; rows that cannot be cut go to errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from semiemo.corpora.word_crops import crop_corpus, plan_crop, word_alignment

WORDS = [[0.5, 0.9, "so"], [1.0, 1.4, "what"], [1.5, 2.0, "sil"], [2.1, 2.6, "do"], [2.7, 3.2, "you"],
         [6.0, 6.5, "think"], [9.0, 9.6, "about"]]


def test_alignment_skips_silence_and_the_crop_centres_on_the_middle_word():
    words = word_alignment({"words": json.dumps(WORDS)})
    assert [w for _, _, w in words] == ["so", "what", "do", "you", "think", "about"]
    rng = np.random.default_rng(0)
    for _ in range(50):
        crop = plan_crop(words, duration_s=10.0, width_s=3.5, rng=rng)
        assert crop.end_s - crop.start_s == pytest.approx(3.5)
        assert 0.0 <= crop.start_s and crop.end_s <= 10.0 + 1e-9
        mids = [(s + e) / 2 for s, e, _ in words[1:-1]]
        assert min(abs(crop.centre_s - m) for m in mids) < 1e-9            # a middle word of some triple
        if 1.75 <= crop.centre_s <= 8.25:                                  # not clamped at an edge
            assert (crop.start_s + crop.end_s) / 2 == pytest.approx(crop.centre_s)
    with pytest.raises(ValueError, match="needs 3 consecutive"):
        plan_crop(words[:2], 10.0, 3.5, rng)


def test_crop_corpus_cuts_audio_and_faces_and_lists_rows_it_cannot_cut(tmp_path):
    sr = 16000
    t = np.arange(10 * sr) / sr
    sf.write(tmp_path / "meeting.wav", (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr)
    faces = [[float(i)] * 4 for i in range(100)]                                # 10 s at 10 fps
    manifest = pd.DataFrame([
        {"utt_id": "m1", "corpus": "ami", "split_group": "m", "speaker": "A", "domain": "wild", "labeled": False,
         "path": "meeting.wav", "words": json.dumps(WORDS), "face_features": faces},
        {"utt_id": "m2", "corpus": "ami", "split_group": "m", "speaker": "B", "domain": "wild", "labeled": False,
         "path": "meeting.wav", "words": None, "face_features": faces},
    ])
    clips, errors = crop_corpus(manifest, tmp_path / "out", width_s=3.5, crops_per_recording=3, seed=1,
                                visual_fps=10.0, base_dir=tmp_path)
    assert len(clips) == 3 and list(errors["utt_id"]) == ["m2"] and "aligned words" in errors["error"].iloc[0]
    for _, c in clips.iterrows():
        audio, rate = sf.read(tmp_path / "out" / c["path"])
        assert rate == sr and len(audio) == pytest.approx(3.5 * sr, abs=2)
        assert not c["labeled"] and c["source_utt"] == "m1" and c["text"]
        frames = np.asarray(c["face_features"])
        assert frames[0, 0] == np.floor(c["crop_start_s"] * 10) and 35 <= len(frames) <= 36


def test_casia_syllable_alignment_gives_crops_of_real_speech(tmp_path):
    from semiemo.paths import casia_root

    if not casia_root().is_dir():
        pytest.skip(f"CASIA not at {casia_root()} (set SEMIEMO_CASIA)")
    from semiemo.corpora.casia import read_casia

    rows = read_casia(None).head(6)
    clips, errors = crop_corpus(rows, tmp_path, width_s=1.0, seed=0)
    assert len(clips) + len(errors) == 6 and len(clips) >= 1
    audio, _ = sf.read(tmp_path / clips.iloc[0]["path"])
    assert np.abs(audio).max() > 0.01                                           # speech, not silence
