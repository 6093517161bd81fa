"""SynthConfig: everything that decides a synthetic corpus. Utterance i is a pure function of it.

Defaults follow paper 000 (the acted voice set AVD and the internet voice set IVD: class shares,
27 acted speakers of whom 20 women) and paper 003 (audio-visual inconsistency 51.81 % on CH-SIMS,
rounded to 0.5). The JSON of a config travels in every manifest row (`synth_config`), so any worker
can regenerate any utterance without stored audio.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from semiemo.corpora.schema import DEFAULT_EMOTIONS
from semiemo.corpora.synthetic.prosody import EMOTION_PROSODY

# paper 000, "Acted Voice Dataset (AVD)": 2,397 utterances; no boredom in the acted set.
PAPER_000_ACTED_SHARES: dict[str, float] = {
    "neutral": 14.0, "happiness": 23.8, "disgust": 17.4, "anger": 22.6, "sadness": 22.2, "boredom": 0.0,
}
# paper 000, "Internet Voice Dataset (IVD)": 2,946 labeled utterances.
PAPER_000_WILD_SHARES: dict[str, float] = {
    "neutral": 49.3, "happiness": 16.5, "disgust": 11.0, "boredom": 8.7, "anger": 9.8, "sadness": 4.6,
}


_LATER_OPTIONS = ("unlabeled_domain", "av_inconsistency_groups")  # paper 003 (cmkt) block


class DomainConfig(BaseModel):
    """How one recording domain behaves: who speaks, how strongly, how noisily, how it is labeled."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    class_shares: dict[str, float] | None = Field(
        None, description="percent per emotion; None = paper 000's shares for this domain (emotions it "
                          "does not list get the mean share); missing keys count as 0")
    n_speakers: int = Field(ge=1, description="speaker pool of the domain")
    female_share: float = Field(0.5, ge=0.0, le=1.0, description="share of speakers with a female voice")
    expression_strength: float = Field(ge=0.0, description="multiplies the prosodic, arousal/valence and facial "
                                                           "class offsets: 1 = acted, strong and clear")
    snr_db: tuple[float, float] | None = Field(None, description="additive noise at an SNR drawn uniformly from "
                                                                 "this range (dB); None = clean")
    text_cue_prob: float = Field(ge=0.0, le=1.0, description="chance a sentence carries a word of its true class")
    text_misleading_prob: float = Field(ge=0.0, le=1.0, description="chance it carries a word of another class")
    vote_agreement: float = Field(ge=0.0, le=1.0, description="chance an annotator votes the true class")

    @model_validator(mode="after")
    def _text_probs_fit(self) -> "DomainConfig":
        if self.text_cue_prob + self.text_misleading_prob > 1.0:
            raise ValueError("text_cue_prob + text_misleading_prob must be <= 1 "
                             f"(got {self.text_cue_prob} + {self.text_misleading_prob})")
        if self.snr_db is not None and self.snr_db[0] > self.snr_db[1]:
            raise ValueError(f"snr_db must be (low, high) with low <= high, got {self.snr_db}")
        return self


def default_acted() -> DomainConfig:
    return DomainConfig(n_speakers=27, female_share=20 / 27, expression_strength=1.0, snr_db=None,
                        text_cue_prob=0.8, text_misleading_prob=0.05, vote_agreement=0.9)


def default_wild() -> DomainConfig:
    return DomainConfig(n_speakers=3000, female_share=0.5, expression_strength=0.45, snr_db=(5.0, 25.0),
                        text_cue_prob=0.4, text_misleading_prob=0.15, vote_agreement=0.6)


_VIEW_OPTIONS = ("side_view_share", "side_view_noise_sd")  # paper 002 (ssgan) block


class SynthConfig(BaseModel):
    """A synthetic corpus. Index layout: [0, n_acted) acted (all labeled), then n_wild_labeled
    labeled wild rows, then n_unlabeled unlabeled wild rows (truth only in `oracle_label`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(0, ge=0, description="corpus seed; utterance i draws from streams keyed by (seed, i)")
    n_acted: int = Field(270, ge=0, description="acted utterances (all labeled)")
    n_wild_labeled: int = Field(300, ge=0, description="labeled in-the-wild utterances")
    n_unlabeled: int = Field(2000, ge=0, description="unlabeled in-the-wild utterances")
    emotions: tuple[str, ...] = Field(DEFAULT_EMOTIONS, description="label set; each needs a prosody row")
    acted: DomainConfig = Field(default_factory=default_acted)
    wild: DomainConfig = Field(default_factory=default_wild)
    # social attributes (paper 000)
    topic_emotion_coupling: float = Field(0.6, ge=0.0, le=1.0, description="weight of the emotion-dependent "
                                                                          "topic table vs a uniform topic")
    n_accents: int = Field(34, ge=1, description="accent regions (user locations; 34 province-level regions)")
    accent_emotion_coupling: float = Field(0.1, ge=0.0, le=1.0, description="chance an utterance's accent is "
                                                                           "its emotion's region instead of the speaker's")
    votes_per_utterance: int = Field(3, ge=1, description="annotator votes per labeled utterance (paper 002)")
    # visual modality (papers 001-003)
    visual_in_manifest: bool = Field(True, description="store face_features / fer_probs in the manifest; "
                                                       "turn off for very large corpora (render_visual regenerates)")
    frames: int = Field(18, ge=1, description="F, face frames per utterance")
    face_dim: int = Field(342, ge=1, description="face feature dimension")
    face_class_separation: float = Field(1.0, ge=0.0, description="norm scale of the class prototypes per dim")
    face_speaker_sd: float = Field(0.6, ge=0.0, description="speaker offset standard deviation per dim")
    face_noise_sd: float = Field(1.0, ge=0.0, description="frame noise standard deviation per dim")
    av_inconsistency_rate: float = Field(0.5, ge=0.0, le=1.0,
                                         description="chance the face shows another emotion than the voice "
                                                     "(paper 003: 51.81 % on CH-SIMS)")
    fer_accuracy: float = Field(0.7, ge=0.0, le=1.0, description="chance the simulated FER model names the "
                                                                "expression the face shows")
    sample_rate: int = Field(16_000, description="output sample rate (Hz)")
    # --- mmmd (paper 000): wild-domain modality strengths, settable from a corpus spec string --------
    # None keeps `wild` as given; a value replaces that field of `wild` (so 'synthetic:wild_text_cue_prob=0.6'
    # makes wild text more informative than its audio, as paper 000's IVD is: Fig. 5(d)).
    wild_text_cue_prob: float | None = Field(None, ge=0.0, le=1.0, description="overrides wild.text_cue_prob")
    wild_expression_strength: float | None = Field(None, ge=0.0, description="overrides wild.expression_strength")

    @model_validator(mode="before")
    @classmethod
    def _wild_overrides(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        changes = {k: data.get(f"wild_{k}") for k in ("text_cue_prob", "expression_strength")}
        changes = {k: v for k, v in changes.items() if v is not None}
        if changes:
            wild = data.get("wild") or default_wild()
            wild = wild if isinstance(wild, DomainConfig) else DomainConfig.model_validate(wild)
            cue = changes.get("text_cue_prob")
            if cue is not None and cue + wild.text_misleading_prob > 1.0:  # name the option and its bound, not the model
                raise ValueError(f"wild_text_cue_prob={cue}: the wild domain's sentences carry a misleading word with "
                                 f"probability {wild.text_misleading_prob}, and the two must sum to <= 1; use "
                                 f"wild_text_cue_prob <= {1.0 - wild.text_misleading_prob:g}")
            data = {**data, "wild": wild.model_copy(update=changes)}
            DomainConfig.model_validate(data["wild"].model_dump())  # the text probabilities must still fit
        return data
    # --- paper 001's unlabeled pool (AMI): skewed classes, clips without a face. Defaults: off. ---
    unlabeled_majority: tuple[str, ...] = Field(("happiness", "neutral"), description=(
        "classes that dominate the unlabeled pool when unlabeled_majority_share is set"))
    unlabeled_majority_share: float | None = Field(None, ge=0.0, le=1.0, description=(
        "share of unlabeled rows drawn from unlabeled_majority, split evenly, the rest evenly over the other "
        "classes (paper 001: a vanilla classifier labels ~80 % of AMI clips happy or neutral); None = wild shares"))
    unlabeled_no_face_share: float = Field(0.0, ge=0.0, le=1.0, description=(
        "share of unlabeled rows with no detectable face: face_features/fer_probs are missing (None), not zero "
        "(paper 001: ~11 % of AMI clips)"))
    # ---- paper 003 (cmkt): unlabeled pool with domain/prior shift; group-level AV inconsistency ----
    unlabeled_domain: DomainConfig | None = Field(
        None, description="recording domain of the unlabeled rows, named 'wild_unlabeled' (own speakers, strength, "
                          "noise, class shares): domain and prior shift from the labeled wild set (paper 003's "
                          "iQIYI-VID vs CH-SIMS); None = the unlabeled rows are 'wild'")
    av_inconsistency_groups: dict[str, str] | None = Field(
        None, description="emotion -> group (e.g. paper 003 Table 2 sentiments): av_inconsistency_rate is then the "
                          "chance the face shows an emotion of ANOTHER group, i.e. the rate after the map; "
                          "None = any other emotion")
    # camera view (paper 002 Table VIII): a share of utterances filmed from the side, whose face
    # features are noisier; 0 adds no column and draws nothing (today's corpus unchanged)
    side_view_share: float = Field(0.0, ge=0.0, le=1.0, description="share of utterances with a side-view face "
                                                                     "(manifest column face_view)")
    side_view_noise_sd: float = Field(1.0, ge=0.0, description="extra frame noise sd per dim on side-view faces")
    # --- paper 004 (avspnet) options; None keeps today's corpus (and its JSON) bit-identical ---
    wild_speakers: int | None = Field(None, ge=1, description="overrides wild.n_speakers: paper 004's talk shows "
                                                              "have few speakers with many utterances each, so "
                                                              "per-speaker proxy baselines have data")

    @field_validator("emotions")
    @classmethod
    def _known_emotions(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [e for e in v if e not in EMOTION_PROSODY]
        if unknown:
            raise ValueError(f"unknown emotion(s) {unknown}; allowed: {sorted(EMOTION_PROSODY)}")
        if len(set(v)) != len(v) or len(v) < 2:
            raise ValueError(f"emotions must be at least two distinct names, got {list(v)}")
        return tuple(v)

    @model_validator(mode="after")
    def _shares_match_emotions(self) -> "SynthConfig":
        for name, dom in (("acted", self.acted), ("wild", self.wild), ("unlabeled_domain", self.unlabeled_domain)):
            if dom is None:
                continue
            if dom.class_shares is None:
                continue
            extra = sorted(set(dom.class_shares) - set(self.emotions))
            if extra:
                raise ValueError(f"{name}.class_shares names {extra}, not in emotions {list(self.emotions)}")
            if any(s < 0 or not math.isfinite(s) for s in dom.class_shares.values()) or sum(dom.class_shares.values()) <= 0:
                raise ValueError(f"{name}.class_shares must be non-negative with a positive sum, got {dom.class_shares}")
        if self.unlabeled_majority_share is not None:
            unknown = [e for e in self.unlabeled_majority if e not in self.emotions]
            if unknown or not self.unlabeled_majority:
                raise ValueError(f"unlabeled_majority {list(self.unlabeled_majority)} must name classes of "
                                 f"emotions {list(self.emotions)}")
        return self

    @model_validator(mode="after")
    def _groups_cover_emotions(self) -> "SynthConfig":
        if self.av_inconsistency_groups is None:
            return self
        missing = sorted(set(self.emotions) - set(self.av_inconsistency_groups))
        if missing:
            raise ValueError(f"av_inconsistency_groups has no group for emotion(s) {missing}; give every one of "
                             f"{list(self.emotions)} a group")
        if len({self.av_inconsistency_groups[e] for e in self.emotions}) < 2:
            raise ValueError("av_inconsistency_groups needs at least two groups among the emotions")
        return self

    # ---- derived -------------------------------------------------------------------------------
    @property
    def n_total(self) -> int:
        return self.n_acted + self.n_wild_labeled + self.n_unlabeled

    @property
    def domain_names(self) -> tuple[str, ...]:
        return ("acted", "wild") if self.unlabeled_domain is None else ("acted", "wild", "wild_unlabeled")

    def domain(self, name: str) -> DomainConfig:
        if name == "wild" and self.wild_speakers is not None:
            return self.wild.model_copy(update={"n_speakers": self.wild_speakers})
        domains = {"acted": self.acted, "wild": self.wild}
        if self.unlabeled_domain is not None:
            domains["wild_unlabeled"] = self.unlabeled_domain
        return domains[name]

    def class_probabilities(self, domain: str) -> np.ndarray:
        """Class shares of a domain as probabilities aligned with `emotions`."""
        dom = self.domain(domain)
        if dom.class_shares is not None:
            shares = np.array([dom.class_shares.get(e, 0.0) for e in self.emotions], dtype=float)
        else:
            paper = PAPER_000_ACTED_SHARES if domain == "acted" else PAPER_000_WILD_SHARES  # wild_unlabeled: wild
            known = [paper[e] for e in self.emotions if e in paper]
            fill = float(np.mean(known)) if known else 1.0
            shares = np.array([paper.get(e, fill) for e in self.emotions], dtype=float)
        if shares.sum() <= 0:  # e.g. only boredom from the acted table: fall back to balanced
            shares = np.ones(len(self.emotions))
        return shares / shares.sum()

    def unlabeled_class_probabilities(self) -> np.ndarray:
        """Class probabilities of the unlabeled block: the wild shares, or the skew of paper 001's AMI pool."""
        if self.unlabeled_majority_share is None:
            return self.class_probabilities("wild")
        major = np.array([e in self.unlabeled_majority for e in self.emotions])
        p = np.where(major, self.unlabeled_majority_share / major.sum(), 0.0)
        if (~major).any():
            p[~major] = (1.0 - self.unlabeled_majority_share) / (~major).sum()
        return p / p.sum()

    # Options added for one method's analyses: left at their default they are not written, so a corpus
    # without them keeps its manifest (and feature-store key) byte for byte.
    OPTIONAL_FIELDS: ClassVar[tuple[str, ...]] = (
        "wild_text_cue_prob", "wild_expression_strength",                            # mmmd (paper 000)
        "unlabeled_majority", "unlabeled_majority_share", "unlabeled_no_face_share",  # cmdm (paper 001)
        *_LATER_OPTIONS,                                                              # cmkt (paper 003)
        *_VIEW_OPTIONS,                                                               # ssgan (paper 002)
        "wild_speakers",                                                              # avspnet (paper 004)
    )

    def to_json(self) -> str:
        unset = {k for k in self.OPTIONAL_FIELDS if getattr(self, k) == type(self).model_fields[k].default}
        return self.model_dump_json(exclude=unset)

    @classmethod
    def from_json(cls, s: str) -> "SynthConfig":
        return cls.model_validate_json(s)
