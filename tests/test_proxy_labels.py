"""Paper 004's proxy labels: per-speaker baselines (eq. 1-2, 3-4) and dictionary valence."""

import numpy as np
import pytest

from semiemo import proxy_labels as pl


def test_rank_score_is_mid_rank_cdf_in_minus_one_one():
    base = np.array([1.0, 2.0, 3.0, 4.0])
    assert pl.rank_score(10.0, base) == 1.0
    assert pl.rank_score(0.0, base) == -1.0
    assert pl.rank_score(2.0, base) == pytest.approx(2 * 1.5 / 4 - 1)  # one below, one tie (½)


def test_louder_higher_utterance_is_high_against_its_own_speaker_not_the_other():
    # Speaker A speaks low and soft, speaker B high and loud. A's loudest/highest utterance is still
    # below every B utterance, yet against A's own baseline it is high arousal.
    pitch_a = [100, 102, 104, 106, 130]
    inten_a = [-40, -39, -38, -37, -30]
    pitch_b = [250, 252, 254, 256, 258]
    inten_b = [-20, -19, -18, -17, -16]
    speakers = ["A"] * 5 + ["B"] * 5
    lab = pl.proxy_arousal(np.array(pitch_a + pitch_b), np.array(inten_a + inten_b), speakers)
    assert lab.label[4] == pl.HIGH and lab.score[4] == pytest.approx(0.8)
    assert lab.label[5] == pl.LOW  # B's lowest is low against B, though it beats all of A
    # against a pooled (corpus) baseline A's peak would be low: the speaker baseline decides
    pooled = pl.proxy_arousal(np.array(pitch_a + pitch_b), np.array(inten_a + inten_b), ["all"] * 10)
    assert pooled.label[4] == pl.LOW


def test_no_voiced_frame_leaves_arousal_unknown_and_out_of_the_baseline():
    pitch = np.array([100, 110, 120, 130, 140, np.nan])
    inten = np.array([-30, -29, -28, -27, -26, -10])
    lab = pl.proxy_arousal(pitch, inten, ["A"] * 6)
    assert lab.label[5] == pl.UNKNOWN and np.isnan(lab.score[5])
    assert lab.counts() == {"high": 2, "low": 3, "unknown": 1}


def test_small_speaker_falls_back_to_corpus_baseline():
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 100.0])
    groups = ["A"] * 5 + ["lonely"]
    s = pl.baseline_scores(values, groups, min_baseline_utterances=5)
    assert s[5] == pytest.approx(2 * 5.5 / 6 - 1)  # ranked against all six, not only itself (would be 0)


@pytest.mark.parametrize("dict_name", ["en_small", "vader"])
def test_dictionary_valence_on_known_sentences(dict_name):
    d = pl.dictionaries([dict_name])
    assert pl.polarity_sum(pl.tokenize_english("What a wonderful, lovely day!"), d) == 2
    assert pl.polarity_sum(pl.tokenize_english("This is disgusting and miserable."), d) == -2
    assert pl.polarity_sum(pl.tokenize_english("The train leaves at noon."), d) == 0


def test_word_in_two_dictionaries_counts_once_per_dictionary():
    d = pl.dictionaries(["en_small", "vader"])
    assert pl.polarity_sum(["great"], d) == 2


def test_valence_against_speaker_baseline_and_missing_transcript_unknown():
    # A is always upbeat: a merely "good" sentence is negative against A's own baseline.
    texts = ["great wonderful day", "lovely great fun", "wonderful awesome", "happy great joy", "good", None,
             "bad", "terrible awful", "sad", "miserable gloomy", "fine"]
    speakers = ["A"] * 6 + ["B"] * 5
    lab = pl.proxy_valence(texts, speakers, pl.dictionaries(["en_small"]))
    assert lab.label[4] == pl.LOW          # "good" (+1) is low among A's +2/+3
    assert lab.label[10] == pl.HIGH        # "fine" (+1) is high among B's negatives
    assert lab.label[5] == pl.UNKNOWN
    assert lab.counts()["unknown"] == 1
    assert "1 unknown" in lab.balance_line("positive", "negative")


def test_unknown_dictionary_names_the_choices():
    with pytest.raises(ValueError, match="en_small"):
        pl.dictionaries(["ntusd"])


def test_user_dictionary_file_with_centred_ratings(tmp_path):
    p = tmp_path / "cvaw.tsv"
    p.write_text("joy\t2.5\ngrief\t-3\nmeh\t0\n")
    d = pl.dictionaries([str(p)])
    assert pl.polarity_sum(["joy", "grief", "meh", "joy"], d) == 1
