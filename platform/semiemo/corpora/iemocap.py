"""IEMOCAP (standard release layout) → manifest.

    SessionN/dialog/EmoEvaluation/<dialog>.txt     `[start - end]\\tUTT\\tLABEL\\t[V, A, D]` + `C-E1:\\tAnger;\\t()` votes
    SessionN/dialog/transcriptions/<dialog>.txt    `UTT [start-end]: text`
    SessionN/sentences/wav/<dialog>/<UTT>.wav

The speaker of `Ses01F_impro01_M003` is `Ses01M` (session + the gender letter of the last part);
the dialog part (`Ses01F_`) only says who wore the markers. Protocols: leave-one-session-out
needs `session` (the default split_group), speaker-independent ones need `speaker` — both are kept.
Rows whose evaluators reached no majority (`xxx`) stay in as unlabeled data (labeled=False).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

# Evaluator category names (C-*: lines) → the label codes used on the summary line.
CATEGORY_CODES: dict[str, str] = {
    "neutral": "neu", "neutral state": "neu", "frustration": "fru", "anger": "ang", "sadness": "sad",
    "happiness": "hap", "excited": "exc", "excitement": "exc", "surprise": "sur", "fear": "fea",
    "disgust": "dis", "other": "oth",
}

NO_AGREEMENT = "xxx"

# The standard 4-class set (5,531 utterances on the real corpus): excitement merged into happiness.
FOUR_CLASS_MAP: dict[str, str] = {"neu": "neu", "hap": "hap", "exc": "hap", "ang": "ang", "sad": "sad"}

_SUMMARY = re.compile(
    r"^\[(?P<start>[\d.]+)\s*-\s*(?P<end>[\d.]+)\]\s+(?P<utt>Ses\w+)\s+(?P<label>\w+)\s+"
    r"\[(?P<v>[\d.]+),\s*(?P<a>[\d.]+),\s*(?P<d>[\d.]+)\]\s*$")
_VOTE = re.compile(r"^(?P<annotator>C-[\w]+):\s*(?P<cats>[^\t(]*?)\s*(?:\((?P<comment>.*)\))?\s*$")
_TRANSCRIPT = re.compile(r"^(?P<utt>Ses\w+)\s+\[[\d.]+-[\d.]+\]:\s*(?P<text>.*)$")


def _category_code(name: str) -> str:
    name = name.strip()
    base = name.split(":", 1)[0].strip().lower()  # "Other:nervous" → other
    return CATEGORY_CODES.get(base, base)


def parse_emo_evaluation(path: str | os.PathLike) -> list[dict]:
    """One dict per utterance: utt_id, start, end, label, valence/arousal/dominance, votes, annotators."""
    rows: list[dict] = []
    current: dict | None = None
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8", errors="strict").splitlines(), 1):
        if not line.strip() or line.startswith("%"):
            continue
        m = _SUMMARY.match(line.strip())
        if m:
            current = {
                "utt_id": m["utt"], "start": float(m["start"]), "end": float(m["end"]),
                "emotion_code": m["label"],
                "valence": float(m["v"]), "arousal": float(m["a"]), "dominance": float(m["d"]),
                "votes": [], "annotators": [],
            }
            rows.append(current)
            continue
        v = _VOTE.match(line.strip())
        if v and current is not None:
            for cat in filter(None, (c.strip() for c in v["cats"].split(";"))):
                current["votes"].append(_category_code(cat))
                current["annotators"].append(v["annotator"])
            continue
        if line.startswith(("A-", "C-")) and current is not None:
            continue  # dimensional evaluations per annotator (A-E3: val 3; act 2; dom 2;)
        raise ValueError(f"{path}:{lineno}: not an IEMOCAP EmoEvaluation line: {line!r}")
    return rows


def parse_transcription(path: str | os.PathLike) -> dict[str, str]:
    """utt_id → text; lines for unsegmented speech (`Ses01F_impro01_MXX0`, `M: [BREATHING]`) are skipped."""
    texts: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        m = _TRANSCRIPT.match(line.strip())
        if m:
            texts[m["utt"]] = m["text"].strip()
    return texts


def read_iemocap(root: str | os.PathLike, split_group: str = "session") -> pd.DataFrame:
    """All evaluated utterances of Session1..5 under `root` (`split_group`: 'session' or 'speaker')."""
    if split_group not in ("session", "speaker"):
        raise ValueError(f"split_group must be 'session' or 'speaker', got {split_group!r}")
    root = Path(root).resolve()
    sessions = sorted(p for p in root.glob("Session*") if p.is_dir())
    if not sessions:
        raise FileNotFoundError(f"{root}: no Session1..Session5 folders (expected the IEMOCAP release layout "
                                "SessionN/dialog/EmoEvaluation/*.txt)")
    rows = []
    for sess in sessions:
        for evaluation in sorted((sess / "dialog" / "EmoEvaluation").glob("Ses*.txt")):
            dialog = evaluation.stem
            trans_file = sess / "dialog" / "transcriptions" / f"{dialog}.txt"
            texts = parse_transcription(trans_file) if trans_file.exists() else {}
            for r in parse_emo_evaluation(evaluation):
                utt = r["utt_id"]
                session = utt[:5]
                gender_letter = utt.rsplit("_", 1)[-1][0]
                code = r.pop("emotion_code")
                labeled = code != NO_AGREEMENT
                rows.append({
                    **r,
                    "corpus": "iemocap",
                    "session": session,
                    "speaker": session + gender_letter,
                    "gender": {"F": "female", "M": "male"}.get(gender_letter),
                    "dialog": dialog,
                    "style": "improvised" if "_impro" in dialog else "scripted",
                    "domain": "acted",
                    "label": code if labeled else None,
                    "labeled": labeled,
                    "text": texts.get(utt),
                    "duration": r["end"] - r["start"],
                    "path": str(sess / "sentences" / "wav" / dialog / f"{utt}.wav"),
                })
    df = pd.DataFrame(rows)
    df["split_group"] = df[split_group]
    front = ["utt_id", "corpus", "split_group", "speaker", "domain", "labeled", "label", "path", "text"]
    return df[front + [c for c in df.columns if c not in front]]


def iemocap_four_class(df: pd.DataFrame) -> pd.DataFrame:
    """The standard 4-class subset (neu, hap+exc, ang, sad): other rows dropped, `exc` relabelled `hap`."""
    keep = df["label"].isin(list(FOUR_CLASS_MAP))
    out = df[keep].copy()
    out["label"] = out["label"].map(FOUR_CLASS_MAP)
    return out.reset_index(drop=True)
