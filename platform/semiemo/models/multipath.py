"""Paper 000's multi-path network: one local classifier per feature group, MCB fusion, a global classifier.

Paths (spec §1.1). Paper 000 groups the raw features "based on different LLDs, and different
modalities"; each group gets its own local classifier (a path):
- `is10` (1,582 openSMILE functionals) by LLD family — loudness, MFCC, log-Mel bands, LSP,
  F0 envelope + voicing, F0 + jitter + shimmer (+ the two turn features) — or by functional;
  the grouping is read from openSMILE's own feature names, so every dimension lands in exactly one path;
- `word_stats` (14 statistics × d of the word vectors) by statistic: 14 paths of d;
- `social` (one-hot topic | one-hot accent) as a topic path and an accent path;
- any other group: one path.
Each path is classified by x_p -> FC 128 -> ELU -> FC 64 -> ELU (= h_p) -> FC C (spec §1.2).

Fusion (spec §1.3): the acoustic codes h_a = [h_a^1 … h_a^l1] against the text + social codes
h_tc by MCB into R^d; a configuration with one modality only concatenates its codes instead.
The global classifier maps the fused code through 128 -> 64 -> C.
"""

from __future__ import annotations

from pathlib import Path

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from semiemo.models.fusion import pool_group, pooled_dim
from semiemo.models.mcb import CompactBilinearPooling
from semiemo.models.mlp import MLP

# Kinds of path; Fig. 5(d) switches them on and off.
ACOUSTIC, TEXT, TOPIC, ACCENT = "acoustic", "text", "topic", "accent"
PATH_KINDS = (ACOUSTIC, TEXT, TOPIC, ACCENT)
TEXT_GROUPS = ("word_stats", "text")  # sentence/word-statistics text groups; token sequences pool to one path

# IS10 LLD families -> the six acoustic paths (spec §1.1). Keys are the LLD names openSMILE writes before
# `_sma`; the turn features (`F0final__Turn_*`) carry F0final's prefix and join its path.
IS10_LLD_PATHS: dict[str, tuple[str, ...]] = {
    "loudness": ("pcm_loudness",),
    "mfcc": ("mfcc",),
    "logmel": ("logMelFreqBand",),
    "lsp": ("lspFreq",),
    "f0env_voicing": ("F0finEnv", "voicingFinalUnclipped"),
    "f0_jitter_shimmer": ("F0final", "jitterLocal", "jitterDDP", "shimmerLocal"),
}
ACOUSTIC_GROUPINGS = ("lld", "functional")


@dataclass(frozen=True)
class FeaturePath:
    """One local classifier's input: columns `index` of feature group `group`."""

    name: str
    group: str
    kind: str
    index: tuple[int, ...]


IS10_NAMES_FILE = Path(__file__).parent / "data" / "is10_feature_names.txt"


@lru_cache(maxsize=1)
def is10_feature_names() -> tuple[str, ...]:
    """The 1,582 IS10 functional names, in column order, as the `is10` featurizer's config writes them.

    Read from a file written from openSMILE (`test_is10_names_file_matches_opensmile` keeps them equal): a
    training node needs no openSMILE."""
    return tuple(IS10_NAMES_FILE.read_text().split())


def is10_feature_names_from_opensmile() -> tuple[str, ...]:
    import opensmile

    from semiemo.features.opensmile_functionals import FEATURE_SETS

    smile = opensmile.Smile(feature_set=FEATURE_SETS["is10"].smile_feature_set(),
                            feature_level=opensmile.FeatureLevel.Functionals)
    return tuple(smile.feature_names)


def lld_family(name: str) -> str:
    """`mfcc_sma_de[3]_amean` -> `mfcc`; `F0final__Turn_numOnsets` -> `F0final`."""
    return re.split(r"_sma|__Turn", name, maxsplit=1)[0]


def functional_of(name: str) -> str:
    """`mfcc_sma_de[3]_amean` -> `amean`; the two turn features -> `turn`."""
    return "turn" if "__Turn_" in name else name.rsplit("_", 1)[-1]


def is10_paths(names: Sequence[str], grouping: str = "lld") -> list[tuple[str, tuple[int, ...]]]:
    """(path name, column indices) covering every IS10 column exactly once; an unknown LLD is an error."""
    if grouping not in ACOUSTIC_GROUPINGS:
        raise ValueError(f"acoustic_grouping must be one of {ACOUSTIC_GROUPINGS}, got {grouping!r}")
    if grouping == "functional":
        keys = [functional_of(n) for n in names]
        order = list(dict.fromkeys(keys))
        return [(f"is10.{k}", tuple(i for i, kk in enumerate(keys) if kk == k)) for k in order]
    family_to_path = {fam: path for path, fams in IS10_LLD_PATHS.items() for fam in fams}
    unknown = sorted({lld_family(n) for n in names} - set(family_to_path))
    if unknown:
        raise ValueError(f"IS10 LLD families {unknown} have no path in IS10_LLD_PATHS; add them there")
    keys = [family_to_path[lld_family(n)] for n in names]
    return [(f"is10.{p}", tuple(i for i, k in enumerate(keys) if k == p)) for p in IS10_LLD_PATHS]


def feature_paths(input_shapes: Mapping[str, tuple[int, ...]], acoustic_grouping: str = "lld",
                  kinds: Sequence[str] = PATH_KINDS) -> list[FeaturePath]:
    """The local paths of a set of feature groups (module docstring), restricted to `kinds`."""
    from semiemo.corpora.schema import TOPICS
    from semiemo.features.lexical import WORD_STATS

    unknown = sorted(set(kinds) - set(PATH_KINDS))
    if unknown:
        raise ValueError(f"unknown path kind(s) {unknown}; allowed: {list(PATH_KINDS)}")
    paths: list[FeaturePath] = []
    for group in sorted(input_shapes):
        dim = pooled_dim(input_shapes[group])
        if group == "is10":
            names = is10_feature_names()
            if dim != len(names):
                raise ValueError(f"group 'is10' has {dim} columns, openSMILE's IS10 config names {len(names)}")
            paths += [FeaturePath(n, group, ACOUSTIC, ix) for n, ix in is10_paths(names, acoustic_grouping)]
        elif group == "word_stats":
            if dim % len(WORD_STATS):
                raise ValueError(f"group 'word_stats' has {dim} columns, not a multiple of its {len(WORD_STATS)} statistics")
            d = dim // len(WORD_STATS)
            paths += [FeaturePath(f"word_stats.{s}", group, TEXT, tuple(range(k * d, (k + 1) * d)))
                      for k, s in enumerate(WORD_STATS)]
        elif group == "social":
            n_topics = len(TOPICS)
            paths.append(FeaturePath("social.topic", group, TOPIC, tuple(range(n_topics))))
            paths.append(FeaturePath("social.accent", group, ACCENT, tuple(range(n_topics, dim))))
        else:
            kind = TEXT if group.split(".")[0] in TEXT_GROUPS or group.startswith("text") else ACOUSTIC
            paths.append(FeaturePath(group, group, kind, tuple(range(dim))))
    paths = [p for p in paths if p.kind in kinds]
    if not paths:
        raise ValueError(f"no feature path of kinds {list(kinds)} in groups {sorted(input_shapes)}")
    return paths


class MultiPathNetwork(nn.Module):
    """Local classifiers per path, MCB (or concatenation) fusion, global classifier.

    `forward` returns (global logits [B, C], local logits [P, B, C]).
    """

    def __init__(self, paths: Sequence[FeaturePath], num_classes: int, local_hidden: Sequence[int] = (128, 64),
                 global_hidden: Sequence[int] = (128, 64), mcb_dim: int = 2048, signed_sqrt_l2: bool = True,
                 fusion: str = "mcb", seed: int = 0) -> None:
        super().__init__()
        if fusion not in ("mcb", "concat"):
            raise ValueError(f"fusion must be 'mcb' or 'concat', got {fusion!r}")
        self.paths = tuple(paths)
        for k, p in enumerate(self.paths):
            self.register_buffer(f"index_{k}", torch.tensor(p.index, dtype=torch.long), persistent=False)
        self.encoders = nn.ModuleList(MLP(len(p.index), local_hidden) for p in self.paths)
        self.local_heads = nn.ModuleList(nn.Linear(e.out_dim, num_classes) for e in self.encoders)
        code = self.encoders[0].out_dim
        self.acoustic = [k for k, p in enumerate(self.paths) if p.kind == ACOUSTIC]
        self.textual = [k for k, p in enumerate(self.paths) if p.kind != ACOUSTIC]
        self.mcb = None
        if fusion == "mcb" and self.acoustic and self.textual:
            self.mcb = CompactBilinearPooling(code * len(self.acoustic), code * len(self.textual), mcb_dim,
                                              signed_sqrt_l2, seed)
        global_in = mcb_dim if self.mcb is not None else code * len(self.paths)
        self.global_classifier = MLP(global_in, global_hidden, num_classes)

    def path_inputs(self, inputs: Mapping[str, torch.Tensor], lengths: Mapping[str, torch.Tensor] | None = None
                    ) -> list[torch.Tensor]:
        lengths = lengths or {}
        pooled = {g: pool_group(inputs[g], lengths.get(g)) for g in {p.group for p in self.paths}}
        return [pooled[p.group].index_select(1, getattr(self, f"index_{k}")) for k, p in enumerate(self.paths)]

    def fuse(self, codes: list[torch.Tensor]) -> torch.Tensor:
        """MCB(h_a, h_tc) (eq. 2-6), or the concatenated codes for a single modality."""
        if self.mcb is None:
            return torch.cat(codes, dim=1)
        h_a = torch.cat([codes[k] for k in self.acoustic], dim=1)
        h_tc = torch.cat([codes[k] for k in self.textual], dim=1)
        return self.mcb(h_a, h_tc)

    def forward(self, inputs: Mapping[str, torch.Tensor], lengths: Mapping[str, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        codes = [enc(x) for enc, x in zip(self.encoders, self.path_inputs(inputs, lengths))]   # h_p
        local_logits = torch.stack([head(h) for head, h in zip(self.local_heads, codes)])      # P_p (logits)
        return self.global_classifier(self.fuse(codes)), local_logits                         # P_g (logits)


def path_summary(paths: Sequence[FeaturePath]) -> dict[str, int]:
    """Path name -> width (for reports and tests)."""
    return {p.name: len(p.index) for p in paths}


def columns_covered(paths: Sequence[FeaturePath], group: str) -> np.ndarray:
    """All column indices of `group` the paths use, concatenated (each exactly once when the grouping is a partition)."""
    return np.concatenate([np.asarray(p.index) for p in paths if p.group == group])
