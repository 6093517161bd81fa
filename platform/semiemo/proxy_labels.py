"""Paper 004's proxy labels for unlabeled in-the-wild speech, computed from audio and transcript.

Arousal (Bone et al. 2014, two of five features; paper 004 eq. 1-2): for each feature i (median
pitch, median intensity) a_u⁽ⁱ⁾ = 2·E[x_u⁽ⁱ⁾ > N⁽ⁱ⁾] − 1, where N⁽ⁱ⁾ is the empirical distribution
of that feature over the same speaker's utterances; a′_u = mean_i a_u⁽ⁱ⁾; high iff a′_u > 0.
Valence (eq. 3-4): v_u = Σ_dictionaries Σ_words D(w) (a word in several dictionaries counts once per
dictionary); v′_u = 2·E[v_u > N] − 1 against the speaker's distribution of v; positive iff v′_u > 0.

Choices the paper leaves open (spec avspnet §5.7-5.10): E[·] is a mid-rank empirical CDF (ties count
½), the baseline includes the utterance itself, a speaker with fewer than `min_baseline_utterances`
known values is scored against the corpus-wide distribution, and no negation handling. Unknown
inputs (no voiced frame, missing transcript) give an unknown label (-1), counted, never a guess.
Pure functions: numpy and strings in, arrays out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

UNKNOWN = -1
HIGH = 1   # high arousal / positive valence
LOW = 0    # low arousal / negative valence


@dataclass(frozen=True)
class ProxyConfig:
    """Knobs of the proxy labelling (paper 004 §3.1; the unstated ones from spec avspnet §5)."""

    min_baseline_utterances: int = field(default=5, metadata={
        "doc": "a speaker with fewer known values uses the corpus-wide baseline N (spec §5.8; paper silent)"})
    threshold: float = field(default=0.0, metadata={
        "doc": "high/positive iff a′_u (eq. 2) or v′_u (eq. 4) exceeds this (paper silent: 0)"})


@dataclass
class ProxyLabels:
    """`score`: a′_u or v′_u in [-1, 1] (NaN unknown); `label`: 1 high/positive, 0 low/negative, -1 unknown."""

    name: str
    score: np.ndarray
    label: np.ndarray

    def counts(self) -> dict[str, int]:
        return {"high": int((self.label == HIGH).sum()), "low": int((self.label == LOW).sum()),
                "unknown": int((self.label == UNKNOWN).sum())}

    def high_share(self) -> float:
        """Share of HIGH among the known labels (paper 004 Table 1: ≈ 0.48 arousal, ≈ 0.58 valence)."""
        c = self.counts()
        known = c["high"] + c["low"]
        return c["high"] / known if known else float("nan")

    def balance_line(self, high: str = "high", low: str = "low") -> str:
        c = self.counts()
        return (f"proxy {self.name}: {c['high']} {high} / {c['low']} {low} ({100 * self.high_share():.1f} % {high}), "
                f"{c['unknown']} unknown")


# --- eq. 1 and 4: rank against a baseline ---------------------------------------------------------

def rank_score(value: float, baseline: np.ndarray) -> float:
    """2·E[x > N] − 1 with E the mid-rank empirical CDF of `baseline` (ties count ½); in [-1, 1]."""
    baseline = np.asarray(baseline, dtype=float)
    if len(baseline) == 0:
        raise ValueError("rank_score needs a non-empty baseline")
    below = float((baseline < value).sum())
    ties = float((baseline == value).sum())
    return 2.0 * (below + 0.5 * ties) / len(baseline) - 1.0


def baseline_scores(values: np.ndarray, groups: Sequence, min_baseline_utterances: int = 5) -> np.ndarray:
    """Each value ranked against its group's known values (itself included); NaN stays NaN.

    Groups with fewer than `min_baseline_utterances` known values are ranked against every known value.
    """
    values = np.asarray(values, dtype=float)
    groups = np.asarray(list(groups), dtype=object)
    if len(groups) != len(values):
        raise ValueError(f"{len(values)} values but {len(groups)} group ids (speakers); they must align")
    known = np.isfinite(values)
    out = np.full(len(values), np.nan)
    corpus_baseline = np.sort(values[known])
    for g in dict.fromkeys(groups[known]):
        rows = np.flatnonzero(known & (groups == g))
        baseline = np.sort(values[rows]) if len(rows) >= min_baseline_utterances else corpus_baseline
        below = np.searchsorted(baseline, values[rows], side="left")
        upto = np.searchsorted(baseline, values[rows], side="right")
        out[rows] = 2.0 * (below + 0.5 * (upto - below)) / len(baseline) - 1.0
    return out


def _labels(score: np.ndarray, threshold: float) -> np.ndarray:
    return np.where(np.isfinite(score), (score > threshold).astype(np.int8), UNKNOWN).astype(np.int8)


# --- arousal (eq. 1-2) ---------------------------------------------------------------------------

def proxy_arousal(median_pitch: np.ndarray, median_intensity: np.ndarray, speakers: Sequence,
                  config: ProxyConfig = ProxyConfig()) -> ProxyLabels:
    """a′_u = ½(a_u⁽pitch⁾ + a_u⁽intensity⁾), each against the speaker's baseline; NaN inputs -> unknown."""
    pitch = np.asarray(median_pitch, dtype=float)
    intensity = np.asarray(median_intensity, dtype=float)
    if pitch.shape != intensity.shape:
        raise ValueError(f"median pitch {pitch.shape} and median intensity {intensity.shape} must align")
    usable = np.isfinite(pitch) & np.isfinite(intensity)  # spec §5.9: no voiced frame -> not in the arousal proxy
    pitch, intensity = np.where(usable, pitch, np.nan), np.where(usable, intensity, np.nan)
    scores = [baseline_scores(x, speakers, config.min_baseline_utterances) for x in (pitch, intensity)]
    score = np.mean(scores, axis=0)  # eq. 2, I = 2
    return ProxyLabels("arousal", score, _labels(score, config.threshold))


# --- valence (eq. 3-4) ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PolarityDictionary:
    """D⁽ⁱ⁾: word -> +1 / -1 (a missing word scores 0)."""

    name: str
    polarity: Mapping[str, int]

    def __call__(self, word: str) -> int:
        return int(self.polarity.get(word, 0))


def english_small() -> PolarityDictionary:
    """The shipped general-English list (semiemo/lexicons/en_small.json; 133 words)."""
    data = json.loads(resources.files("semiemo").joinpath("lexicons/en_small.json").read_text(encoding="utf-8"))
    return PolarityDictionary(data["name"], {w: int(np.sign(p)) for w, p in data["polarity"].items()})


def vader() -> PolarityDictionary:
    """VADER's 7.5k-entry lexicon (package `vadersentiment`), its mean rating's sign as the polarity."""
    try:
        text = resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(encoding="utf-8")
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError("the 'vader' dictionary needs the package vadersentiment: pip install vadersentiment") from e
    polarity = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and float(parts[1]) != 0.0:
            polarity[parts[0].lower()] = 1 if float(parts[1]) > 0 else -1
    return PolarityDictionary("vader", polarity)


def from_file(path: str | Path) -> PolarityDictionary:
    """A user dictionary: JSON {"polarity": {word: rating}} or TSV `word<TAB>rating`; sign of rating.

    CVAW-style 1-9 ratings: pass them centred (rating − 5) so that > 5 is positive (spec §5.10).
    """
    path = Path(path)
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        items: Iterable[tuple[str, float]] = (data.get("polarity", data)).items()
    else:
        items = ((p[0], float(p[1])) for p in (ln.split("\t") for ln in path.read_text(encoding="utf-8").splitlines())
                 if len(p) >= 2)
    return PolarityDictionary(path.stem, {w: int(np.sign(float(r))) for w, r in items if float(r) != 0})


DICTIONARIES: dict[str, Callable[[], PolarityDictionary]] = {"en_small": english_small, "vader": vader}


def dictionaries(names: Sequence[str]) -> list[PolarityDictionary]:
    """Dictionaries by name (`en_small`, `vader`) or path to a JSON/TSV file."""
    out = []
    for name in names:
        if name in DICTIONARIES:
            out.append(DICTIONARIES[name]())
        elif Path(name).is_file():
            out.append(from_file(name))
        else:
            raise ValueError(f"unknown polarity dictionary {name!r}; use one of {sorted(DICTIONARIES)} or a JSON/TSV file path")
    return out


_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def tokenize_english(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def tokenize_chinese(text: str) -> list[str]:
    """jieba word segmentation (paper 004's transcripts are Chinese)."""
    try:
        import jieba
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError("Chinese transcripts need word segmentation: pip install jieba") from e
    return [w for w in jieba.lcut(text) if w.strip()]


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {"english": tokenize_english, "chinese": tokenize_chinese}


def has_transcript(text: object) -> bool:
    return isinstance(text, str) and bool(text.strip()) and text.strip().lower() not in ("nan", "none")


def polarity_sum(tokens: Sequence[str], dicts: Sequence[PolarityDictionary]) -> int:
    """v_u = Σ_i Σ_j D⁽ⁱ⁾(w_j) (paper 004 eq. 3)."""
    return int(sum(d(w) for d in dicts for w in tokens))


def proxy_valence(texts: Sequence[object], speakers: Sequence, dicts: Sequence[PolarityDictionary],
                  tokenize: Callable[[str], list[str]] = tokenize_english,
                  config: ProxyConfig = ProxyConfig()) -> ProxyLabels:
    """v′_u against the speaker's baseline of v (eq. 4); a missing transcript -> unknown."""
    if not dicts:
        raise ValueError("proxy valence needs at least one polarity dictionary")
    raw = np.array([polarity_sum(tokenize(t), dicts) if has_transcript(t) else np.nan for t in texts], dtype=float)
    score = baseline_scores(raw, speakers, config.min_baseline_utterances)
    return ProxyLabels("valence", score, _labels(score, config.threshold))


def baseline_groups(speakers: Sequence, episodes: Sequence | None = None) -> list:
    """Speaker × episode when episodes are known (paper: per speaker within each TV episode), else speaker."""
    if episodes is None:
        return list(speakers)
    return [f"{s}|{e}" for s, e in zip(speakers, episodes)]


def proxy_accuracy(labels: np.ndarray, truth: np.ndarray) -> float:
    """Agreement with a hidden binary truth (1/0; -1 unknown) over rows where both are known."""
    labels, truth = np.asarray(labels), np.asarray(truth)
    both = (labels >= 0) & (truth >= 0)
    return float((labels[both] == truth[both]).mean()) if both.any() else float("nan")
