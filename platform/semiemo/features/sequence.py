"""Fixed-length frame sequences: every sequence featurizer stores [T, d] plus the valid length.

The store holds rectangular arrays, so a variable-length sequence is padded (zeros) or trimmed
to T frames; `length` says how many leading (or trailing, with pad_side="start") frames are real.
"""

from __future__ import annotations

import numpy as np


def pad_or_trim(frames: np.ndarray, max_frames: int, pad_side: str = "end", pad_value: float = 0.0) -> tuple[np.ndarray, int]:
    """[n, ...] -> ([max_frames, ...] float32, valid length); keeps the first max_frames frames.

    pad_side="end" puts padding after the frames (mask = arange(T) < length);
    pad_side="start" is paper 003's head padding (mask = arange(T) >= T - length).
    """
    if pad_side not in ("end", "start"):
        raise ValueError(f"pad_side must be 'end' or 'start', got {pad_side!r}")
    frames = np.asarray(frames, dtype=np.float32)
    n = min(len(frames), max_frames)
    out = np.full((max_frames, *frames.shape[1:]), pad_value, dtype=np.float32)
    if pad_side == "end":
        out[:n] = frames[:n]
    elif n:
        out[max_frames - n:] = frames[:n]
    return out, n
