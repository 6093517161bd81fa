"""espeak-ng through ctypes, with the library and voices the `espeakng-loader` wheel ships.

Why ctypes and not a subprocess: one process-wide engine synthesizes an utterance in a few
milliseconds; a process per utterance would cost ten times that and need an apt package.
espeak-ng keeps global state (voice, parameters, callback), so every synthesis holds one lock and
the engine is initialised once per process (re-initialised after a fork, keyed by pid).

Determinism. Out of the box espeak-ng is not a pure function of (text, voice): its pitch "flutter"
table index and its "roughness" cycle counter are static variables that carry over from one
utterance to the next, and breath noise draws from libc `rand()`. So the engine runs on a private
copy of the data folder (symlinks to the wheel's files) whose voice variants append `flutter 0`
and `roughness 8` (8 = no roughness modulation), re-selects the voice (which resets the echo
buffer) and reseeds both random generators before every utterance. Then the same call gives the
same samples in any order, in any process.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass

import numpy as np

OUTPUT_SAMPLE_RATE = 16_000

# espeak_AUDIO_OUTPUT / espeak_PARAMETER / flags, from speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE = 1, 2, 3, 4
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EE_OK = 0

# int (*t_espeak_callback)(short *wav, int numsamples, espeak_EVENT *events)
# Appended to every voice variant: no state carried between utterances (see module docstring).
_DETERMINISTIC_VARIANT_LINES = "\nflutter 0\nroughness 8\n"
_NOISE_SEED = 20_240_601
_BUFFER_MS = 1000  # samples handed to the callback per call: fewer, larger callbacks

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

# Limits espeak-ng accepts (speak_lib.h): rate in words/min, the rest 0..100 (volume 0..200).
RATE_LIMITS = (80, 450)
PITCH_LIMITS = (0, 100)
RANGE_LIMITS = (0, 100)
VOLUME_LIMITS = (0, 200)


@dataclass(frozen=True)
class VoiceSettings:
    """One utterance's voice: an English voice variant plus the four prosodic controls."""

    variant: str   # espeak voice variant name, e.g. "f3", "m1" (voices/!v in the data folder)
    pitch: int     # base pitch, 0..100 (50 = the variant's default)
    range: int     # pitch range, 0..100 (0 = monotone)
    rate: int      # words per minute, 80..450
    volume: int    # amplitude, 0..200 (100 = default)
    language: str = "en"


class _Engine:
    """The process-wide espeak-ng engine; use `synthesize`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._lib: ctypes.CDLL | None = None
        self._native_rate = 0
        self._chunks: list[bytes] = []
        # Keep the ctypes callback object alive as long as the engine.
        self._callback = _SYNTH_CALLBACK(self._on_samples)

    def _on_samples(self, wav, numsamples, events) -> int:
        if numsamples > 0 and wav:
            self._chunks.append(ctypes.string_at(wav, 2 * numsamples))
        return 0  # 0 = continue synthesis

    def _ensure_initialised(self) -> None:
        if self._pid == os.getpid():
            return
        try:
            import espeakng_loader
        except ImportError as e:  # pragma: no cover - dependency of the package
            raise RuntimeError("espeakng-loader is not installed: `pip install espeakng-loader`") from e
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data_dir = _deterministic_data_dir(espeakng_loader.get_data_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed.restype = ctypes.c_int
        data_path = data_dir.encode()
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, data_path, 0)
        if rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed (returned {rate}) with data path {data_path!r}")
        lib.espeak_SetSynthCallback(self._callback)
        self._lib, self._native_rate, self._pid = lib, rate, os.getpid()
        self._libc = ctypes.CDLL(None)

    def native_sample_rate(self) -> int:
        with self._lock:
            self._ensure_initialised()
            return self._native_rate

    def synthesize_native(self, text: str, voice: VoiceSettings) -> tuple[np.ndarray, int]:
        """int16 samples at espeak's own rate (22050 Hz), and that rate."""
        with self._lock:
            self._ensure_initialised()
            lib = self._lib
            name = f"{voice.language}+{voice.variant}"
            # Re-selecting the voice every time resets espeak's echo buffer.
            if lib.espeak_SetVoiceByName(name.encode()) != _EE_OK:
                raise ValueError(f"espeak-ng has no voice {name!r}: use a variant from voices/!v "
                                 f"(e.g. m1..m7, f1..f5) with a language it ships (e.g. 'en')")
            lib.espeak_ng_SetRandSeed(_NOISE_SEED)
            self._libc.srand(_NOISE_SEED)
            for param, value, (lo, hi) in ((_PARAM_RATE, voice.rate, RATE_LIMITS),
                                           (_PARAM_VOLUME, voice.volume, VOLUME_LIMITS),
                                           (_PARAM_PITCH, voice.pitch, PITCH_LIMITS),
                                           (_PARAM_RANGE, voice.range, RANGE_LIMITS)):
                lib.espeak_SetParameter(param, int(min(max(value, lo), hi)), 0)
            encoded = text.encode("utf-8") + b"\0"
            self._chunks = []
            err = lib.espeak_Synth(encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            if err != _EE_OK:
                raise RuntimeError(f"espeak_Synth failed with error {err} for text {text!r}")
            lib.espeak_Synchronize()
            chunks, self._chunks = self._chunks, []
        samples = np.frombuffer(b"".join(chunks), dtype=np.int16)
        return samples, self._native_rate


def _deterministic_data_dir(wheel_data: str) -> str:
    """An espeak-ng-data folder of symlinks to the wheel's files with patched voice variants.

    Built once per (wheel folder, patch) under the temp folder and shared by every process: it is
    assembled in a private folder and renamed into place atomically, so concurrent builders agree.
    """
    key = hashlib.sha1(f"{os.path.realpath(wheel_data)}|{_DETERMINISTIC_VARIANT_LINES}".encode()).hexdigest()[:12]
    root = os.path.join(tempfile.gettempdir(), f"semiemo-espeak-{key}")
    data = os.path.join(root, "espeak-ng-data")
    if os.path.isdir(data):
        return data
    staging = tempfile.mkdtemp(prefix=f"semiemo-espeak-{key}-", dir=tempfile.gettempdir())
    staged = os.path.join(staging, "espeak-ng-data")
    os.mkdir(staged)
    for entry in os.listdir(wheel_data):
        if entry != "voices":
            os.symlink(os.path.join(wheel_data, entry), os.path.join(staged, entry))
    src_voices = os.path.join(wheel_data, "voices")
    for dirpath, _dirs, files in os.walk(src_voices):
        out_dir = os.path.join(staged, "voices", os.path.relpath(dirpath, src_voices))
        os.makedirs(out_dir, exist_ok=True)
        for f in files:
            with open(os.path.join(dirpath, f), encoding="utf-8", errors="surrogateescape") as fh:
                text = fh.read()
            with open(os.path.join(out_dir, f), "w", encoding="utf-8", errors="surrogateescape") as fh:
                fh.write(text + _DETERMINISTIC_VARIANT_LINES)
    try:
        os.rename(staging, root)
    except OSError:  # another process finished first: use its copy
        shutil.rmtree(staging, ignore_errors=True)
    return data


_ENGINE = _Engine()


def synthesize(text: str, voice: VoiceSettings, sample_rate: int = OUTPUT_SAMPLE_RATE) -> np.ndarray:
    """Speak `text` with `voice`; mono float32 in [-1, 1] at `sample_rate` (default 16 kHz)."""
    import soxr

    samples, native_rate = _ENGINE.synthesize_native(text, voice)
    audio = samples.astype(np.float32) / 32768.0
    if native_rate != sample_rate and audio.size:
        audio = soxr.resample(audio, native_rate, sample_rate).astype(np.float32, copy=False)
    return audio
