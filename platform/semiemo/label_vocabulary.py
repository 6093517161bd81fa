"""One emotion vocabulary across corpora, with each corpus' names mapped onto it (as EmoBox does).

Cross-corpus work breaks silently when one corpus says `angry/happy/sad` and another
`anger/happiness/sadness`: a pool's hidden labels then match the target's classes on a few classes
only, and the pseudo-label-accuracy diagnostic is scored on those. EmoBox (Ma et al., 2024) fixes this
for its 32-corpus benchmark with one label set and a per-corpus map; semiemo does the same:
`CANONICAL_EMOTIONS` are the platform's noun class names (what the CASIA, IEMOCAP and synthetic
adapters already produce), `CORPUS_MAPS` hold the codes of common corpora, and `COMMON_ALIASES`
the adjective/short forms every corpus uses. A name that is already canonical maps to itself, so the
default map (`canonical`) changes nothing on a corpus that speaks the vocabulary.

`label_map` (ExperimentConfig, `--label-map`) is `canonical` (default), `none`, a corpus name from
`CORPUS_MAPS`, `code:label;code:label`, or a dict. A dict (a task map such as emotion → sentiment) is
applied on top of the canonical names: a raw name the dict lists wins, any other name is made canonical
first and then looked up again, so `{anger: negative}` also maps `angry` and `ang`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import pandas as pd

CANONICAL_EMOTIONS: tuple[str, ...] = (
    "anger", "boredom", "calm", "contempt", "disgust", "excitement", "fear", "frustration", "happiness",
    "neutral", "sadness", "surprise", "other",
)

# adjectives, verbs and the short tags many corpora use (lower-cased lookup)
COMMON_ALIASES: dict[str, str] = {
    "angry": "anger", "ang": "anger", "mad": "anger", "annoyed": "anger",
    "bored": "boredom", "bor": "boredom",
    "cal": "calm",
    "con": "contempt", "contemptuous": "contempt",
    "disgusted": "disgust", "dis": "disgust",
    "excited": "excitement", "exc": "excitement",
    "fearful": "fear", "fea": "fear", "afraid": "fear", "scared": "fear",
    "frustrated": "frustration", "fru": "frustration",
    "happy": "happiness", "hap": "happiness", "joy": "happiness", "joyful": "happiness", "pleasant": "happiness",
    "neu": "neutral",
    "sad": "sadness", "unhappy": "sadness",
    "surprised": "surprise", "sur": "surprise", "ps": "surprise", "pleasant_surprise": "surprise",
    "oth": "other", "xxx": "other",
}

# corpus codes (EmoBox's per-corpus label maps, onto semiemo's names); keys as the corpus writes them
CORPUS_MAPS: dict[str, dict[str, str]] = {
    "casia": {"angry": "anger", "fear": "fear", "happy": "happiness", "neutral": "neutral", "sad": "sadness",
              "surprise": "surprise"},
    # IEMOCAP 4-class: excitement merged into happiness (papers 000/001/004, EmoBox)
    "iemocap": {"ang": "anger", "hap": "happiness", "exc": "happiness", "excited": "happiness",
                "excitement": "happiness", "sad": "sadness", "neu": "neutral", "fru": "frustration",
                "sur": "surprise", "fea": "fear", "dis": "disgust", "oth": "other", "xxx": "other"},
    "emodb": {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness", "T": "sadness",
              "N": "neutral"},
    "ravdess": {"01": "neutral", "02": "calm", "03": "happiness", "04": "sadness", "05": "anger", "06": "fear",
                "07": "disgust", "08": "surprise"},
    "crema-d": {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happiness", "NEU": "neutral", "SAD": "sadness"},
    "savee": {"a": "anger", "d": "disgust", "f": "fear", "h": "happiness", "n": "neutral", "sa": "sadness",
              "su": "surprise"},
    "tess": {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness", "neutral": "neutral",
             "ps": "surprise", "sad": "sadness"},
    "meld": {"anger": "anger", "disgust": "disgust", "fear": "fear", "joy": "happiness", "neutral": "neutral",
             "sadness": "sadness", "surprise": "surprise"},
}


def canonical_name(name: str) -> str:
    """`name` in the canonical vocabulary when some alias says so, else unchanged."""
    key = str(name).strip()
    low = key.lower()
    if low in CANONICAL_EMOTIONS:
        return low
    return COMMON_ALIASES.get(low, key)


def check_label_map(spec: object) -> object:
    """Validate a `label_map` value (config edge); returns it unchanged, or a clear error."""
    if spec is None or isinstance(spec, Mapping):
        return spec
    if isinstance(spec, str):
        label_mapper(spec)
        return spec
    raise ValueError(f"label_map must be a name ({_names()}), 'code:label;code:label' or a mapping; got {spec!r}")


def label_mapper(spec: object):
    """A function raw name → class name for a `label_map` value (see the module docstring)."""
    if spec is None or spec == "none":
        return lambda name: name
    if isinstance(spec, str):
        if spec == "canonical":
            return canonical_name
        if spec in CORPUS_MAPS:
            corpus = CORPUS_MAPS[spec]
            return lambda name: corpus.get(str(name), canonical_name(name))
        if ":" in spec:
            from semiemo.corpora import parse_label_map

            spec = parse_label_map(spec)
        else:
            raise ValueError(f"unknown label_map {spec!r}; use one of {_names()}, 'code:label;code:label' or a mapping")
    table = dict(spec)  # type: ignore[arg-type]

    def mapped(name):
        if name in table:
            return table[name]
        canon = canonical_name(name)
        return table.get(canon, canon)

    return mapped


def apply_label_map(labels: Iterable, spec: object) -> list:
    """Rename every present name through `spec`; missing values (None/NaN) stay missing."""
    fn = label_mapper(spec)
    return [name if name is None or (isinstance(name, float) and pd.isna(name)) else fn(name) for name in labels]


def unmapped_labels(labels: Iterable, classes: Iterable[str]) -> Counter:
    """Counts of present names that are not among `classes` (after mapping): what a pool cannot be scored on."""
    known = set(classes)
    return Counter(str(v) for v in labels if v is not None and not (isinstance(v, float) and pd.isna(v)) and v not in known)


def _names() -> str:
    return ", ".join(["canonical", "none", *CORPUS_MAPS])
