"""Labels: categorical name maps, integer encoding, dimensional binarization and fuzzy (vote) targets.

Everything here is a pure function of arrays/columns, so the same rules serve training, evaluation
and analysis. Papers: 000/001/004 merge IEMOCAP *excitement* into *happiness*; 003 Table 2 maps
emotions to sentiments; 004 §2.1.2 binarizes arousal/valence against each speaker's mean; 002 §IV-A
turns 5-point scores into 3 levels and annotator votes into fuzzy (soft) labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

# -- categorical maps ---------------------------------------------------------------------------

# Papers 000, 001, 004: "happiness merged with excitement" (IEMOCAP 4-class setting).
# The short codes are IEMOCAP's own annotation tags.
IEMOCAP_LABEL_MAP: dict[str, str] = {
    "excitement": "happiness",
    "excited": "happiness",
    "exc": "happiness",
    "hap": "happiness",
    "happy": "happiness",
    "ang": "anger",
    "angry": "anger",
    "sad": "sadness",
    "neu": "neutral",
    "fru": "frustration",
}

# CASIA folder names (casia/<speaker>/<emotion>/) -> the platform's noun class names.
CASIA_LABEL_MAP: dict[str, str] = {
    "angry": "anger",
    "fear": "fear",
    "happy": "happiness",
    "neutral": "neutral",
    "sad": "sadness",
    "surprise": "surprise",
}
CASIA_EMOTIONS: tuple[str, ...] = ("anger", "fear", "happiness", "neutral", "sadness", "surprise")

# Paper 003 Table 2: "Mapping from emotions to sentiments" (facial expressions -> 3-class sentiment).
EMOTION_TO_SENTIMENT: dict[str, str] = {
    "neutral": "neutral",
    "surprise": "positive",
    "happiness": "positive",
    "fear": "negative",
    "sadness": "negative",
    "anger": "negative",
    "disgust": "negative",
}
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")

# Paper 002 §IV-A: the 3-point scale of 5-point arousal/valence scores.
LEVELS: tuple[str, ...] = ("low", "medium", "high")
BINARY_LEVELS: tuple[str, ...] = ("low", "high")


def map_labels(labels: Iterable, mapping: Mapping[str, str], strict: bool = False) -> list:
    """Rename class names through `mapping`; missing values (None/NaN) stay missing.

    strict=False lets names absent from the map pass unchanged (a partial map such as
    {"excitement": "happiness"}); strict=True demands every name be mapped (e.g. emotion -> sentiment,
    where an unmapped emotion has no sentiment) and names the first offending position.
    """
    out = []
    for i, name in enumerate(labels):
        if name is None or (isinstance(name, float) and np.isnan(name)):
            out.append(name)
        elif name in mapping:
            out.append(mapping[name])
        elif strict:
            raise ValueError(
                f"label {name!r} at position {i} has no entry in the label map; "
                f"mapped names are {sorted(mapping)} — add it to the map or drop the row"
            )
        else:
            out.append(name)
    return out


def labeled_mask(manifest: pd.DataFrame) -> np.ndarray:
    """The manifest's `labeled` column as a bool array; a missing value is an error naming the row."""
    if "labeled" not in manifest.columns:
        raise ValueError("manifest has no 'labeled' column (see semiemo.corpora.schema.REQUIRED_COLUMNS)")
    labeled = manifest["labeled"]
    if labeled.isna().any():
        row = int(np.flatnonzero(labeled.isna().to_numpy())[0])
        raise ValueError(f"manifest row {row} has a missing 'labeled' value; set it to True or False")
    return labeled.astype(bool).to_numpy()


def encode_labels(
    manifest: pd.DataFrame, classes: Sequence[str] | None = None, column: str = "label"
) -> tuple[np.ndarray, list[str]]:
    """Class names -> integer targets; unlabeled rows get -1.

    `classes` fixes the order (and so the output layer); when None it is the sorted set of names on
    labeled rows. A labeled row whose name is missing or outside `classes` is an error naming the row.
    """
    labeled = labeled_mask(manifest)
    if column not in manifest.columns:
        raise ValueError(f"manifest has no {column!r} column to encode")
    names = manifest[column].to_numpy(dtype=object)
    missing = labeled & pd.isna(manifest[column]).to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise ValueError(
            f"manifest row {row} (utt_id={_utt(manifest, row)}) is labeled but has no {column!r}; "
            f"{int(missing.sum())} such rows — set labeled=False or fill the label"
        )
    if classes is None:
        classes = sorted({str(n) for n in names[labeled]})
    classes = list(classes)
    index = {c: i for i, c in enumerate(classes)}
    y = np.full(len(manifest), -1, dtype=np.int64)
    for row in np.flatnonzero(labeled):
        name = names[row]
        if name not in index:
            raise ValueError(
                f"manifest row {row} (utt_id={_utt(manifest, row)}) has label {name!r}, "
                f"not one of the classes {classes}; map it (label_map) or drop the row"
            )
        y[row] = index[name]
    return y, classes


def _utt(manifest: pd.DataFrame, row: int) -> str:
    return str(manifest["utt_id"].iloc[row]) if "utt_id" in manifest.columns else "?"


# -- dimensional labels -------------------------------------------------------------------------


def three_levels(scores: Iterable[float]) -> np.ndarray:
    """5-point scores -> 0 low [1, 2], 1 medium (2, 4), 2 high [4, 5] (paper 002 §IV-A).

    So 2.0 is low and 4.0 is high. NaN -> -1 (no label). A score outside [1, 5] is an error.
    """
    s = np.asarray(list(scores) if not isinstance(scores, np.ndarray) else scores, dtype=np.float64)
    bad = ~np.isnan(s) & ((s < 1.0) | (s > 5.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"score {s[i]} at position {i} is outside the 5-point scale [1, 5]")
    levels = np.where(s <= 2.0, 0, np.where(s < 4.0, 1, 2)).astype(np.int64)
    levels[np.isnan(s)] = -1
    return levels


def binarize_per_speaker(values: Iterable[float], speakers: Iterable) -> np.ndarray:
    """Dimensional values -> 1 high / 0 low against the speaker's own mean (paper 004 §2.1.2).

    "we further use the average of all utterances for each speaker to binarize the attribute into
    binary classes: high and low". A value strictly above its speaker's mean is high; equal is low.
    NaN values get -1 and do not enter the mean.
    """
    v = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=np.float64)
    spk = pd.Series(list(speakers) if not isinstance(speakers, pd.Series) else speakers.to_numpy())
    if len(spk) != len(v):
        raise ValueError(f"{len(v)} values but {len(spk)} speakers")
    if spk.isna().any():
        raise ValueError(f"position {int(np.flatnonzero(spk.isna().to_numpy())[0])} has no speaker to binarize against")
    speaker_mean = pd.Series(v).groupby(spk.to_numpy()).transform("mean").to_numpy()
    out = (v > speaker_mean).astype(np.int64)
    out[np.isnan(v)] = -1
    return out


# -- fuzzy labels from annotator votes (paper 002 §IV-A) ----------------------------------------


def score_vote_to_level(vote) -> str:
    """One annotator's 5-point score (number or numeric string) -> its level name."""
    return LEVELS[int(three_levels([float(vote)])[0])]


def fuzzy_targets(
    votes: Iterable,
    classes: Sequence[str],
    vote_to_class: Callable[[object], str] | None = None,
) -> np.ndarray:
    """Annotator votes -> soft targets [N, C]: the mean of one-hot votes (paper 002 §IV-A).

    "if three annotators label the utterance 2, 4 and 5, we represent their annotation as vectors
    [1,0,0], [0,0,1] and [0,0,1]. The final ground-truth label would be [0.33,0,0.67]."
    Each row holds a list of votes (class names, or raw scores mapped by `vote_to_class`, e.g.
    `score_vote_to_level`). Rows without votes (unlabeled) are all zeros: they carry no target.
    """
    index = {c: i for i, c in enumerate(classes)}
    rows = list(votes)
    out = np.zeros((len(rows), len(classes)), dtype=np.float64)
    for i, row_votes in enumerate(rows):
        if row_votes is None or (isinstance(row_votes, float) and np.isnan(row_votes)):
            continue
        row_votes = list(row_votes)
        for vote in row_votes:
            name = vote_to_class(vote) if vote_to_class is not None else vote
            if name not in index:
                raise ValueError(
                    f"vote {vote!r} in row {i} maps to {name!r}, not one of the classes {list(classes)}"
                )
            out[i, index[name]] += 1.0
        if row_votes:
            out[i] /= len(row_votes)
    return out


def _check_dist(votes_dist: np.ndarray, n: int) -> np.ndarray:
    d = np.asarray(votes_dist, dtype=np.float64)
    if d.ndim != 2 or len(d) != n:
        raise ValueError(f"vote distributions must be [N={n}, C], got shape {d.shape}")
    empty = d.sum(axis=1) <= 0
    if empty.any():
        raise ValueError(f"row {int(np.flatnonzero(empty)[0])} has no votes: it cannot be evaluated")
    return d


def fuzzy_correct(y_pred: Iterable[int], votes_dist: np.ndarray, atol: float = 1e-9) -> np.ndarray:
    """Per row: is the prediction a correct class under paper 002's rule?

    The correct class is the dimension of maximum value; on a tie ("[0.5, 0.5, 0]") "we will regard
    both two levels as the correct class" — a prediction of any tied maximum counts as correct.
    """
    p = np.asarray(list(y_pred) if not isinstance(y_pred, np.ndarray) else y_pred, dtype=np.int64)
    d = _check_dist(votes_dist, len(p))
    best = d.max(axis=1)
    return d[np.arange(len(p)), p] >= best - atol


def resolve_fuzzy_truth(y_pred: Iterable[int], votes_dist: np.ndarray, atol: float = 1e-9) -> np.ndarray:
    """Hard ground truth for evaluation: the predicted class where it is a tied maximum, else the argmax.

    Feeding this to ordinary metrics (UAR, macro F1, confusion) applies the tie rule consistently.
    """
    p = np.asarray(list(y_pred) if not isinstance(y_pred, np.ndarray) else y_pred, dtype=np.int64)
    d = _check_dist(votes_dist, len(p))
    return np.where(fuzzy_correct(p, d, atol), p, d.argmax(axis=1)).astype(np.int64)
