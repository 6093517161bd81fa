"""Featurizers by name: what `--features is10,fbank,text` and `load_featureset(..., features=[...])` resolve."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any, Callable

from semiemo.features.base import Featurizer
from semiemo.features.clusters import ClusterFeatures
from semiemo.features.lexical import TextEmbedding, TextTokens, WordStats
from semiemo.features.log_mel_stats import LogMelStats
from semiemo.features.opensmile_functionals import (
    IS09, IS09LLD, IS10, IS10LLD, ComParE16, ComParE16LLD, EGeMAPS, EGeMAPSLLD,
)
from semiemo.features.prosody import Prosody
from semiemo.features.social import Social
from semiemo.features.spectral import STFT, STFT512, AVSpectrogram, Fbank
from semiemo.features.ssl_speech import SSLSpeechFrames, SSLSpeechMean
from semiemo.features.visual import FER, Face

# name -> factory(config=None); every class takes its config dataclass (default: the paper's).
FEATURIZERS: dict[str, Callable[..., Featurizer]] = {
    cls.name: cls
    for cls in (
        IS09, IS10, ComParE16, EGeMAPS, IS09LLD, IS10LLD, ComParE16LLD, EGeMAPSLLD,
        Fbank, STFT, STFT512, AVSpectrogram, Prosody, LogMelStats,
        TextEmbedding, TextTokens, WordStats, Social, Face, FER, SSLSpeechFrames, SSLSpeechMean,
        ClusterFeatures,
    )
}


def available_featurizers() -> list[str]:
    return sorted(FEATURIZERS)


def make_featurizer(name: str, **overrides: Any) -> Featurizer:
    """A featurizer with its default config, some fields overridden: make_featurizer("fbank", max_frames=128)."""
    if name not in FEATURIZERS:
        raise KeyError(f"unknown featurizer {name!r}; available: {', '.join(available_featurizers())}")
    featurizer = FEATURIZERS[name]()
    if not overrides:
        return featurizer
    allowed = [f.name for f in fields(featurizer.config)]
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise TypeError(f"featurizer {name!r} has no config field {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    return FEATURIZERS[name](replace(featurizer.config, **overrides))
