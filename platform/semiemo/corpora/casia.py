"""CASIA Chinese emotional speech (public 1,200-utterance subset) → manifest.

Layout: `<root>/<speaker>/<emotion>/<id>.wav` (+ `<id>.lab` beside most), texts in
`texts_201-250.gb18030.txt`. The same 50 sentences are spoken in every speaker x emotion cell,
so `text` exercises the lexical pipeline without carrying the label. Acted speech: report
leave-one-speaker-out, hence split_group = speaker.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd
import soundfile as sf

CASIA_EMOTIONS: tuple[str, ...] = ("angry", "fear", "happy", "neutral", "sad", "surprise")

CASIA_GENDER: dict[str, str] = {
    "ZhaoZuoxiang": "male",
    "wangzhe": "male",
    "liuchanhg": "female",
    "zhaoquanyin": "female",
}

TEXTS_FILENAME = "texts_201-250.gb18030.txt"

HTK_UNITS_PER_SECOND = 10_000_000  # HTK label times are in units of 100 ns

SILENCE = "SIL"


def read_casia_texts(root: str | os.PathLike) -> dict[str, str]:
    """Text id ('201') → sentence, decoded from GB18030 (the file is not UTF-8)."""
    path = Path(root) / TEXTS_FILENAME
    texts: dict[str, str] = {}
    for lineno, line in enumerate(path.read_bytes().decode("gb18030").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        m = re.match(r"^(\d+)\s*[.．、]\s*(.*)$", line)
        if m is None:
            raise ValueError(f"{path}:{lineno}: expected '<id>. <sentence>', got {line!r}")
        texts[m.group(1)] = m.group(2).strip()
    return texts


def parse_lab(path: str | os.PathLike, drop_silence: bool = False) -> list[tuple[float, float, str]]:
    """HTK label file → [(start_s, end_s, syllable)], times in seconds.

    `SIL` marks silence (kept unless drop_silence). A few CASIA lines have a time span but no
    syllable; they are kept with syllable "" so the timeline stays complete.
    """
    segments: list[tuple[float, float, str]] = []
    for lineno, line in enumerate(Path(path).read_text(encoding="ascii").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) not in (2, 3):
            raise ValueError(f"{path}:{lineno}: expected 'start end syllable' in HTK 100 ns units, got {line!r}")
        start, end = int(parts[0]) / HTK_UNITS_PER_SECOND, int(parts[1]) / HTK_UNITS_PER_SECOND
        syllable = parts[2] if len(parts) == 3 else ""
        if drop_silence and syllable == SILENCE:
            continue
        segments.append((start, end, syllable))
    return segments


def read_casia(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """The CASIA manifest: one row per wav, sorted by speaker, emotion, id.

    `syllables` holds the `.lab` alignment as JSON `[[start_s, end_s, syllable], ...]` (SIL kept),
    or None for the wavs that have no `.lab`.
    """
    if root is None:
        from semiemo.paths import casia_root

        root = casia_root()
    root = Path(root).resolve()
    if not (root / TEXTS_FILENAME).exists():
        raise FileNotFoundError(f"{root} is not a CASIA folder: {TEXTS_FILENAME} is missing "
                                f"(expected <root>/<speaker>/<emotion>/<id>.wav and {TEXTS_FILENAME})")
    texts = read_casia_texts(root)
    rows = []
    for wav in sorted(root.glob("*/*/*.wav")):
        emotion, speaker, text_id = wav.parent.name, wav.parent.parent.name, wav.stem
        lab = wav.with_suffix(".lab")
        syllables = json.dumps(parse_lab(lab), ensure_ascii=False) if lab.exists() else None
        rows.append({
            "utt_id": f"casia_{speaker}_{emotion}_{text_id}",
            "corpus": "casia",
            "split_group": speaker,
            "speaker": speaker,
            "domain": "acted",
            "labeled": True,
            "path": str(wav),
            "label": emotion,
            "gender": CASIA_GENDER.get(speaker),
            "text": texts.get(text_id),
            "text_id": text_id,
            "syllables": syllables,
            "duration": sf.info(str(wav)).duration,
        })
    df = pd.DataFrame(rows)
    unknown = sorted(set(df["label"]) - set(CASIA_EMOTIONS)) if len(df) else []
    if unknown:
        raise ValueError(f"{root}: unexpected emotion folders {unknown}; CASIA has {list(CASIA_EMOTIONS)}")
    return df
