"""What makes an audio file unusable, named once for the two places that look: `corpora validate`,
which probes every file's header up front (`probe_audio_header`, no samples decoded), and the
feature pipeline, which reads the audio (`features.audio_io`) and tables each unusable row.

Both raise or return `AudioError` with a stable reason key, so a file refused at validation and a row
refused at featurize time are counted under the same name. It sits in `corpora/` because validation
must not import the feature stack.
"""

from __future__ import annotations

import os

# Reason keys of unrecoverable rows (the `reason` column of the errors table).
MISSING_FILE = "missing_file"
EMPTY_FILE = "empty_file"
CORRUPT_FILE = "corrupt_file"
ZERO_LENGTH = "zero_length"
TOO_SHORT = "too_short"
ALL_NONFINITE = "all_nonfinite"
NO_AUDIO_SOURCE = "no_audio_source"
SYNTH_FAILED = "synth_failed"


class AudioError(Exception):
    """A row whose audio cannot be used; `reason` is a stable key, the message says what and how to fix."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


# What libsndfile reads itself: a header it rejects is a broken file. Other formats (mp3, m4a) are
# decoded through librosa/audioread by `features.audio_io.read_audio_file`; their headers are not probed.
_PROBED_SUFFIXES = (".wav", ".wave", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".au", ".snd", ".w64", ".caf")


def probe_audio_header(path: str) -> AudioError | None:
    """Cheap check of one existing file: its size and its header (no samples decoded).

    Catches what `features.audio_io.read_audio_file` would refuse at featurize time — 0 bytes, a
    header libsndfile cannot parse, or a header that declares no frames — for `corpora validate` to
    list up front."""
    try:
        size = os.path.getsize(path)
    except OSError as e:
        return AudioError(MISSING_FILE, f"audio file cannot be read: {path}: {e.strerror}")
    if size == 0:
        return AudioError(EMPTY_FILE, f"audio file is empty (0 bytes): {path}")
    if not path.lower().endswith(_PROBED_SUFFIXES):
        return None
    import soundfile as sf

    try:
        info = sf.info(path)
    except Exception as e:  # noqa: BLE001 - libsndfile raises several types for bad headers
        return AudioError(CORRUPT_FILE, f"unreadable audio header in {path}: {str(e).strip().splitlines()[0][:120]}")
    if info.frames == 0:
        return AudioError(ZERO_LENGTH, f"audio file holds no samples (header says 0 frames): {path}")
    return None
