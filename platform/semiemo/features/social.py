"""Social-attribute features of paper 000: one-hot query topic and one-hot user accent (region).

Paper 000 defines 7 topic types (schema.TOPICS) and uses the user's query location as the accent.
Accent values are region indices 0..num_accents-1 (as ints, or region ids "r<k>" as the synthetic corpus
writes them), or names listed in `accent_names`. The default, 34, is paper 000's province-level regions
and the synthetic corpus's `n_accents`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from semiemo.corpora.schema import TOPICS
from semiemo.features.base import FieldSpec


@dataclass(frozen=True)
class SocialConfig:
    num_accents: int = field(default=34, metadata={"doc": "accent regions, when accents are indices or 'r<k>' ids"})
    accent_names: tuple[str, ...] = field(
        default=(), metadata={"doc": "region names, when accents are strings (overrides num_accents)"}
    )


class Social:
    """[one-hot topic (7) | one-hot accent (A)] per utterance; an unknown value is an error naming the row."""

    name: ClassVar[str] = "social"
    needs_audio: ClassVar[bool] = False
    needs_columns: ClassVar[tuple[str, ...]] = ("topic", "accent")
    categorical: ClassVar[bool] = True  # one-hot: z-scoring would turn it into noise-scaled offsets

    def __init__(self, config: SocialConfig | None = None) -> None:
        self.config = config if config is not None else SocialConfig()

    @property
    def num_accents(self) -> int:
        return len(self.config.accent_names) or self.config.num_accents

    def schema(self) -> dict[str, FieldSpec]:
        return {self.name: FieldSpec((len(TOPICS) + self.num_accents,))}

    def _topic_index(self, utt_id: str, topic: Any) -> int:
        key = str(topic).strip().lower()
        if key not in TOPICS:
            raise ValueError(f"social: utt_id {utt_id!r} has topic {topic!r}; allowed: {', '.join(TOPICS)}")
        return TOPICS.index(key)

    def _accent_index(self, utt_id: str, accent: Any) -> int:
        names = self.config.accent_names
        if names:
            if str(accent) not in names:
                raise ValueError(f"social: utt_id {utt_id!r} has accent {accent!r}; allowed: {', '.join(names)}")
            return names.index(str(accent))
        if isinstance(accent, str) and accent[:1] == "r" and accent[1:].isdigit():
            accent = accent[1:]
        try:
            index = int(accent)
            valid = float(accent) == index and 0 <= index < self.config.num_accents
        except (TypeError, ValueError):
            valid = False
        if not valid:
            raise ValueError(
                f"social: utt_id {utt_id!r} has accent {accent!r}; expected a region index in "
                f"0..{self.config.num_accents - 1} (or 'r<k>'), or set `accent_names` for named regions"
            )
        return index

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        out = np.zeros((len(batch["utt_id"]), len(TOPICS) + self.num_accents), np.float32)
        for i, (utt_id, topic, accent) in enumerate(zip(batch["utt_id"], batch["topic"], batch["accent"])):
            out[i, self._topic_index(utt_id, topic)] = 1.0
            out[i, len(TOPICS) + self._accent_index(utt_id, accent)] = 1.0
        return {self.name: out}
