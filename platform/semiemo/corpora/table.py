"""Bring-your-own table: any CSV/Parquet with one row per utterance, columns renamed to the manifest's.

`mapping` says which source column holds each manifest column (`path=file_path,label=emotion`);
relative paths resolve against the table's own folder, so a table travels with its audio.
Only what follows unambiguously is filled in (labeled from label, split_group from speaker,
utt_id from path); anything else missing is left for `validate_manifest` to name.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from semiemo.corpora.manifest import read_manifest


def parse_mapping(spec: str | dict[str, str] | None) -> dict[str, str]:
    """'path=file_path,label=emotion' → {'path': 'file_path', 'label': 'emotion'} (manifest ← source)."""
    if spec is None:
        return {}
    if isinstance(spec, dict):
        return dict(spec)
    out: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        if "=" not in item:
            raise ValueError(f"bad column mapping {item!r} in {spec!r}: write manifest_column=source_column, "
                             "e.g. 'path=file_path,label=emotion'")
        target, source = (s.strip() for s in item.split("=", 1))
        out[target] = source
    return out


def read_table(
    path: str | os.PathLike,
    mapping: str | dict[str, str] | None = None,
    corpus: str | None = None,
    domain: str | None = None,
) -> pd.DataFrame:
    """Read a user table and rename its columns onto the manifest contract."""
    path = Path(path).resolve()
    df = read_manifest(path)
    cols = parse_mapping(mapping)
    missing = [src for src in cols.values() if src not in df.columns]
    if missing:
        raise ValueError(f"{path}: mapped source column(s) {missing} not found; the table has {list(df.columns)}")
    df = df.rename(columns={src: dst for dst, src in cols.items()})

    if "path" in df.columns:
        base = path.parent
        df["path"] = df["path"].map(
            lambda p: p if not isinstance(p, str) or os.path.isabs(p) else str((base / p).resolve()))
    if "corpus" not in df.columns:
        df["corpus"] = corpus or path.stem
    if domain is not None and "domain" not in df.columns:
        df["domain"] = domain
    if "labeled" not in df.columns and "label" in df.columns:
        df["labeled"] = df["label"].notna()
    if "split_group" not in df.columns and "speaker" in df.columns:
        df["split_group"] = df["speaker"]
    if "utt_id" not in df.columns and "path" in df.columns:
        df.insert(0, "utt_id", df["corpus"].astype(str) + "/" + df["path"].map(lambda p: Path(str(p)).stem))
    return df
