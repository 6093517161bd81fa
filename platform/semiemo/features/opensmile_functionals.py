"""openSMILE acoustic features: utterance functionals (IS09, IS10, ComParE 2016, eGeMAPS) or LLD frames.

Papers 000 and 001 use the 1,582 IS10 paralinguistic functionals. IS09/IS10 come from the config
files shipped inside the opensmile wheel (`core/config/is09-13/`), ComParE 2016 and eGeMAPS v02
from opensmile's named feature sets. The `*_lld` variants store the low-level-descriptor frame
sequence (10 ms hop) padded or trimmed to `max_frames`, with its valid `length`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import opensmile

from semiemo.features.base import SAMPLE_RATE, FieldSpec
from semiemo.features.sequence import pad_or_trim

SHIPPED_CONFIG_DIR = Path(opensmile.__file__).resolve().parent / "core" / "config"


@dataclass(frozen=True)
class OpenSmileSet:
    """Where an openSMILE feature set comes from and how wide its outputs are."""

    source: str | opensmile.FeatureSet  # a .conf path relative to SHIPPED_CONFIG_DIR, or a named set
    num_functionals: int
    num_llds: int

    def smile_feature_set(self) -> str | opensmile.FeatureSet:
        if isinstance(self.source, opensmile.FeatureSet):
            return self.source
        path = SHIPPED_CONFIG_DIR / self.source
        if not path.is_file():
            raise FileNotFoundError(
                f"openSMILE config {path} is missing; it ships in the opensmile wheel "
                f"(installed: {opensmile.__version__}) - reinstall `opensmile`"
            )
        return str(path)


FEATURE_SETS: dict[str, OpenSmileSet] = {
    "is09": OpenSmileSet("is09-13/IS09_emotion.conf", num_functionals=384, num_llds=16),
    "is10": OpenSmileSet("is09-13/IS10_paraling_compat.conf", num_functionals=1582, num_llds=38),
    "compare16": OpenSmileSet(opensmile.FeatureSet.ComParE_2016, num_functionals=6373, num_llds=65),
    "egemaps": OpenSmileSet(opensmile.FeatureSet.eGeMAPSv02, num_functionals=88, num_llds=25),
}


@dataclass(frozen=True)
class FunctionalsConfig:
    # The extractor version is part of the store key: an upgrade recomputes instead of mixing.
    opensmile_version: str = field(default=opensmile.__version__, metadata={"doc": "openSMILE python version"})


@dataclass(frozen=True)
class LLDConfig:
    max_frames: int = field(default=500, metadata={"doc": "T: frames kept (10 ms hop, so 5 s)"})
    pad_side: str = field(default="end", metadata={"doc": "'end' or 'start' (head padding, paper 003)"})
    opensmile_version: str = field(default=opensmile.__version__, metadata={"doc": "openSMILE python version"})


class _OpenSmileFeaturizer:
    """Shared machinery: one lazily built `opensmile.Smile` per instance, dropped when pickled."""

    needs_audio: ClassVar[bool] = True
    needs_columns: ClassVar[tuple[str, ...]] = ()
    name: ClassVar[str]
    feature_set: ClassVar[str]  # key of FEATURE_SETS
    level: ClassVar[str]  # "func" | "lld"
    config_class: ClassVar[type]

    def __init__(self, config: Any = None) -> None:
        self.config = config if config is not None else self.config_class()
        self._smile: opensmile.Smile | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_smile": None}

    def _extractor(self) -> opensmile.Smile:
        if self._smile is None:
            spec = FEATURE_SETS[self.feature_set]
            self._smile = opensmile.Smile(feature_set=spec.smile_feature_set(), feature_level=self.level)
        return self._smile

    def _extract(self, utt_id: str, audio: np.ndarray, width: int) -> np.ndarray:
        values = self._extractor().process_signal(audio, SAMPLE_RATE).to_numpy(dtype=np.float32)
        if values.ndim != 2 or values.shape[1] != width:
            raise ValueError(
                f"{self.name}: openSMILE returned shape {values.shape} for utt_id {utt_id!r}, "
                f"expected [*, {width}] - is the config file from a different openSMILE version?"
            )
        if not np.isfinite(values).all():
            raise ValueError(
                f"{self.name}: openSMILE returned NaN/inf for utt_id {utt_id!r} "
                f"({len(audio) / SAMPLE_RATE:.3f} s of audio; too short for this feature set?)"
            )
        return values


class _Functionals(_OpenSmileFeaturizer):
    level = "func"
    config_class = FunctionalsConfig

    def schema(self) -> dict[str, FieldSpec]:
        return {self.name: FieldSpec((FEATURE_SETS[self.feature_set].num_functionals,))}

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        width = FEATURE_SETS[self.feature_set].num_functionals
        rows = [self._extract(u, a, width)[0] for u, a in zip(batch["utt_id"], batch["audio"])]
        return {self.name: np.asarray(rows, dtype=np.float32).reshape(len(rows), width)}


class _LowLevelDescriptors(_OpenSmileFeaturizer):
    level = "lld"
    config_class = LLDConfig

    def schema(self) -> dict[str, FieldSpec]:
        width = FEATURE_SETS[self.feature_set].num_llds
        return {self.name: FieldSpec((self.config.max_frames, width)), "length": FieldSpec((), "int32")}

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        width = FEATURE_SETS[self.feature_set].num_llds
        frames, lengths = [], []
        for utt_id, audio in zip(batch["utt_id"], batch["audio"]):
            padded, n = pad_or_trim(self._extract(utt_id, audio, width), self.config.max_frames, self.config.pad_side)
            frames.append(padded)
            lengths.append(n)
        return {
            self.name: np.asarray(frames, dtype=np.float32).reshape(len(frames), self.config.max_frames, width),
            "length": np.asarray(lengths, dtype=np.int32),
        }


class IS09(_Functionals):
    """INTERSPEECH 2009 emotion challenge set: 384 functionals."""

    name = "is09"
    feature_set = "is09"


class IS10(_Functionals):
    """INTERSPEECH 2010 paralinguistic challenge set: 1,582 functionals (papers 000, 001)."""

    name = "is10"
    feature_set = "is10"


class ComParE16(_Functionals):
    """ComParE 2016: 6,373 functionals."""

    name = "compare16"
    feature_set = "compare16"


class EGeMAPS(_Functionals):
    """eGeMAPS v02: 88 functionals."""

    name = "egemaps"
    feature_set = "egemaps"


class IS09LLD(_LowLevelDescriptors):
    name = "is09_lld"
    feature_set = "is09"


class IS10LLD(_LowLevelDescriptors):
    name = "is10_lld"
    feature_set = "is10"


class ComParE16LLD(_LowLevelDescriptors):
    name = "compare16_lld"
    feature_set = "compare16"


class EGeMAPSLLD(_LowLevelDescriptors):
    name = "egemaps_lld"
    feature_set = "egemaps"
