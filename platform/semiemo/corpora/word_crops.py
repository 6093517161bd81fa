"""Paper 001's unlabeled sampling: fixed-width clips cut from long recordings, centred on the middle of
three consecutive transcript words (so a clip is never silence), e.g. 7.2 s for IEMOCAP, 3.5 s for MELD.

Input: a manifest whose rows are long recordings with audio and a word alignment — `words`
(JSON `[[start_s, end_s, word], ...]`) or, failing that, `syllables` (CASIA's `.lab`; 'SIL' skipped).
A visual track is cut with the same window when the row has one and its frame rate is known
(`face_features`/`fer_probs` list columns or a `visual_path` .npy, at `visual_fps`); a clip without
one keeps no visual columns, and the cmdm pipeline filters and counts it like any faceless clip.

Output: a manifest of clips (audio written as 16 kHz WAV beside it), unlabeled, `domain` wild, with
`source_utt`, `crop_start_s`, `crop_end_s` and the words inside the clip as `text`. A recording that
cannot be cut (no alignment, fewer than 3 words, unreadable audio) goes to the errors table with the
reason; the rest go on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SILENCE = {"sil", "sp", "<sil>", ""}
WINDOW_WORDS = 3


@dataclass(frozen=True)
class Crop:
    start_s: float
    end_s: float
    centre_s: float
    words: tuple[str, ...]       # words overlapping the clip


def word_alignment(row: dict[str, Any]) -> list[tuple[float, float, str]]:
    """[(start_s, end_s, word)] from `words` or `syllables`, silence dropped; [] when the row has none."""
    for col in ("words", "syllables"):
        raw = row.get(col)
        if raw is None or (isinstance(raw, float) and np.isnan(raw)):
            continue
        items = json.loads(raw) if isinstance(raw, str) else raw
        out = [(float(s), float(e), str(w)) for s, e, w in items if str(w).strip().lower() not in SILENCE]
        return sorted(out)
    return []


def plan_crop(words: list[tuple[float, float, str]], duration_s: float, width_s: float,
              rng: np.random.Generator) -> Crop:
    """One clip: 3 consecutive words at random, the clip centred on the middle one, kept inside the recording."""
    if len(words) < WINDOW_WORDS:
        raise ValueError(f"{len(words)} aligned words; a crop needs {WINDOW_WORDS} consecutive ones")
    i = int(rng.integers(0, len(words) - WINDOW_WORDS + 1))
    mid_start, mid_end, _ = words[i + 1]
    centre = (mid_start + mid_end) / 2
    width = min(width_s, duration_s)
    start = float(np.clip(centre - width / 2, 0.0, max(0.0, duration_s - width)))
    end = start + width
    inside = tuple(w for s, e, w in words if e > start and s < end)
    return Crop(start, end, centre, inside)


def _visual_slice(row: dict[str, Any], crop: Crop, fps: float | None, base: Path) -> dict[str, Any]:
    if not fps:
        return {}
    out: dict[str, Any] = {}
    lo, hi = int(np.floor(crop.start_s * fps)), int(np.ceil(crop.end_s * fps))
    for col in ("face_features", "fer_probs"):
        v = row.get(col)
        if v is not None and not (isinstance(v, float) and np.isnan(v)):
            frames = np.asarray([np.asarray(f, dtype=np.float32) for f in v])
            if len(frames[lo:hi]):
                out[col] = frames[lo:hi]
    path = row.get("visual_path")
    if isinstance(path, str) and path:
        full = Path(path) if Path(path).is_absolute() else base / path
        frames = np.load(full)
        if len(frames[lo:hi]):
            out["_visual"] = frames[lo:hi]
    return out


def crop_corpus(manifest: pd.DataFrame, out_dir: str | Path, *, width_s: float, crops_per_recording: int = 1,
                seed: int = 0, visual_fps: float | None = None, base_dir: str | Path | None = None,
                corpus_name: str = "word_crops") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cut `crops_per_recording` clips from every row; (clips manifest, errors table). Writes WAVs under out_dir/audio."""
    import soundfile as sf

    from semiemo.features.audio_io import SAMPLE_RATE, AudioOptions, load_row_audio

    if width_s <= 0:
        raise ValueError(f"width_s must be > 0 (paper 001: 7.2 for IEMOCAP, 3.5 for MELD), got {width_s}")
    out = Path(out_dir)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    base = Path(base_dir) if base_dir else Path(".")
    rng = np.random.default_rng(seed)
    clips, errors = [], []
    for row in manifest.to_dict("records"):
        uid = row.get("utt_id")
        words = word_alignment(row)
        if len(words) < WINDOW_WORDS:
            errors.append({"utt_id": uid, "error": f"{len(words)} aligned words (need {WINDOW_WORDS}): give a "
                           "`words` column [[start_s, end_s, word], ...] (or `syllables`)"})
            continue
        try:
            audio = load_row_audio(row, AudioOptions(base_dir=str(base))).samples
        except Exception as e:  # unreadable audio: one row's problem
            errors.append({"utt_id": uid, "error": f"audio: {e}"})
            continue
        duration = len(audio) / SAMPLE_RATE
        for k in range(crops_per_recording):
            crop = plan_crop(words, duration, width_s, rng)
            clip_id = f"{uid}__crop{k}"
            wav = out / "audio" / f"{clip_id}.wav"
            sf.write(wav, audio[int(crop.start_s * SAMPLE_RATE):int(crop.end_s * SAMPLE_RATE)], SAMPLE_RATE)
            visual = _visual_slice(row, crop, visual_fps, base)
            rec = {"utt_id": clip_id, "corpus": corpus_name, "split_group": row.get("split_group", row.get("speaker")),
                   "speaker": row.get("speaker"), "domain": "wild", "labeled": False, "label": None,
                   "path": str(wav.relative_to(out)), "text": " ".join(crop.words),
                   "duration": crop.end_s - crop.start_s, "source_utt": uid,
                   "crop_start_s": crop.start_s, "crop_end_s": crop.end_s}
            for col in ("gender", "session", "oracle_label"):
                if col in row:
                    rec[col] = row[col]
            if "_visual" in visual:
                npy = out / "visual" / f"{clip_id}.npy"
                npy.parent.mkdir(exist_ok=True)
                np.save(npy, visual.pop("_visual"))
                rec["visual_path"] = str(npy.relative_to(out))
            rec.update({k: [list(map(float, f)) for f in v] for k, v in visual.items()})
            clips.append(rec)
    return pd.DataFrame(clips), pd.DataFrame(errors, columns=["utt_id", "error"])
