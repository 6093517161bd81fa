"""External unlabeled pools: any corpus (or several) used as unlabeled data beside a labeled target.

Every seed paper pairs a small labeled corpus with a large external unlabeled one (500k internet
queries, iQIYI-VID, EmoVoxCeleb, in-the-wild media). `load_unlabeled_pool("dir:/data/wild+synthetic:...")`
reads each `+`-joined corpus spec with `load_corpus` and makes its rows unlabeled whatever their label
column says: a present label moves to `oracle_label` (only the pseudo-label-accuracy diagnostic reads
it). Speakers, split groups and utterance ids get the pool's name as a prefix (`<pool>:<speaker>`) so a
pool speaker never coincides with a target speaker (a test speaker's unlabeled rows are excluded from
that fold's pool, so a collision would silently shrink it) — unless `share_speakers=True`, for pools
that really hold the target's speakers. Relative audio paths are resolved against their own corpus'
folder, since the joined manifest has none.

Each corpus of a joined pool keeps its own store key: `pool_parts` returns every part's own manifest
(exactly what `semiemo featurize --corpus <part>` featurizes), the joined manifest records which part
and which original `utt_id` each row came from (`pool`, `source_utt_id`), and `features.pool` featurizes
the parts one by one and joins their features at read time. A corpus already in the store is never
featurized again because it appears in a pool, and `A+B` then `A+C` reuse A.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

POOL_COLUMN = "pool"  # which external pool a row came from ("" for the target's own rows)
SOURCE_ID_COLUMN = "source_utt_id"  # the row's utt_id in its own corpus (its key in the feature store)


@dataclass
class PoolPart:
    """One corpus of a joined pool: its spec, its name in the pool and its own (unprefixed) manifest."""

    spec: str
    name: str
    manifest: pd.DataFrame


def split_pool_spec(spec: str) -> list[str]:
    """'a+b' → ['a', 'b'] (a '+' joins corpus specs; paths with a '+' of their own are not supported)."""
    parts = [p.strip() for p in spec.split("+")]
    if not spec.strip() or any(not p for p in parts):
        raise ValueError(f"unlabeled pool spec {spec!r} has an empty part; join corpus specs with '+', "
                         "e.g. 'dir:/data/wild?template={name}.wav+synthetic:acted=0,wild_labeled=0,unlabeled=20000'")
    return parts


def spec_slug(spec: str, max_len: int = 40) -> str:
    """A short, filesystem-safe name for a corpus spec ('/data/x/manifest.csv' → 'x-manifest')."""
    kind, sep, rest = spec.partition(":")
    if sep and kind.isidentifier() and "/" not in kind:
        head, rest = kind, rest
    else:
        head, rest = "", spec
    path = rest.split("?")[0]
    tail = "-".join(Path(path).with_suffix("").parts[-2:]) if "/" in path or "." in path else path
    text = "-".join(x for x in (head, tail) if x)
    text = re.sub(r"[^A-Za-z0-9._=,-]+", "-", text).strip("-.") or "corpus"
    if len(text) <= max_len:
        return text
    digest = hashlib.sha1(spec.encode()).hexdigest()[:8]  # truncated names of different specs stay apart
    return f"{text[:max_len - 9].rstrip('-.')}-{digest}"


def as_unlabeled(manifest: pd.DataFrame, pool_name: str, share_speakers: bool = False) -> pd.DataFrame:
    """The rows of `manifest` as an unlabeled pool (see the module docstring)."""
    m = manifest.copy()
    root = manifest.attrs.get("root")
    if "path" in m.columns and root:
        m["path"] = [p if not isinstance(p, str) or not p or Path(p).is_absolute() else str(Path(root) / p)
                     for p in m["path"]]
    truth = m["oracle_label"].astype(object) if "oracle_label" in m.columns else pd.Series([None] * len(m), dtype=object)
    if "label" in m.columns:
        labeled = m["labeled"].fillna(False).astype(bool) if "labeled" in m.columns else m["label"].notna()
        truth = truth.where(~labeled.to_numpy(), m["label"].astype(object))
        m["label"] = None
    m["oracle_label"] = truth.to_numpy()
    m["labeled"] = False
    m[SOURCE_ID_COLUMN] = m["utt_id"].astype(str)
    m["utt_id"] = [f"{pool_name}:{u}" for u in m["utt_id"].astype(str)]
    if not share_speakers:
        for column in ("speaker", "split_group"):
            if column in m.columns:
                m[column] = [f"{pool_name}:{v}" for v in m[column].astype(str)]
    m[POOL_COLUMN] = pool_name
    m.attrs = {}
    return m


def pool_parts(spec: str) -> list[PoolPart]:
    """Every corpus of `spec` ('+'-joined) with its own manifest, under a unique name in the pool."""
    from semiemo.features import _manifest

    parts: list[PoolPart] = []
    for part in split_pool_spec(spec):
        name = spec_slug(part, 24)
        while name in {p.name for p in parts}:
            name += "_"
        parts.append(PoolPart(part, name, _manifest(part)))
    return parts


def join_parts(parts: list[PoolPart], spec: str = "", share_speakers: bool = False) -> pd.DataFrame:
    """The joined pool manifest of `parts`: all rows unlabeled, ids prefixed by their part's name."""
    pool = pd.concat([as_unlabeled(p.manifest, p.name, share_speakers) for p in parts], ignore_index=True)
    if not len(pool):
        raise ValueError(f"unlabeled pool {spec!r} has no rows")
    return pool


def load_unlabeled_pool(spec: str, share_speakers: bool = False) -> pd.DataFrame:
    """One manifest of every corpus in `spec` ('+'-joined), all rows unlabeled, ids prefixed."""
    return join_parts(pool_parts(spec), spec, share_speakers)
