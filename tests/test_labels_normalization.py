"""Label maps, dimensional levels, fuzzy labels (paper 002), and paper 002's normalization strategies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from semiemo.labels import (
    CASIA_EMOTIONS,
    CASIA_LABEL_MAP,
    EMOTION_TO_SENTIMENT,
    IEMOCAP_LABEL_MAP,
    LEVELS,
    binarize_per_speaker,
    encode_labels,
    fuzzy_correct,
    fuzzy_targets,
    map_labels,
    resolve_fuzzy_truth,
    score_vote_to_level,
    three_levels,
)
from semiemo.normalization import fit_normalization, normalize

# -- categorical maps ---------------------------------------------------------------------------


def test_iemocap_excitement_becomes_happiness_and_other_names_pass_through():
    assert map_labels(["excitement", "anger", None], IEMOCAP_LABEL_MAP) == ["happiness", "anger", None]


def test_casia_folder_names_map_onto_the_six_casia_emotions():
    folders = ["angry", "fear", "happy", "neutral", "sad", "surprise"]
    assert sorted(map_labels(folders, CASIA_LABEL_MAP, strict=True)) == sorted(CASIA_EMOTIONS)


def test_emotion_to_sentiment_follows_paper_003_table_2():
    emotions = ["neutral", "surprise", "happiness", "fear", "sadness", "anger", "disgust"]
    expected = ["neutral", "positive", "positive", "negative", "negative", "negative", "negative"]
    assert map_labels(emotions, EMOTION_TO_SENTIMENT, strict=True) == expected


def test_a_strict_map_names_the_unmapped_label():
    with pytest.raises(ValueError, match="'boredom' at position 1"):
        map_labels(["anger", "boredom"], EMOTION_TO_SENTIMENT, strict=True)


def _labeled_manifest() -> pd.DataFrame:
    return pd.DataFrame(
        dict(utt_id=["a", "b", "c", "d"], labeled=[True, False, True, True],
             label=["sadness", None, "anger", "sadness"])
    )


def test_encode_labels_gives_minus_one_to_unlabeled_rows_and_keeps_the_class_order():
    y, classes = encode_labels(_labeled_manifest(), ["sadness", "anger"])
    assert classes == ["sadness", "anger"] and y.tolist() == [0, -1, 1, 0]


def test_encode_labels_without_classes_uses_the_sorted_labeled_names():
    y, classes = encode_labels(_labeled_manifest())
    assert classes == ["anger", "sadness"] and y.tolist() == [1, -1, 0, 1]


def test_encode_labels_names_the_row_with_an_unknown_label():
    with pytest.raises(ValueError, match=r"row 2 \(utt_id=c\) has label 'anger'"):
        encode_labels(_labeled_manifest(), ["sadness"])


def test_encode_labels_rejects_a_labeled_row_without_a_label():
    m = _labeled_manifest()
    m.loc[3, "label"] = None
    with pytest.raises(ValueError, match=r"row 3 \(utt_id=d\) is labeled but has no 'label'"):
        encode_labels(m, ["sadness", "anger"])


# -- dimensional labels -------------------------------------------------------------------------


def test_three_levels_follow_the_closed_and_open_intervals_of_paper_002():
    scores = [1.0, 1.5, 2.0, 2.0001, 3.0, 3.9999, 4.0, 4.5, 5.0]
    assert three_levels(scores).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_three_levels_marks_missing_scores_and_rejects_scores_off_the_scale():
    assert three_levels([np.nan, 3.0]).tolist() == [-1, 1]
    with pytest.raises(ValueError, match="5.5 at position 1"):
        three_levels([3.0, 5.5])


def test_per_speaker_binarization_splits_at_each_speakers_own_mean():
    values = [1.0, 2.0, 3.0, 4.0, 5.0, np.nan, 4.6]
    speakers = ["A", "A", "A", "B", "B", "B", "B"]  # means: A 2.0, B 4.533 (NaN left out)
    assert binarize_per_speaker(values, speakers).tolist() == [0, 0, 1, 0, 1, -1, 1]


# -- fuzzy labels -------------------------------------------------------------------------------


def test_fuzzy_target_of_votes_2_4_5_is_one_third_low_two_thirds_high():
    dist = fuzzy_targets([[2, 4, 5]], LEVELS, vote_to_class=score_vote_to_level)
    np.testing.assert_allclose(dist, [[1 / 3, 0.0, 2 / 3]])


def test_fuzzy_targets_sum_to_one_and_rows_without_votes_are_zero():
    dist = fuzzy_targets([["low", "high"], ["medium"], None, ["high", "high", "low", "medium"]], LEVELS)
    np.testing.assert_allclose(dist.sum(axis=1), [1.0, 1.0, 0.0, 1.0])
    np.testing.assert_allclose(dist[3], [0.25, 0.25, 0.5])


def test_fuzzy_targets_reject_a_vote_outside_the_classes():
    with pytest.raises(ValueError, match="vote 'joy' in row 0"):
        fuzzy_targets([["joy"]], LEVELS)


def test_a_prediction_of_either_tied_class_counts_as_correct():
    tie = np.array([[0.5, 0.5, 0.0]] * 3)
    assert fuzzy_correct([0, 1, 2], tie).tolist() == [True, True, False]


def test_without_a_tie_only_the_majority_class_is_correct():
    dist = np.array([[1 / 3, 0.0, 2 / 3]] * 2)
    assert fuzzy_correct([2, 0], dist).tolist() == [True, False]


def test_resolved_truth_is_the_prediction_when_tied_else_the_majority():
    dist = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [1 / 3, 0.0, 2 / 3]])
    assert resolve_fuzzy_truth([1, 2, 0], dist).tolist() == [1, 0, 2]


# -- normalization (paper 002 §V-B) --------------------------------------------------------------
# Rows: 0, 1 labeled train (1, 3: mean 2, sd 1); 2 validation (5); 3, 4 unlabeled (10, 14: mean 12, sd 2).
X = np.array([[1.0], [3.0], [5.0], [10.0], [14.0]], dtype=np.float32)
TRAIN, UNLABELED = np.array([0, 1]), np.array([3, 4])


def test_none_normalizes_labeled_rows_by_train_stats_and_leaves_unlabeled_raw():
    labeled, unlabeled = normalize(X, TRAIN, UNLABELED, "none")
    np.testing.assert_allclose(labeled[:3, 0], [-1.0, 1.0, 3.0])
    np.testing.assert_allclose(unlabeled[:, 0], [10.0, 14.0])


def test_self_normalizes_unlabeled_rows_by_their_own_stats():
    labeled, unlabeled = normalize(X, TRAIN, UNLABELED, "self")
    np.testing.assert_allclose(labeled[:3, 0], [-1.0, 1.0, 3.0])
    np.testing.assert_allclose(unlabeled[:, 0], [-1.0, 1.0])


def test_shift_normalizes_unlabeled_rows_by_the_labeled_stats():
    labeled, unlabeled = normalize(X, TRAIN, UNLABELED, "shift")
    np.testing.assert_allclose(labeled[:3, 0], [-1.0, 1.0, 3.0])
    np.testing.assert_allclose(unlabeled[:, 0], [8.0, 12.0])


def test_combine_normalizes_everything_by_the_pooled_train_and_unlabeled_stats():
    labeled, unlabeled = normalize(X, TRAIN, UNLABELED, "combine")
    mean, sd = 7.0, np.sqrt(27.5)  # pooled {1, 3, 10, 14}
    np.testing.assert_allclose(labeled[:3, 0], (np.array([1.0, 3.0, 5.0]) - mean) / sd, rtol=1e-6)
    np.testing.assert_allclose(unlabeled[:, 0], (np.array([10.0, 14.0]) - mean) / sd, rtol=1e-6)


def test_normalization_keeps_float32():
    labeled, unlabeled = normalize(X, TRAIN, UNLABELED, "self")
    assert labeled.dtype == np.float32 and unlabeled.dtype == np.float32


def test_self_without_unlabeled_rows_is_the_labeled_zscore():
    norm = fit_normalization(X, TRAIN, None, "self")
    np.testing.assert_allclose(norm.transform_unlabeled(X)[:2, 0], [-1.0, 1.0])


def test_an_unknown_strategy_names_the_allowed_ones():
    with pytest.raises(ValueError, match=r"'minmax'; allowed: \['none', 'self', 'shift', 'combine'\]"):
        fit_normalization(X, TRAIN, UNLABELED, "minmax")


def test_sequences_use_only_valid_frames_and_padding_stays_zero():
    seq = np.zeros((3, 3, 1), dtype=np.float32)
    seq[0, :2, 0] = [1.0, 3.0]   # length 2
    seq[1, :1, 0] = [5.0]        # length 1; frames 1, 2 are padding
    seq[2, :3, 0] = [9.0, 9.0, 9.0]
    lengths = np.array([2, 1, 3])
    labeled, _ = normalize(seq, np.array([0, 1]), None, "none", lengths=lengths)
    mean, sd = 3.0, np.sqrt(8.0 / 3.0)  # valid train frames {1, 3, 5}
    np.testing.assert_allclose(labeled[0, :2, 0], (np.array([1.0, 3.0]) - mean) / sd, rtol=1e-6)
    np.testing.assert_allclose(labeled[1, :, 0], [(5.0 - mean) / sd, 0.0, 0.0], rtol=1e-6)
