"""IEMOCAP and MELD adapters on small trees built here in exactly the release formats."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from semiemo.corpora import load_corpus
from semiemo.corpora.iemocap import iemocap_four_class, read_iemocap
from semiemo.corpora.manifest import validate_manifest
from semiemo.corpora.meld import read_meld

EMO_EVAL_IMPRO = """% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]

[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]
C-E2:\tNeutral;\t()
C-E3:\tNeutral;\t()
C-E4:\tNeutral;\t()
C-F1:\tNeutral;\t(curious)
A-E3:\tval 3; act 2; dom  2;\t()
A-E4:\tval 2; act 3; dom  3;\t(mildly aggravated but staying polite, attitude)
A-F1:\tval 3; act 2; dom  1;\t()

[10.0100 - 11.3925]\tSes01F_impro01_M001\texc\t[4.0000, 3.5000, 3.0000]
C-E1:\tExcited;\t()
C-E3:\tHappiness; Excited;\t()
C-M1:\tExcited;\t()
A-E1:\tval 4; act 3; dom  3;\t()
A-M1:\tval 4; act 4; dom  3;\t()

[14.8872 - 18.0175]\tSes01F_impro01_F002\txxx\t[2.5000, 3.0000, 3.0000]
C-E1:\tFrustration;\t()
C-E2:\tAnger;\t()
C-E4:\tOther:Nervous;\t(anxious)
A-E1:\tval 2; act 3; dom  3;\t()

"""

EMO_EVAL_SCRIPT = """% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]

[1.5000 - 4.2500]\tSes02M_script01_1_M000\tang\t[1.5000, 4.0000, 4.5000]
C-E1:\tAnger;\t()
C-E3:\tAnger; Frustration;\t()
C-M2:\tAnger;\t(threatening)
A-E3:\tval 2; act 4; dom  4;\t()

[5.0000 - 7.0000]\tSes02M_script01_1_F001\tsad\t[1.5000, 2.0000, 2.0000]
C-E1:\tSadness;\t()
C-E2:\tSadness;\t()
C-F2:\tSadness;\t()

[8.0000 - 9.5000]\tSes02M_script01_1_F002\thap\t[4.5000, 3.5000, 3.0000]
C-E1:\tHappiness;\t()
C-E2:\tHappiness;\t()
C-F2:\tExcited;\t()

[10.0000 - 11.0000]\tSes02M_script01_1_M003\tfru\t[2.0000, 3.0000, 3.5000]
C-E1:\tFrustration;\t()
C-E2:\tFrustration;\t()
C-M2:\tAnger;\t()

"""

TRANSCRIPT_IMPRO = """Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.
Ses01F_impro01_M001 [010.0100-011.3925]: Do you have your forms?
Ses01F_impro01_F002 [014.8872-018.0175]: Yeah.
Ses01F_impro01_MXX0 [019.0000-020.0000]: [BREATHING]
"""

TRANSCRIPT_SCRIPT = """Ses02M_script01_1_M000 [001.5000-004.2500]: What's he going to say?
Ses02M_script01_1_F001 [005.0000-007.0000]: Maybe we should tell him.
Ses02M_script01_1_F002 [008.0000-009.5000]: You're the only one who still loves his parents.
Ses02M_script01_1_M003 [010.0000-011.0000]: I don't know.
"""


def _wav(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(1600, dtype="float32"), 16000, subtype="PCM_16")


def _write_session(root, n, dialog, evaluation, transcript):
    sess = root / f"Session{n}"
    (sess / "dialog" / "EmoEvaluation").mkdir(parents=True, exist_ok=True)
    (sess / "dialog" / "transcriptions").mkdir(parents=True, exist_ok=True)
    (sess / "dialog" / "EmoEvaluation" / f"{dialog}.txt").write_text(evaluation)
    (sess / "dialog" / "transcriptions" / f"{dialog}.txt").write_text(transcript)
    for line in evaluation.splitlines():
        if line.startswith("["):
            utt = line.split("\t")[1]
            _wav(sess / "sentences" / "wav" / dialog / f"{utt}.wav")


@pytest.fixture
def iemocap_root(tmp_path):
    root = tmp_path / "IEMOCAP_full_release"
    _write_session(root, 1, "Ses01F_impro01", EMO_EVAL_IMPRO, TRANSCRIPT_IMPRO)
    _write_session(root, 2, "Ses02M_script01_1", EMO_EVAL_SCRIPT, TRANSCRIPT_SCRIPT)
    # a per-annotator sub-folder of the release must not be read as utterances
    (root / "Session1" / "dialog" / "EmoEvaluation" / "Categorical").mkdir()
    (root / "Session1" / "dialog" / "EmoEvaluation" / "Categorical" / "Ses01F_impro01_e2_cat.txt").write_text(
        "Ses01F_impro01_F000 :Neutral state; ()\n")
    return root


def test_iemocap_rows_labels_and_vad(iemocap_root):
    df = read_iemocap(iemocap_root).set_index("utt_id")
    assert len(df) == 7
    assert df.loc["Ses01F_impro01_M001", "label"] == "exc"
    row = df.loc["Ses02M_script01_1_M000"]
    assert (row["valence"], row["arousal"], row["dominance"]) == (1.5, 4.0, 4.5)
    assert row["duration"] == pytest.approx(2.75)


def test_iemocap_no_agreement_rows_are_unlabeled(iemocap_root):
    df = read_iemocap(iemocap_root).set_index("utt_id")
    row = df.loc["Ses01F_impro01_F002"]
    assert not row["labeled"] and pd.isna(row["label"])
    assert list(row["votes"]) == ["fru", "ang", "oth"]


def test_iemocap_per_annotator_votes(iemocap_root):
    df = read_iemocap(iemocap_root).set_index("utt_id")
    assert list(df.loc["Ses01F_impro01_F000", "votes"]) == ["neu"] * 4
    assert list(df.loc["Ses01F_impro01_F000", "annotators"]) == ["C-E2", "C-E3", "C-E4", "C-F1"]
    assert list(df.loc["Ses01F_impro01_M001", "votes"]) == ["exc", "hap", "exc", "exc"]
    assert list(df.loc["Ses01F_impro01_M001", "annotators"]) == ["C-E1", "C-E3", "C-E3", "C-M1"]


def test_iemocap_session_speaker_gender_style(iemocap_root):
    df = read_iemocap(iemocap_root).set_index("utt_id")
    row = df.loc["Ses01F_impro01_M001"]  # the male actor of session 1, in a dialog the female led
    assert (row["session"], row["speaker"], row["gender"], row["style"]) == ("Ses01", "Ses01M", "male", "improvised")
    row = df.loc["Ses02M_script01_1_F001"]
    assert (row["session"], row["speaker"], row["gender"], row["style"]) == ("Ses02", "Ses02F", "female", "scripted")
    assert set(df["split_group"]) == {"Ses01", "Ses02"}


def test_iemocap_split_group_can_be_speaker(iemocap_root):
    df = read_iemocap(iemocap_root, split_group="speaker")
    assert (df["split_group"] == df["speaker"]).all()


def test_iemocap_text_and_paths_are_valid(iemocap_root):
    df = read_iemocap(iemocap_root)
    assert df.set_index("utt_id").loc["Ses01F_impro01_M001", "text"] == "Do you have your forms?"
    assert validate_manifest(df) == []


def test_iemocap_four_class_merges_excitement_into_happiness(iemocap_root):
    four = iemocap_four_class(read_iemocap(iemocap_root)).set_index("utt_id")
    assert four["label"].to_dict() == {
        "Ses01F_impro01_F000": "neu", "Ses01F_impro01_M001": "hap",
        "Ses02M_script01_1_M000": "ang", "Ses02M_script01_1_F001": "sad", "Ses02M_script01_1_F002": "hap"}


def test_iemocap_load_corpus_spec(iemocap_root):
    assert len(load_corpus(f"iemocap:{iemocap_root}")) == 7


MELD_HEADER = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"


@pytest.fixture
def meld_root(tmp_path):
    root = tmp_path / "MELD.Raw"
    root.mkdir()
    (root / "train_sent_emo.csv").write_text(MELD_HEADER + (
        '1,"also I was the point person on my company\'s transition from the KL-5 to GR-6 system.",Chandler,'
        "neutral,neutral,0,0,8,21,\"00:16:16,059\",\"00:16:21,731\"\n"
        '2,"You must\'ve had your hands full.",The Interviewer,neutral,neutral,0,1,8,21,"00:16:21,940","00:16:23,442"\n'
        '3,"That I did. That I did.",Chandler,joy,positive,1,0,8,21,"00:16:23,442","00:16:26,389"\n'), encoding="utf-8")
    (root / "dev_sent_emo.csv").write_text(MELD_HEADER + (
        '1,"Oh my God, he\'s lost it. He\'s totally lost it.",Phoebe,sadness,negative,0,0,4,7,'
        '"00:20:57,256","00:21:00,049"\n'), encoding="utf-8")
    (root / "test_sent_emo.csv").write_text(MELD_HEADER + (
        '1,"Why do all you\'re coffee mugs have numbers on the bottom?",Mark,surprise,positive,0,0,3,19,'
        '"00:14:38,127","00:14:40,378"\n'
        '2,"Oh. That\'s so Monica can keep track.",Rachel,anger,negative,0,1,3,19,"00:14:40,629","00:14:47,385"\n'),
        encoding="utf-8")
    for split_dir, names in (("train_splits", ["dia0_utt0", "dia0_utt1", "dia1_utt0"]),
                             ("dev_splits_complete", ["dia0_utt0"]),
                             ("output_repeated_splits_test", ["dia0_utt0"])):  # test dia0_utt1 is missing
        for name in names:
            _wav(root / split_dir / f"{name}.wav")
    return root


def test_meld_official_splits(meld_root):
    df = read_meld(meld_root)
    assert df["split"].value_counts().to_dict() == {"train": 3, "test": 2, "dev": 1}
    assert df["utt_id"].is_unique  # dialogue ids restart per split
    assert set(df["utt_id"]) >= {"meld_train_dia0_utt0", "meld_dev_dia0_utt0", "meld_test_dia0_utt0"}


def test_meld_columns(meld_root):
    df = read_meld(meld_root).set_index("utt_id")
    row = df.loc["meld_train_dia1_utt0"]
    assert (row["label"], row["sentiment"], row["speaker"], row["text"]) == (
        "joy", "positive", "Chandler", "That I did. That I did.")
    assert (row["dialogue_id"], row["utterance_id"], row["season"], row["episode"]) == (1, 0, 8, 21)
    assert row["start_time"] == "00:16:23,442"
    assert row["path"].endswith("train_splits/dia1_utt0.wav")
    assert (df["split_group"] == df["speaker"]).all() and df["labeled"].all()


def test_meld_missing_media_is_named_by_validation(meld_root):
    problems = validate_manifest(read_meld(meld_root), label_set=["neutral", "joy", "surprise", "anger",
                                                                   "sadness", "disgust", "fear"])
    assert [(p.kind, p.utt_id) for p in problems] == [("missing_audio", "meld_test_dia0_utt1")]
    assert "output_repeated_splits_test/dia0_utt1.mp4" in problems[0].message
