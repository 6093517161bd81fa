"""CASIA adapter on the real public subset (skipped when ../shared/data/casia is absent)."""

from __future__ import annotations

import json

import pytest

from semiemo.corpora.casia import CASIA_EMOTIONS, parse_lab, read_casia
from semiemo.corpora.manifest import validate_manifest
from semiemo.paths import casia_root

ROOT = casia_root()
pytestmark = pytest.mark.skipif(not (ROOT / "texts_201-250.gb18030.txt").exists(),
                                reason=f"CASIA not found at {ROOT} (set SEMIEMO_CASIA or SEMIEMO_SHARED_DATA)")


@pytest.fixture(scope="module")
def casia():
    return read_casia(ROOT)


def test_has_1200_rows_and_4_speakers(casia):
    assert len(casia) == 1200
    assert casia["speaker"].value_counts().to_dict() == {
        "ZhaoZuoxiang": 300, "wangzhe": 300, "liuchanhg": 300, "zhaoquanyin": 300}


def test_200_per_emotion_and_50_per_cell(casia):
    assert casia["label"].value_counts().to_dict() == {e: 200 for e in CASIA_EMOTIONS}
    assert (casia.groupby(["speaker", "label"]).size() == 50).all()
    assert casia.groupby(["speaker", "label"]).ngroups == 24


def test_split_group_is_speaker_and_gender_from_readme(casia):
    assert (casia["split_group"] == casia["speaker"]).all()
    gender = casia.groupby("speaker")["gender"].first().to_dict()
    assert gender == {"ZhaoZuoxiang": "male", "wangzhe": "male", "liuchanhg": "female", "zhaoquanyin": "female"}


def test_text_is_decoded_chinese(casia):
    first = casia.set_index("text_id")["text"].loc["201"].iloc[0]
    assert first == "就是下雨也去。"
    assert casia["text"].notna().all()
    assert not casia["text"].str.contains("\ufffd").any()
    assert casia["text"].str.contains("[\u4e00-\u9fff]", regex=True).all()


def test_manifest_is_valid_with_absolute_paths(casia):
    assert casia["path"].map(lambda p: p.startswith("/")).all()
    assert validate_manifest(casia, label_set=CASIA_EMOTIONS) == []


def test_five_wavs_without_lab_have_no_syllables(casia):
    missing = casia[casia["syllables"].isna()]
    assert len(missing) == 5
    assert set(missing["utt_id"]) >= {"casia_wangzhe_sad_205", "casia_ZhaoZuoxiang_sad_203"}


def test_lab_times_are_seconds_and_silence_is_kept(casia):
    row = casia.set_index("utt_id").loc["casia_ZhaoZuoxiang_angry_201"]
    syllables = json.loads(row["syllables"])
    assert syllables[0] == [0.0, 0.516, "SIL"]
    assert syllables[1] == [0.516, 0.621, "jiu4"]
    assert syllables[-1][1] == pytest.approx(row["duration"], abs=0.05)


def test_parse_lab_can_drop_silence():
    segments = parse_lab(ROOT / "ZhaoZuoxiang" / "angry" / "201.lab", drop_silence=True)
    assert [s[2] for s in segments][:2] == ["jiu4", "shi4"]
    assert "SIL" not in {s[2] for s in segments}


def test_silence_only_lab_gives_only_sil(casia):
    only_sil = casia["syllables"].dropna().map(lambda s: {x[2] for x in json.loads(s)} == {"SIL"})
    assert only_sil.sum() >= 1
