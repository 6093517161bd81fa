"""Features of a joined unlabeled pool (`--unlabeled A+B`): each corpus under its own store key.

The joined manifest is never featurized as one: its hash would be a new store key, so corpora already
in the store would be featurized again (and every new combination would add duplicate entries). Each
part is featurized as the corpus it is (`semiemo featurize --corpus A` makes the same entry), and the
parts' features are joined when read, row-aligned with the joined pool manifest through its `pool` and
`source_utt_id` columns (`corpora.unlabeled_pool`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from semiemo.corpora.unlabeled_pool import POOL_COLUMN, SOURCE_ID_COLUMN, PoolPart
from semiemo.features.featureset import FeatureSet


def featurize_pool(parts: list[PoolPart], featurizers: list[Any], store_root: str | None = None,
                   address: str | None = None, **opts: Any) -> list[Any]:
    """Fill the store for every corpus of the pool, each under its own manifest's key; the reports."""
    from semiemo.features.pipeline import featurize

    return [featurize(part.manifest, featurizers, store_root=store_root, address=address, **opts) for part in parts]


def load_pool_featureset(parts: list[PoolPart], pool_manifest: pd.DataFrame, features: list[Any],
                         store_root: str | None = None, **opts: Any) -> FeatureSet:
    """The pool's features row-aligned with (the featurized rows of) `pool_manifest`, read part by part.

    Rows a part's featurization lost are absent and counted in `dropped` as `<part>:<featurizer>:<reason>`."""
    from semiemo.features import load_featureset

    sets: list[FeatureSet] = []
    dropped: dict[str, int] = {}
    for part in parts:
        own = load_featureset(part.manifest, features, store_root=store_root, **opts)
        rows = pool_manifest[pool_manifest[POOL_COLUMN] == part.name]
        pos = pd.Index(rows[SOURCE_ID_COLUMN].astype(str)).get_indexer(own.manifest["utt_id"].astype(str))
        if (pos < 0).any():
            raise RuntimeError(f"the pool manifest lacks {int((pos < 0).sum())} row(s) of {part.spec!r} that the store "
                               "holds; build the pool with corpora.unlabeled_pool.join_parts from the same parts")
        sets.append(own.replace(manifest=rows.iloc[pos], dropped={}))
        dropped.update({f"{part.name}:{k}": v for k, v in own.dropped.items()})
    joined = sets[0]
    for other in sets[1:]:
        joined = joined.append(other)
    return joined.replace(dropped=dropped)

