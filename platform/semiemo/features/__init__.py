"""Features: featurizers, the Ray Data pipeline that runs them, and the store that keeps their output.

`load_featureset` is what training calls: it featurizes whatever the store is missing (Ray starts
only then) and returns arrays row-aligned with the manifest. Importing this package does not import
Ray.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from semiemo.corpora import load_manifest
from semiemo.corpora.manifest import FRAME_PAYLOAD_COLUMNS
from semiemo.features.featureset import FeatureSet

if TYPE_CHECKING:
    from semiemo.features.pipeline import FeaturizeReport

__all__ = ["FeatureSet", "featurize", "load_featureset"]

LENGTH_FIELD = "length"  # a featurizer's valid-length field (padded sequences)


def featurize(corpus: str | pd.DataFrame, features: list[Any], store_root: str | None = None,
              address: str | None = None, **opts: Any) -> "FeaturizeReport":
    """Compute the store's missing shards of `features` for `corpus`; see `pipeline.featurize`."""
    from semiemo.features.pipeline import featurize as run

    return run(load_manifest(corpus), features, store_root=store_root, address=address, **opts)


def load_featureset(corpus: str | pd.DataFrame, features: list[Any], store_root: str | None = None,
                    address: str | None = None, **opts: Any) -> FeatureSet:
    """Featurize what is missing, then load `features` aligned with the corpus manifest.

    Group names are the featurizer names (`is10`, `fbank`, ...). A featurizer with one field named
    after itself gives that group; its length field (`length`, or the featurizer's `length_field`)
    goes to `FeatureSet.lengths`, boolean fields (masks) to `FeatureSet.side`; other fields become
    groups `<name>.<field>`. Its `config.pad_side`, `channel_axis` and `categorical` say how the group
    is read (`FeatureSet.pad_sides`, `channel_axes`, `unscaled`). Rows that failed any requested featurizer are dropped,
    counted in `FeatureSet.dropped` by `<featurizer>:<reason>` (each dropped row counted once, under
    the first featurizer that lost it).
    """
    from semiemo.features.pipeline import featurize as run, resolve_featurizer
    from semiemo.features.store import FeatureStore, store_key

    manifest = load_manifest(corpus).reset_index(drop=True)
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
    side: dict[str, np.ndarray] = {}
    pad_sides: dict[str, str] = {}
    channel_axes: dict[str, int] = {}
    unscaled: set[str] = set()
    for f in fzs:
        lg = loaded[f.name]
        rows = keep[lg.present]  # kept rows among this featurizer's present rows, in manifest order
        layout = field_layout(f, {k: v.dtype for k, v in lg.fields.items()})
        groups.update({group: lg.fields[k][rows] for group, k in layout.groups.items()})
        side.update({f"{f.name}.{k}": lg.fields[k][rows] for k in layout.side_fields})
        if layout.length_field is not None:
            lengths[f.name] = lg.fields[layout.length_field][rows]
        pad_sides.update(layout.pad_sides)
        channel_axes.update(layout.channel_axes)
        unscaled |= layout.unscaled
    payload = [c for c in FRAME_PAYLOAD_COLUMNS if c in manifest.columns]  # now in `groups`; see their docstring
    return FeatureSet(manifest=manifest.loc[keep].drop(columns=payload), groups=groups, lengths=lengths, dropped=dropped, pad_sides=pad_sides,
                      channel_axes=channel_axes, unscaled=frozenset(unscaled), side=side)


@dataclass
class FieldLayout:
    """How one featurizer's stored fields become FeatureSet groups (the rule of `load_featureset`)."""

    groups: dict[str, str]                 # group name -> stored field
    length_field: str | None = None        # stored field holding the group's valid length
    side_fields: list[str] = field(default_factory=list)  # boolean masks: travel beside, never inputs
    pad_sides: dict[str, str] = field(default_factory=dict)
    channel_axes: dict[str, int] = field(default_factory=dict)
    unscaled: set[str] = field(default_factory=set)


def field_layout(featurizer: Any, dtypes: dict[str, Any]) -> FieldLayout:
    """Group names for a featurizer's fields (`dtypes`: field -> numpy dtype), and how to read them."""
    name = featurizer.name
    length_field = getattr(featurizer, "length_field", LENGTH_FIELD)
    masks = [k for k, dt in dtypes.items() if k != length_field and np.dtype(dt) == np.bool_]
    values = [k for k in dtypes if k != length_field and k not in masks]
    groups = {name if (k == name or len(values) == 1) else f"{name}.{k}": k for k in values}
    out = FieldLayout(groups=groups, side_fields=masks, length_field=length_field if length_field in dtypes else None)
    if out.length_field is not None:
        pad_side = getattr(getattr(featurizer, "config", None), "pad_side", "end")
        if pad_side != "end":
            out.pad_sides[name] = pad_side
    if getattr(featurizer, "channel_axis", -1) != -1:
        out.channel_axes[name] = int(featurizer.channel_axis)
    if getattr(featurizer, "categorical", False):
        out.unscaled = set(groups)
    return out


