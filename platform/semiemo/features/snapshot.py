"""A FeatureSet as plain files (Parquet manifest, .npz arrays, JSON layout), read back with numpy and
pandas alone: training can then be timed on a node that has torch but not the featurizing stack
(Ray, openSMILE, librosa) — e.g. the per-step costs behind `reproduce --budget paper --estimate`.

A snapshot may hold a subset of the rows (`rows`): the full manifest is kept beside it, so what is
counted from the corpus (folds, labeled rows) still sees every row. Per-row numeric arrays of the
manifest (audio, face frames: the featurizers' inputs) are left out. Arrays may be stored as float16
to fit a transfer limit; they are read back as float32 (timings do not depend on the values).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from semiemo.features.featureset import FeatureSet

_KINDS = ("groups", "lengths", "side")


def save_snapshot(fs: FeatureSet, path: str | Path, rows: np.ndarray | None = None, half: bool = False) -> Path:
    """Write `fs` (or its `rows`) to the folder `path`; the full manifest goes beside it."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    kept = fs if rows is None else fs.subset(np.sort(np.asarray(rows)))
    _manifest_table(fs.manifest).to_parquet(path / "manifest_full.parquet", index=False)
    arrays = {}
    for kind in _KINDS:
        for name, arr in getattr(kept, kind).items():
            arrays[f"{kind}:{name}"] = arr.astype(np.float16) if half and arr.dtype == np.float32 else arr
    np.savez(path / "arrays.npz", **arrays)
    meta = {"rows": None if rows is None else np.sort(np.asarray(rows)).tolist(), "dropped": fs.dropped,
            "pad_sides": fs.pad_sides, "channel_axes": fs.channel_axes, "unscaled": sorted(fs.unscaled),
            "half": [k for k, a in arrays.items() if a.dtype == np.float16]}
    (path / "meta.json").write_text(json.dumps(meta))
    return path


def load_snapshot(path: str | Path) -> tuple[FeatureSet, pd.DataFrame]:
    """(the stored FeatureSet, the full manifest it was taken from)."""
    path = Path(path)
    if not (path / "meta.json").is_file():
        raise FileNotFoundError(f"{path}: not a FeatureSet snapshot (no meta.json); write one with "
                                "`semiemo reproduce --all --budget paper --estimate --snapshot-out DIR`")
    meta = json.loads((path / "meta.json").read_text())
    full = pd.read_parquet(path / "manifest_full.parquet")
    manifest = full if meta["rows"] is None else full.iloc[meta["rows"]].reset_index(drop=True)
    parts: dict[str, dict[str, np.ndarray]] = {k: {} for k in _KINDS}
    with np.load(path / "arrays.npz", allow_pickle=False) as z:
        for key in z.files:
            kind, name = key.split(":", 1)
            arr = z[key]
            parts[kind][name] = arr.astype(np.float32) if key in meta["half"] else arr
    fs = FeatureSet(manifest=manifest, groups=parts["groups"], lengths=parts["lengths"], side=parts["side"],
                    dropped=meta["dropped"], pad_sides=meta["pad_sides"], channel_axes=meta["channel_axes"],
                    unscaled=frozenset(meta["unscaled"]))
    return fs, full


def _manifest_table(manifest: pd.DataFrame) -> pd.DataFrame:
    """The manifest without its per-row numeric arrays (audio, face frames: featurizer inputs, already
    featurized); lists of strings (votes) stay lists."""
    def numeric_array(v: object) -> bool:
        return isinstance(v, np.ndarray) and v.dtype != object or \
            isinstance(v, (list, tuple, np.ndarray)) and len(v) > 0 and not isinstance(v[0], str)

    heavy = [c for c in manifest.columns if manifest[c].dtype == object and manifest[c].map(numeric_array).any()]
    out = manifest.drop(columns=heavy)
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(lambda v: list(v) if isinstance(v, (tuple, np.ndarray)) else v)
    return out
