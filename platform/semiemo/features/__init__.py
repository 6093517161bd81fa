"""Features: featurizers, the Ray Data pipeline that runs them, and the store that keeps their output.

`load_featureset` is what training calls: it featurizes whatever the store is missing (Ray starts
only then) and returns arrays row-aligned with the manifest. Importing this package does not import
Ray.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from semiemo.features.featureset import FeatureSet

if TYPE_CHECKING:
    from semiemo.features.pipeline import FeaturizeReport

__all__ = ["FeatureSet", "featurize", "load_featureset"]

LENGTH_FIELD = "length"  # a featurizer's valid-length field (padded sequences)
COUNT_FIELDS = (LENGTH_FIELD, "num_segments")  # valid-count fields: go to FeatureSet.lengths, not to the inputs


def featurize(corpus: str | pd.DataFrame, features: list[Any], store_root: str | None = None,
              address: str | None = None, **opts: Any) -> "FeaturizeReport":
    """Compute the store's missing shards of `features` for `corpus`; see `pipeline.featurize`."""
    from semiemo.features.pipeline import featurize as run

    return run(_manifest(corpus), features, store_root=store_root, address=address, **opts)


def load_featureset(corpus: str | pd.DataFrame, features: list[Any], store_root: str | None = None,
                    address: str | None = None, **opts: Any) -> FeatureSet:
    """Featurize what is missing, then load `features` aligned with the corpus manifest.

    Group names are the featurizer names (`is10`, `fbank`, ...). A featurizer with one field named
    after itself gives that group; its `length` field, if any, goes to `FeatureSet.lengths`; other
    fields become groups `<name>.<field>`. Rows that failed any requested featurizer are dropped,
    counted in `FeatureSet.dropped` by `<featurizer>:<reason>` (each dropped row counted once, under
    the first featurizer that lost it).
    """
    from semiemo.features.pipeline import featurize as run, resolve_featurizer
    from semiemo.features.store import FeatureStore, store_key

    manifest = _manifest(corpus).reset_index(drop=True)
    fzs = [resolve_featurizer(f) for f in features]
    report = run(manifest, fzs, store_root=store_root, address=address, **opts)
    store = FeatureStore(store_root)
    utt_ids = manifest["utt_id"].astype(str).to_numpy(dtype=object)

    loaded = {}
    keep = np.ones(len(manifest), dtype=bool)
    dropped: dict[str, int] = {}
    for f in fzs:
        entry = store.entry(store_key(report.manifest_hash, f))
        lg = entry.load_groups(utt_ids)
        lost = keep & ~lg.present
        if lost.any():
            errors = entry.read_errors().drop_duplicates("utt_id").set_index("utt_id")["reason"]
            reasons = pd.Series(utt_ids[lost]).map(errors).fillna("not_in_store")
            for reason, n in reasons.value_counts().items():
                dropped[f"{f.name}:{reason}"] = dropped.get(f"{f.name}:{reason}", 0) + int(n)
        keep &= lg.present
        loaded[f.name] = lg

    groups: dict[str, np.ndarray] = {}
    lengths: dict[str, np.ndarray] = {}
    for name, lg in loaded.items():
        rows = keep[lg.present]  # kept rows among this featurizer's present rows, in manifest order
        values = [k for k in lg.fields if k not in COUNT_FIELDS]
        for k in values:
            group = name if (k == name or len(values) == 1) else f"{name}.{k}"
            groups[group] = lg.fields[k][rows]
        for k in COUNT_FIELDS:
            if k in lg.fields:
                lengths[name] = lg.fields[k][rows]
    return FeatureSet(manifest=manifest[keep], groups=groups, lengths=lengths, dropped=dropped)


def _manifest(corpus: str | pd.DataFrame) -> pd.DataFrame:
    if isinstance(corpus, pd.DataFrame):
        return corpus
    from pathlib import Path

    from semiemo.corpora import load_corpus

    manifest = load_corpus(corpus)
    p = Path(corpus).expanduser()
    if "root" not in manifest.attrs and p.exists():  # relative audio paths resolve against the manifest's folder
        manifest.attrs["root"] = str((p if p.is_dir() else p.parent).resolve())
    return manifest
