"""Labels that look like a misspelling of another label of the same manifest (`hapiness` beside
`happiness`): refused, since training would otherwise learn a class of its own from them.

A manifest carries no declared label set unless one is given (`corpora validate --labels`); the
corpus's label set is then what its labels say, and a rare label that is nearly the same word as a
more frequent one (difflib ratio >= 0.85, or the same word in other case/spacing) is taken for a typo.
"""

from __future__ import annotations

import difflib
from collections import Counter
from typing import Callable

import numpy as np
import pandas as pd

from semiemo.corpora.problem import Problem

SIMILARITY = 0.85


def _norm(label: str) -> str:
    return "".join(ch for ch in label.lower() if ch.isalnum())


def suspected_typos(labels: pd.Series) -> dict[str, str]:
    """{rare label: the frequent label it looks like} among the non-missing values of `labels`."""
    counts = Counter(str(v) for v in labels.dropna())
    out: dict[str, str] = {}
    for label, n in counts.items():
        rivals = [m for m, k in counts.items() if m != label and k > n]
        same = [m for m in rivals if _norm(m) == _norm(label)]
        close = same or difflib.get_close_matches(label, rivals, n=1, cutoff=SIMILARITY)
        if close:
            out[label] = max(close, key=lambda m: counts[m])
    return out


def misspelled_labels(df: pd.DataFrame, uid: Callable[[int], str | None]) -> list[Problem]:
    """One Problem per row whose label is a suspected typo, naming the label it looks like and the fix."""
    if "label" not in df.columns:
        return []
    typos = suspected_typos(df["label"])
    if not typos:
        return []
    labels = df["label"].astype(object)
    counts = Counter(str(v) for v in labels.dropna())
    label_set = ", ".join(sorted(set(counts) - set(typos)))
    out = []
    for i in np.flatnonzero(labels.isin(list(typos)).to_numpy()):
        bad = str(labels.iat[i])
        good = typos[bad]
        out.append(Problem(int(i), uid(int(i)), "label",
                           f"label {bad!r} is outside the corpus's label set {{{label_set}}}; it looks like {good!r} "
                           f"({counts[bad]} row(s) say {bad!r}, {counts[good]} say {good!r})",
                           f"correct it to {good!r} in the manifest (or, if {bad!r} is a class of its own, declare the "
                           f"label set with `semiemo corpora validate --labels`)", "unknown_label"))
    return out


def refuse_misspelled_labels(df: pd.DataFrame, source: str) -> None:
    """Raise ValueError naming the first bad row, the count and the fix, before any training."""
    ids = df["utt_id"].astype(object).to_numpy() if "utt_id" in df.columns else None
    problems = misspelled_labels(df.reset_index(drop=True), lambda i: None if ids is None else str(ids[i]))
    if problems:
        more = f" ({len(problems) - 1} more row(s) like it; `semiemo corpora validate {source}` lists them)" \
            if len(problems) > 1 else ""
        raise ValueError(f"{source}: {problems[0]}{more}")
