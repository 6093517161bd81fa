"""Augmented audio views as a featurization product: K rendered copies of each utterance, featurized.

`AudioViews(base, policy, views=K)` is a featurizer like any other, so the Ray Data pipeline runs it on
its workers, stores it block by block (resumable), and tables a row whose rendering or featurization
fails with its reason. It decodes the utterance once, renders K views with an `augment_policies`
policy, runs the base featurizer (e.g. `is10`) on the K·n waveforms in one call, and stores each of
the base's fields with a leading view axis: an utterance's row in the entry holds its K views
(`[K, *shape]`, view-indexed), so every utterance stays one row and the store's one-row-per-utt_id
invariants hold. The entry is keyed by the base featurizer's config, the policy (name, seed, recipe
version) and K: a different policy or K is a different entry, the same one is reused.

`load_views` is the reader: the stored views of a corpus, row-aligned with its manifest, featurizing
whatever is missing first. Feature-space augmentation (`methods.augment`) remains the fallback
wherever no views are stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from semiemo.features.augment_policies import AugmentPolicy, build_policy, render_view
from semiemo.features.base import SAMPLE_RATE, FieldSpec, config_hash

VIEWS_SUFFIX = "views"


@dataclass(frozen=True)
class AudioViewsConfig:
    base: str                 # the base featurizer's name
    base_config_hash: str     # ... and its config hash: new base settings, new views
    policy: str               # json of AugmentPolicy.config() (name, seed, version, recipe)
    views: int                # K


class AudioViews:
    """K augmented views per utterance, featurized by `base` (see the module docstring)."""

    needs_audio = True

    def __init__(self, base: Any, policy: AugmentPolicy, views: int):
        if views < 1:
            raise ValueError(f"--views must be at least 1, got {views}")
        self.base, self.policy, self.views = base, policy, int(views)
        self.name = views_name(base.name, policy.name)
        self.needs_columns = tuple(getattr(base, "needs_columns", ()))
        self.needs_any_columns = tuple(getattr(base, "needs_any_columns", ()))
        self.model_backed = bool(getattr(base, "model_backed", False))
        self._pipeline = None

    @property
    def config(self) -> AudioViewsConfig:
        return AudioViewsConfig(self.base.name, config_hash(self.base.config),
                                json.dumps(self.policy.config(), sort_keys=True), self.views)

    def schema(self) -> dict[str, FieldSpec]:
        return {k: FieldSpec((self.views, *spec.shape), spec.dtype) for k, spec in self.base.schema().items()}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_pipeline": None}  # audiomentations objects are rebuilt on the worker

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        if self._pipeline is None:
            self._pipeline = build_policy(self.policy.name)
        n, k = len(batch["audio"]), self.views
        utt_ids = [str(u) for u in batch["utt_id"]]
        rendered = [render_view(self._pipeline, audio, SAMPLE_RATE, self.policy.seed, utt_ids[r], v)
                    for r, audio in enumerate(batch["audio"]) for v in range(k)]
        expanded: dict[str, Any] = {"audio": rendered}
        for column, values in batch.items():
            if column != "audio":
                expanded[column] = np.repeat(np.asarray(values, dtype=object if column == "utt_id" else None), k, axis=0)
        out = self.base(expanded)
        return {key: np.asarray(value).reshape(n, k, *np.asarray(value).shape[1:]) for key, value in out.items()}


def views_name(base: str, policy: str) -> str:
    """Store name of the views of `base` under `policy`: 'is10_strong_views'."""
    return f"{base}_{policy}_{VIEWS_SUFFIX}"


def make_views(features: list[str], views: int, augment: str, seed: int = 0) -> list[AudioViews]:
    """One `AudioViews` per base featurizer name."""
    from semiemo.features.registry import make_featurizer

    policy = AugmentPolicy(name=augment, seed=seed)
    return [AudioViews(make_featurizer(name), policy, views) for name in features]


@dataclass
class ViewSet:
    """Stored views of a corpus: `fields[name]` is [N_present, K, *shape] for the manifest rows where
    `present` is True (rows whose every view rendered and featurized)."""

    utt_ids: np.ndarray        # [N] the requested ids, in order
    present: np.ndarray        # [N] bool
    fields: dict[str, np.ndarray]
    policy: AugmentPolicy
    views: int


def load_views(corpus: str | pd.DataFrame, feature: str, augment: str = "strong", views: int = 4, seed: int = 0,
               store_root: str | None = None, utt_ids: Any = None, **opts: Any) -> ViewSet:
    """The K stored views of `feature` under policy `augment` for `corpus` (featurized first where missing),
    aligned with `utt_ids` (default: the manifest's)."""
    from semiemo.corpora import load_manifest
    from semiemo.features.pipeline import featurize
    from semiemo.features.store import FeatureStore, store_key

    manifest = load_manifest(corpus)
    fz = make_views([feature], views, augment, seed)[0]
    report = featurize(manifest, [fz], store_root=store_root, **opts)
    entry = FeatureStore(store_root).entry(store_key(report.manifest_hash, fz))
    ids = np.asarray(manifest["utt_id"].astype(str) if utt_ids is None else utt_ids, dtype=object)
    loaded = entry.load_groups(ids)
    return ViewSet(ids, loaded.present, loaded.fields, fz.policy, fz.views)


class MissingStoredViews(ValueError):
    """Asked-for stored views that are not in the store (or not finished): names the entry and the command."""


def featurize_command(corpus: str, feature: str, augment: str, views: int, seed: int = 0,
                      store_root: str | None = None) -> str:
    """The `semiemo featurize` command that renders these views (the fix a MissingStoredViews names)."""
    return (f"semiemo featurize --corpus {corpus} --features {feature} --views {views} --augment {augment}"
            + (f" --augment-seed {seed}" if seed else "") + (f" --store {store_root}" if store_root else ""))


def stored_view_entries(corpus: str, features: list[str], augment: str, views: int, seed: int = 0,
                        store_root: str | None = None) -> list[tuple[AudioViews, Any]]:
    """(featurizer, store entry) of the stored views of each feature of `features`; raises MissingStoredViews,
    naming the entry and the featurize command, where one is absent or unfinished. Reads only metadata."""
    from semiemo.corpora import load_manifest
    from semiemo.corpora.manifest import manifest_hash
    from semiemo.features.store import FeatureStore, store_key

    mhash = manifest_hash(load_manifest(corpus))
    store = FeatureStore(store_root)
    out = []
    for feature in dict.fromkeys(f.split(".")[0] for f in features):
        fz = make_views([feature], views, augment, seed)[0]
        entry = store.entry(store_key(mhash, fz))
        meta = entry.meta()
        if meta is None or not meta.get("complete", False):
            state = "is not in" if meta is None else "is unfinished in"
            raise MissingStoredViews(
                f"stored {augment} views (K={views}) of {feature!r} for corpus {corpus!r}: store entry {entry.key} "
                f"{state} the feature store {store.uri}; make them with: "
                f"{featurize_command(corpus, feature, augment, views, seed, store_root)} "
                f"(or drop '{augment}:{views}' from --views to use feature-space views)")
        out.append((fz, entry))
    return out


def read_stored_views(corpus: str, features: list[str], groups: dict[str, bool], augment: str, views: int,
                      utt_ids: Any, seed: int = 0, store_root: str | None = None) -> "RowViews":
    """Stored views of `corpus` under policy `augment` with K=`views`, row-aligned with `utt_ids`, for the
    FeatureSet groups in `groups` (group -> True where it is a fixed-shape group views can replace).

    Never featurizes: a training run that asks for views which are not stored (or not finished) fails
    with `MissingStoredViews`, naming the store entry and the featurize command that makes it."""
    from semiemo.features import field_layout
    from semiemo.train.view_bank import RowViews

    entries = stored_view_entries(corpus, features, augment, views, seed, store_root)
    ids = np.asarray(utt_ids, dtype=object)
    present = np.ones(len(ids), dtype=bool)
    fields: dict[str, np.ndarray] = {}
    for fz, entry in entries:
        specs = entry.field_specs()
        layout = field_layout(fz.base, {k: np.dtype(s.dtype) for k, s in specs.items()})
        wanted = {group: stored for group, stored in layout.groups.items() if groups.get(group)}
        if not wanted:
            continue
        loaded = entry.load_groups(ids, list(wanted.values()))
        present &= loaded.present
        for group, stored in wanted.items():
            arr = loaded.fields[stored]
            full = np.zeros((len(ids), *arr.shape[1:]), dtype=np.float32)
            full[loaded.present] = arr
            fields[group] = full
    if not fields:
        raise MissingStoredViews(f"stored {augment} views of {features} hold none of the run's fixed-shape feature "
                                 f"groups {sorted(g for g, ok in groups.items() if ok)}: nothing for the views to replace")
    return RowViews(augment, present, fields, views)
