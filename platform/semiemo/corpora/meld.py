"""MELD (Friends TV dialogues) → manifest, keeping the official train/dev/test split in `split`.

    <root>/train_sent_emo.csv, dev_sent_emo.csv, test_sent_emo.csv
        Sr No., Utterance, Speaker, Emotion, Sentiment, Dialogue_ID, Utterance_ID, Season, Episode, StartTime, EndTime
    <root>/train_splits/dia{D}_utt{U}.mp4, dev_splits_complete/..., output_repeated_splits_test/...

Audio is looked up as .wav first (extracted tracks), then .mp4 (the release), in the release's
folder names or plain train/dev/test. Dialogue ids restart per split, so utt_id includes the
split. A row whose media file is absent keeps the release's expected path and validation names it.
TV acting, many speakers, uneven classes: domain = "wild".
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

MELD_EMOTIONS: tuple[str, ...] = ("neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear")

SPLIT_FILES: dict[str, str] = {"train": "train_sent_emo.csv", "dev": "dev_sent_emo.csv", "test": "test_sent_emo.csv"}

MEDIA_DIRS: dict[str, tuple[str, ...]] = {
    "train": ("train_splits", "train", "train_wav"),
    "dev": ("dev_splits_complete", "dev_splits", "dev", "dev_wav"),
    "test": ("output_repeated_splits_test", "test_splits", "test", "test_wav"),
}

MEDIA_EXTENSIONS: tuple[str, ...] = (".wav", ".mp4")

REQUIRED_CSV_COLUMNS = ("Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, encoding="utf-8")
    except UnicodeDecodeError:
        return pd.read_csv(path, encoding="cp1252")  # some redistributions re-save the CSVs in Windows-1252


def _media_path(root: Path, split: str, name: str) -> str:
    dirs = [root / d for d in MEDIA_DIRS[split]]
    for d in dirs:
        for ext in MEDIA_EXTENSIONS:
            p = d / f"{name}{ext}"
            if p.exists():
                return str(p)
    existing = next((d for d in dirs if d.is_dir()), dirs[0])
    return str(existing / f"{name}.mp4")


def read_meld(root: str | os.PathLike) -> pd.DataFrame:
    """All utterances of the splits whose CSV is present under `root` (train, dev, test order)."""
    root = Path(root).resolve()
    frames = []
    for split, fname in SPLIT_FILES.items():
        csv = root / fname
        if not csv.exists():
            continue
        raw = _read_csv(csv)
        missing = [c for c in REQUIRED_CSV_COLUMNS if c not in raw.columns]
        if missing:
            raise ValueError(f"{csv}: missing MELD column(s) {missing}; found {list(raw.columns)}")
        names = "dia" + raw["Dialogue_ID"].astype(str) + "_utt" + raw["Utterance_ID"].astype(str)
        df = pd.DataFrame({
            "utt_id": f"meld_{split}_" + names,
            "corpus": "meld",
            "split_group": raw["Speaker"].astype(str),
            "speaker": raw["Speaker"].astype(str),
            "domain": "wild",
            "labeled": raw["Emotion"].notna(),
            "label": raw["Emotion"].str.strip().str.lower(),
            "sentiment": raw["Sentiment"].str.strip().str.lower(),
            "text": raw["Utterance"],
            "split": split,
            "dialogue_id": raw["Dialogue_ID"].astype(int),
            "utterance_id": raw["Utterance_ID"].astype(int),
            "path": [_media_path(root, split, n) for n in names],
        })
        for src, dst in (("Season", "season"), ("Episode", "episode"), ("StartTime", "start_time"), ("EndTime", "end_time")):
            if src in raw.columns:
                df[dst] = raw[src]
        frames.append(df)
    if not frames:
        raise FileNotFoundError(f"{root}: none of {list(SPLIT_FILES.values())} found (expected the MELD release CSVs)")
    return pd.concat(frames, ignore_index=True)
