"""One experiment: a method on a corpus under a protocol, over seeds and folds -> a results table.

`run_experiment` resolves the FeatureSet, encodes labels, and for each (seed, fold): subsamples the
labeled training rows (`label_fraction`) and the unlabeled pool (`unlabeled_quantity`), fits the
z-score on the labeled training split (+ paper 002's unlabeled strategy), and trains the fold —
in-process when `train.workers == 1` (no TorchTrainer start-up: what sweeps need), on a Ray Train
TorchTrainer with DDP otherwise. Closed-form methods (`svm`) are fitted on the same splits. Every fold
appends one row to `<output_dir>/results.parquet` and writes TensorBoard events under
`<output_dir>/tb/seed<seed>/<fold>`.

Labels: `label_map` renames classes; labeled rows outside `labeled_domains` are treated as unlabeled
(their label becomes hidden truth for diagnostics only); `fuzzy_labels` trains on vote distributions
and scores with paper 002's tie rule. `oracle_label` is read only for pseudo-label accuracy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from semiemo.features.featureset import FeatureSet
from semiemo.label_vocabulary import apply_label_map, label_mapper, unmapped_labels
from semiemo.labels import encode_labels, fuzzy_targets, labeled_mask, score_vote_to_level
from semiemo.methods.base import Method, hparams_from_dict
from semiemo.methods.plan import PhasePlan
from semiemo.methods.registry import get_method
from semiemo.normalization import fit_normalization
from semiemo.protocols import Fold, make_folds, subsample_labeled, subsample_unlabeled
from semiemo.recipes.pool_balance import balance_unlabeled  # paper 001: pseudo-class balancing of the pool
from semiemo.recipes.pretrained import stored_requests, teacher_accuracy
from semiemo.train.config import ExperimentConfig
from semiemo.train.distributed import DistributedFold, fit_fold_distributed
from semiemo.train.loop import FoldData, FoldResult, fit_fold, model_spec, score
from semiemo.train.metrics import classification_metrics
from semiemo.train.run_columns import run_columns
from semiemo.train.results import append_results, flatten_metrics
from semiemo.train.streams import Split
from semiemo.train.view_bank import stored_view_share, view_source

console = Console(highlight=False)
ReportCallback = Callable[[dict[str, Any]], None]


@dataclass
class PreparedData:
    """The FeatureSet restricted to the requested groups, with targets every fold shares."""

    features: FeatureSet
    targets: np.ndarray          # [N, C] class distributions (zeros on unlabeled rows)
    labels: np.ndarray           # [N] argmax class, -1 unlabeled
    classes: list[str]
    oracle: np.ndarray           # [N] hidden class of unlabeled rows, -1 unknown (diagnostics only)
    fuzzy_eval: bool
    stored_pool: Any = None      # StoredPool: an external pool too large for memory, streamed from the store
    stored_oracle: np.ndarray | None = None  # [len(stored_pool)] its hidden classes, -1 unknown
    views: dict[str, Any] = field(default_factory=dict)  # policy -> train.view_bank.RowViews (cfg.views), row-aligned


def select_groups(data: FeatureSet, features: list[str]) -> FeatureSet:
    """Groups named in `features` (a featurizer `x` also selects its fields `x.<field>`)."""
    keep = {}
    for name in features:
        found = {k: v for k, v in data.groups.items() if k == name or k.startswith(f"{name}.")}
        if not found:
            raise ValueError(f"feature group {name!r} is not in the FeatureSet; it has {sorted(data.groups)} "
                             f"— set `features` to some of those")
        keep.update(found)
    return data.replace(groups=keep, lengths={k: v for k, v in data.lengths.items() if k in keep})


def prepare_data(cfg: ExperimentConfig, data: FeatureSet) -> PreparedData:
    data = select_groups(data, cfg.features)
    manifest = data.manifest.copy()
    if cfg.label_map:  # canonical emotion names by default (`semiemo.label_vocabulary`)
        manifest["label"] = apply_label_map(manifest["label"], cfg.label_map)
        if "oracle_label" in manifest.columns:
            manifest["oracle_label"] = apply_label_map(manifest["oracle_label"], cfg.label_map)
    hidden = pd.Series([None] * len(manifest), dtype=object)
    if "oracle_label" in manifest.columns:
        hidden = manifest["oracle_label"].astype(object).copy()
    if cfg.labeled_domains is not None:
        outside = labeled_mask(manifest) & ~manifest["domain"].isin(cfg.labeled_domains).to_numpy()
        hidden[outside] = manifest.loc[outside, "label"]
        manifest.loc[outside, "labeled"] = False
    labels, classes = encode_labels(manifest)
    targets = np.zeros((len(manifest), len(classes)), dtype=np.float32)
    has = labels >= 0
    targets[has, labels[has]] = 1.0
    if cfg.fuzzy_labels:
        if "votes" not in manifest.columns:
            raise ValueError("fuzzy_labels=True needs a 'votes' column in the manifest (annotator votes per row)")
        votes = manifest["votes"].to_numpy(dtype=object)
        if cfg.label_map:  # categorical votes follow the renamed classes (e.g. emotions -> arousal levels)
            rename = label_mapper(cfg.label_map)
            votes = np.array([v if v is None or isinstance(v, float) else [rename(x) if isinstance(x, str) else x for x in v]
                              for v in votes] + [None], dtype=object)[:-1]
        with_votes = has & np.array([v is not None and not (isinstance(v, float) and np.isnan(v)) and len(v) > 0 for v in votes])
        numeric = any(isinstance(v, (int, float, np.number)) or str(v).replace(".", "", 1).isdigit()
                      for row in votes[with_votes][:50] for v in row)
        soft = fuzzy_targets(votes[with_votes], classes, score_vote_to_level if numeric else None)
        targets[with_votes] = soft.astype(np.float32)
    index = {c: i for i, c in enumerate(classes)}
    oracle = np.array([index.get(v, -1) if isinstance(v, str) else -1 for v in hidden], dtype=np.int64)
    oracle[has] = -1
    return PreparedData(data.replace(manifest=manifest), targets, labels, classes,
                        oracle, cfg.fuzzy_labels)


def side_groups(cfg: ExperimentConfig) -> tuple[str, ...]:
    """Groups the method reads as side inputs (not z-scored): `Method.side_groups` of its hyperparameters."""

    cls = get_method(cfg.method)
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        return ()
    return tuple(cls.side_groups(hparams_from_dict(cls.HParams, cfg.method_params)))


def fold_data(cfg: ExperimentConfig, prep: PreparedData, train_idx: np.ndarray, fold: Fold,
              unlabeled_idx: np.ndarray, stream_rows: list[np.ndarray] | None = None) -> FoldData:
    """Normalized numpy splits of one fold (z-score fitted on the labeled training rows).

    `stream_rows` (rows chosen in each block of `prep.stored_pool`) make the pool a streamed one:
    its in-memory rows (`unlabeled_idx`) become the head block and the z-score of the pool is fitted by
    streaming over the stored blocks."""
    if stream_rows is not None:
        return _streamed_fold_data(cfg, prep, train_idx, fold, unlabeled_idx, stream_rows)
    splits: dict[str, dict[str, np.ndarray]] = {"train": {}, "val": {}, "test": {}, "unlabeled": {}}
    rows = {"train": train_idx, "val": fold.val_idx, "test": fold.test_idx, "unlabeled": unlabeled_idx}
    lengths: dict[str, dict[str, np.ndarray]] = {k: {} for k in splits}
    features = prep.features
    raw = set(features.unscaled) | set(side_groups(cfg))  # one-hot / categorical groups and a method's side inputs
    norms = {}
    for group, x in features.groups.items():
        ln = features.lengths.get(group)
        norm = None
        if group not in raw:
            norm = norms[group] = fit_normalization(x, train_idx, unlabeled_idx, cfg.normalization, ln,
                                                    **features.layout(group))
        for split, r in rows.items():
            sub_len = None if ln is None else ln[r]
            if norm is None:
                splits[split][group] = np.asarray(x[r], dtype=np.float32)
            else:
                transform = norm.transform_unlabeled if split == "unlabeled" else norm.transform_labeled
                splits[split][group] = transform(x[r], sub_len).astype(np.float32, copy=False)
            if sub_len is not None:
                lengths[split][group] = sub_len
    make = lambda s, targets: Split(splits[s], lengths[s], targets)  # noqa: E731
    return FoldData(
        train=make("train", prep.targets[train_idx]),
        val=make("val", prep.targets[fold.val_idx]),
        test=make("test", prep.targets[fold.test_idx]),
        unlabeled=make("unlabeled", None) if len(unlabeled_idx) else None,
        # hidden truth of the pool: oracle_label of unlabeled rows, the held-back label of rows that
        # label_fraction moved into the pool (never seen by training; diagnostics only)
        unlabeled_oracle=(np.where(prep.labels[unlabeled_idx] >= 0, prep.labels[unlabeled_idx], prep.oracle[unlabeled_idx])
                          if len(unlabeled_idx) else None),
        class_names=list(prep.classes),
        fuzzy_eval=prep.fuzzy_eval,
        train_columns=({"domain": prep.features.manifest["domain"].astype(str).to_numpy()[train_idx]}
                       if "domain" in prep.features.manifest.columns else {}),
        pad_sides={g: v for g, v in features.pad_sides.items() if g in features.groups},
        channel_axes={g: v for g, v in features.channel_axes.items() if g in features.groups},
        view_banks=_view_banks(prep, {"train": train_idx, "unlabeled": unlabeled_idx}, norms),
    )


def _view_banks(prep: PreparedData, rows: dict[str, np.ndarray], norms: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """split -> policy -> ViewBank of the run's stored views (cfg.views), each view z-scored with the scaler
    of the split it stands in for (labeled scaler for training rows, the pool's for unlabeled rows)."""
    banks: dict[str, dict[str, Any]] = {}
    for split, idx in rows.items():
        if not len(idx):
            continue
        def transform(group: str, x: np.ndarray, split: str = split) -> np.ndarray:
            norm = norms.get(group)
            if norm is None:
                return x
            return norm.transform_unlabeled(x) if split == "unlabeled" else norm.transform_labeled(x)
        banks[split] = {policy: views.bank(idx, transform) for policy, views in prep.views.items()}
    return {split: b for split, b in banks.items() if b}


def _streamed_fold_data(cfg: ExperimentConfig, prep: PreparedData, train_idx: np.ndarray, fold: Fold,
                        mem_idx: np.ndarray, stream_rows: list[np.ndarray]) -> FoldData:
    """`fold_data` for a pool streamed from the store: scalers fitted block by block (paper 002's
    strategies, as `normalization.fit_normalization` defines them), pool never materialized."""
    from semiemo.normalization import fit_zscore
    from semiemo.train.pool_stream import PoolView, stream_fit

    features, stored = prep.features, prep.stored_pool
    groups = [g for g in features.groups if g not in features.unscaled and g not in side_groups(cfg)]
    layouts = {g: features.layout(g) for g in features.groups}

    def raw_pool_blocks(with_train: bool):
        if with_train:
            yield ({g: features.groups[g][train_idx] for g in groups},
                   {g: v[train_idx] for g, v in features.lengths.items()})
        if len(mem_idx):
            yield ({g: features.groups[g][mem_idx] for g in groups}, {g: v[mem_idx] for g, v in features.lengths.items()})
        for b, rows in enumerate(stream_rows):
            if len(rows):
                raw, lengths = stored.read_block(b)
                yield {g: raw[g][rows] for g in groups}, {g: v[rows] for g, v in lengths.items()}

    strategy = cfg.normalization
    if strategy == "combine":
        labeled_scalers = unlabeled_scalers = stream_fit(raw_pool_blocks(True), groups, layouts)
    else:
        labeled_scalers = {g: fit_zscore(features.groups[g], train_idx, features.lengths.get(g), **layouts[g]) for g in groups}
        unlabeled_scalers = ({g: None for g in groups} if strategy == "none" else labeled_scalers if strategy == "shift"
                             else stream_fit(raw_pool_blocks(False), groups, layouts))
    from semiemo.normalization import apply_zscore

    data = fold_data(cfg, prep, train_idx, fold, np.zeros(0, np.int64))  # labeled splits, z-score of train rows
    if strategy == "combine":  # the labeled splits share the pool-inclusive scaler
        for split_name, rows in (("train", train_idx), ("val", fold.val_idx), ("test", fold.test_idx)):
            split = getattr(data, split_name)
            for g in groups:
                ln = features.lengths[g][rows] if g in features.lengths else None
                split.inputs[g] = apply_zscore(labeled_scalers[g], features.groups[g][rows], ln, **layouts[g]).astype(np.float32)
    head, head_lengths = None, {}
    if len(mem_idx):
        head_lengths = {g: v[mem_idx] for g, v in features.lengths.items()}
        head = {g: (apply_zscore(unlabeled_scalers[g], x[mem_idx], head_lengths.get(g), **layouts[g])
                    if g in unlabeled_scalers else np.asarray(x[mem_idx])).astype(np.float32, copy=False)
                for g, x in features.groups.items()}
    data.unlabeled_view = PoolView(stored, [np.asarray(r, np.int64) for r in stream_rows], head, head_lengths,
                                   {g: s for g, s in unlabeled_scalers.items()}, layouts)
    oracle_mem = np.where(prep.labels[mem_idx] >= 0, prep.labels[mem_idx], prep.oracle[mem_idx])
    oracle_stream = np.concatenate([prep.stored_oracle[_block_positions(stored, b, r)] for b, r in enumerate(stream_rows)]
                                   ) if stream_rows else np.zeros(0, np.int64)
    data.unlabeled_oracle = np.concatenate([oracle_mem, oracle_stream]).astype(np.int64)
    return data


def _block_positions(stored: Any, b: int, rows: np.ndarray) -> np.ndarray:
    """Global positions (pool order) of rows `rows` of stored block b."""
    start = sum(len(blk.utt_ids) for blk in stored.blocks[:b])
    return start + np.asarray(rows, dtype=np.int64)


def split_pool_choice(mem_pool: np.ndarray, stored: Any, chosen: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Chosen positions of (in-memory pool rows, then the stored pool in block order) → both parts."""
    chosen = np.sort(np.asarray(chosen, dtype=np.int64))
    mem = mem_pool[chosen[chosen < len(mem_pool)]]
    rest = chosen[chosen >= len(mem_pool)] - len(mem_pool)
    sizes = np.array([len(b.utt_ids) for b in stored.blocks], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    return mem, [rest[(rest >= starts[b]) & (rest < starts[b + 1])] - starts[b] for b in range(len(sizes))]


def _fit_closed_form(cls: type, cfg: ExperimentConfig, data: FoldData, seed: int) -> FoldResult:

    t0 = time.perf_counter()
    model = cls(hparams_from_dict(cls.HParams, cfg.method_params), seed=seed)
    layout = {g: {"pad_side": data.pad_sides.get(g, "end"), "channel_axis": data.channel_axes.get(g, -1)}
              for g in data.train.inputs}
    model.fit(data.train.inputs, data.train.targets.argmax(axis=1), data.train.lengths, layout)  # type: ignore[union-attr]
    fit_s = time.perf_counter() - t0
    val = score(model.predict(data.val.inputs, data.val.lengths), data.val.targets, data) if len(data.val) else {}
    test = score(model.predict(data.test.inputs, data.test.lengths), data.test.targets, data) if data.test is not None and len(data.test) else {}
    return FoldResult(test_metrics=test, best_val_metrics=val, best_epoch=0, epochs_run=0, history=[],
                      wall_time_s=fit_s, samples_per_s=len(data.train) / fit_s if fit_s > 0 else float("nan"),
                      run_columns=run_columns([], 0, 0, 0, 0, thresholded_mask=False))


def output_dir(cfg: ExperimentConfig) -> str:
    """`cfg.output_dir`, else `<storage root>/runs/<name>`: a folder or a URI (`semiemo.storage`)."""
    from semiemo import storage

    return storage.join(cfg.output_dir) if cfg.output_dir else storage.location("runs", cfg.name)


def run_fold(cfg: ExperimentConfig, prep: PreparedData, fold: Fold, seed: int, *,
             report: ReportCallback | None = None, run_dir: str | Path | None = None) -> dict[str, Any]:
    """Train and test one (seed, fold); returns its results row (not written; `run_experiment` writes).

    `report` gets one dict per epoch (seed, fold, epoch, train/<loss>, val/<metric>) — how a Tune
    trial reports. With `run_dir`, TensorBoard events go to `<run_dir>/tb/seed<seed>/<fold>`.
    """
    cls = get_method(cfg.method)
    manifest = prep.features.manifest
    t0 = time.perf_counter()
    train_idx = subsample_labeled(manifest, fold.train_idx, cfg.label_fraction, seed)
    consumes = bool(getattr(cls, "consumes_unlabeled", False))
    pool = fold.unlabeled_idx
    if cfg.unlabeled_from_rest and len(train_idx) < len(fold.train_idx):
        pool = np.concatenate([pool, np.setdiff1d(fold.train_idx, train_idx)])
    stream_rows = None
    if consumes and prep.stored_pool is not None:
        total = len(pool) + len(prep.stored_pool)
        chosen = subsample_unlabeled(np.arange(total), cfg.unlabeled_quantity, seed)
        unlabeled_idx, stream_rows = split_pool_choice(pool, prep.stored_pool, chosen)
    else:
        unlabeled_idx = subsample_unlabeled(pool, cfg.unlabeled_quantity, seed) if consumes else np.zeros(0, np.int64)
    plan = cls.plan(hparams_from_dict(cls.HParams, cfg.method_params)) if issubclass(cls, Method) else None
    if cfg.single_stream_domains is not None and not isinstance(getattr(plan, "epoch", None), PhasePlan):
        # after the pool: labeled rows of other domains are left out, not turned into unlabeled rows
        train_idx = train_idx[manifest["domain"].astype(str).isin(cfg.single_stream_domains).to_numpy()[train_idx]]
    data = fold_data(cfg, prep, train_idx, fold, unlabeled_idx, stream_rows)
    n_unlabeled_total = len(unlabeled_idx) + (int(sum(len(r) for r in stream_rows)) if stream_rows is not None else 0)
    balance_info: dict[str, Any] = {}
    if cfg.unlabeled_balance is not None and data.unlabeled is not None and stream_rows is None:
        data, balance_info = balance_unlabeled(data, cfg.unlabeled_balance, cfg.train,
                                               model_spec(data, cfg.model_hidden, cfg.model_dropout, cfg.fusion), seed)
        n_unlabeled_total = len(data.unlabeled)
    tb_dir = Path(run_dir) / "tb" / f"seed{seed}" / fold.name if run_dir is not None else None
    # accuracy (and chance level) of the labels a pretrained part was taught with: paper 004's proxies
    teacher, teacher_chance = float("nan"), float("nan")

    if not (isinstance(cls, type) and issubclass(cls, Method)):
        result = _fit_closed_form(cls, cfg, data, seed)
        if tb_dir is not None and result.test_metrics:
            from semiemo.train.tb_logging import TensorBoardLogger

            with TensorBoardLogger(tb_dir) as logger:
                logger.log_final(result.test_metrics, data.class_names)
    else:
        spec = model_spec(data, cfg.model_hidden, cfg.model_dropout, cfg.fusion, cfg.model_backbone, cfg.transformer)
        stored = stored_requests(plan.pretrained, seed=seed) if plan is not None else {}
        pretrained = {slot: entry["weights"] for slot, entry in stored.items()}
        if stored:
            teacher, teacher_chance = teacher_accuracy(stored)
        if cfg.train.workers > 1:
            from semiemo import storage as storage_root

            # rank 0 may run on another node: it is told the URI, never this node's staging folder
            job = DistributedFold(cfg.method, dict(cfg.method_params), cfg.train, spec, seed,
                                  storage_root.remote_of(tb_dir) if tb_dir is not None else None, pretrained=pretrained)
            storage = storage_root.join(storage_root.remote_of(run_dir) if run_dir is not None else output_dir(cfg), "ray")
            result = fit_fold_distributed(data, job, run_name=f"{cfg.name}-seed{seed}-{fold.name}", storage_path=storage,
                                          cpus_per_worker=cfg.train.cpus_per_worker)
        else:
            epoch_report = None
            if report is not None:
                def epoch_report(scalars: dict[str, float], _state: dict[str, Any]) -> None:
                    report({"seed": seed, "fold": fold.name, **scalars})
            logger = None
            if tb_dir is not None:
                from semiemo.train.tb_logging import TensorBoardLogger

                logger = TensorBoardLogger(tb_dir)
            try:
                result = fit_fold(data, cfg.method, cfg.method_params, cfg.train, spec, seed=seed,
                                  report=epoch_report, logger=logger, pretrained=pretrained)
                if logger is not None:
                    logger.log_final(result.test_metrics, data.class_names, step=result.epochs_run)
            finally:
                if logger is not None:
                    logger.close()

    val_scalars = {k: v for k, v in result.best_val_metrics.items() if k != "confusion"}
    return {
        "experiment": cfg.name, "corpus": cfg.corpus, "features": ",".join(cfg.features), "method": cfg.method,
        "protocol": cfg.protocol.name, "seed": seed, "fold": fold.name, "label_fraction": cfg.label_fraction,
        "normalization": cfg.normalization, "workers": cfg.train.workers,
        "n_train": len(train_idx), "n_val": len(fold.val_idx), "n_test": len(fold.test_idx), "n_unlabeled": n_unlabeled_total,
        "unlabeled_streamed": stream_rows is not None,
        **({"unlabeled_predicted_counts": str(balance_info["predicted_counts"]),
            "unlabeled_balanced_counts": str(balance_info["balanced_counts"])} if balance_info else {}),
        "n_dropped_rows": int(sum(prep.features.dropped.values())),
        "best_epoch": result.best_epoch, "epochs_run": result.epochs_run, "stopped_early": result.stopped_early,
        "train_time_s": result.wall_time_s, "wall_time_s": time.perf_counter() - t0, "train_steps": result.steps_run,
        "train_s_per_step_steady": result.steady_step_s,
        "samples_per_s": result.samples_per_s, "pseudo_label_accuracy": result.pseudo_label_accuracy,
        "teacher_accuracy": teacher, "teacher_chance": teacher_chance,
        "unlabeled_rows_drawn": result.unlabeled_rows_drawn, "unlabeled_draws": result.unlabeled_draws,
        "validation_speaker_independent": fold.validation_group_independent, **result.run_columns,
        "view_source": view_source(data.view_banks),
        "stored_view_share_unlabeled": stored_view_share(data.view_banks, "unlabeled"),
        **flatten_metrics(result.test_metrics, "test_"), **flatten_metrics(val_scalars, "val_"),
        "config_json": cfg.model_dump_json(),
    }


def attach_unlabeled_pool(cfg: ExperimentConfig, data: FeatureSet) -> tuple[FeatureSet, Any]:
    """The external pool of `cfg.unlabeled`, featurized on first use (Ray Data, resumable, errors tabled).

    At most `train.unlabeled_memory_budget_mb` of pool features: appended to the target's FeatureSet
    (rows unlabeled). Larger: left in the store and returned as a `StoredPool` that training streams."""
    from semiemo.corpora.unlabeled_pool import POOL_COLUMN, join_parts, pool_parts
    from semiemo.features.pipeline import resolve_featurizer
    from semiemo.features.pool import featurize_pool, load_pool_featureset
    from semiemo.train.pool_stream import open_stored_pool, pool_memory_mb

    parts = pool_parts(cfg.unlabeled)  # type: ignore[arg-type]
    pool_manifest = join_parts(parts, cfg.unlabeled or "", cfg.unlabeled_shares_speakers)
    clash = set(data.manifest["utt_id"].astype(str)) & set(pool_manifest["utt_id"].astype(str))
    if clash:
        raise ValueError(f"{len(clash)} utt_id(s) of the unlabeled pool {cfg.unlabeled!r} are also in the target corpus "
                         f"(e.g. {sorted(clash)[:3]}); give the pool other ids")
    for line in pool_label_warnings(cfg, data.manifest, pool_manifest):
        console.print(f"[yellow]warning:[/] {line}")
    featurizers = [resolve_featurizer(f.split(".")[0]) for f in dict.fromkeys(cfg.features)]
    featurize_pool(parts, featurizers, cfg.feature_store)  # each corpus under its own store key
    target = select_groups(data.replace(manifest=data.manifest.assign(**{POOL_COLUMN: ""})), cfg.features)
    stored = open_stored_pool(parts, pool_manifest, featurizers, cfg.feature_store, sorted(target.groups))
    lost = len(pool_manifest) - len(stored)
    size_mb = pool_memory_mb(len(stored), stored.bytes_per_row)
    streamed = size_mb > cfg.train.unlabeled_memory_budget_mb
    console.print(f"unlabeled pool [cyan]{cfg.unlabeled}[/]: {len(stored):,} rows, {size_mb:,.0f} MB of features"
                  + (f" ({lost:,} without features: see the store's errors table)" if lost else "")
                  + (f" → streamed from the store (budget {cfg.train.unlabeled_memory_budget_mb:,.0f} MB)" if streamed
                     else " → in memory"))
    if streamed:
        return target, stored
    pool = select_groups(load_pool_featureset(parts, pool_manifest, [f.name for f in featurizers], cfg.feature_store),
                         cfg.features)
    return target.append(pool), None


def pool_label_warnings(cfg: ExperimentConfig, target: pd.DataFrame, pool: pd.DataFrame) -> list[str]:
    """One line per pool corpus whose hidden labels (after `cfg.label_map`) are not the target's classes:
    pseudo-label accuracy can only be scored on the rows whose labels map."""
    from semiemo.corpora.unlabeled_pool import POOL_COLUMN

    if "oracle_label" not in pool.columns or "label" not in target.columns:
        return []
    labeled = labeled_mask(target) if "labeled" in target.columns else target["label"].notna().to_numpy()
    classes = set(apply_label_map(target["label"][labeled], cfg.label_map))
    lines = []
    for name, rows in pool.groupby(POOL_COLUMN, sort=False):
        truth = [v for v in rows["oracle_label"] if isinstance(v, str)]
        missing = unmapped_labels(apply_label_map(truth, cfg.label_map), classes)
        if missing:
            shown = ", ".join(f"{k} ({n})" for k, n in missing.most_common(6))
            lines.append(f"unlabeled pool {name!r}: {sum(missing.values())} of {len(truth)} hidden labels do not map onto "
                         f"the target's classes {sorted(classes)}: {shown}; pseudo-label accuracy skips them — pass "
                         "--label-map (a corpus name such as emodb, or 'code:label;code:label')")
    return lines


def with_unlabeled_pool(cfg: ExperimentConfig, data: FeatureSet) -> FeatureSet:
    """The target's FeatureSet with the external pool's rows appended (in memory, whatever its size)."""
    budget = cfg.model_copy(update={"train": cfg.train.model_copy(update={"unlabeled_memory_budget_mb": float("inf")})})
    return attach_unlabeled_pool(budget, data)[0]


def _oracle_classes(cfg: ExperimentConfig, labels: np.ndarray, classes: list[str]) -> np.ndarray:
    """Hidden labels (strings) of a stored pool as class indices of the target (-1 unknown or foreign)."""
    series = pd.Series(labels, dtype=object)
    if cfg.label_map:
        series = pd.Series(apply_label_map(series, cfg.label_map), dtype=object)
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index.get(v, -1) if isinstance(v, str) else -1 for v in series], dtype=np.int64)


def _has_pool(data: FeatureSet) -> bool:
    """True when an external pool is already appended (e.g. once for all methods of a comparison)."""
    from semiemo.corpora.unlabeled_pool import POOL_COLUMN

    return POOL_COLUMN in data.manifest.columns and bool((data.manifest[POOL_COLUMN] != "").any())


def _check_method(cfg: ExperimentConfig) -> None:

    cls = get_method(cfg.method)
    hparams_from_dict(cls.HParams, cfg.method_params)


def stored_views(cfg: ExperimentConfig, prep: PreparedData) -> dict[str, Any]:
    """cfg.views' stored audio views (policy -> RowViews) row-aligned with `prep`'s FeatureSet; rows of an
    appended external pool have none (they get feature-space views). Raises MissingStoredViews (naming the
    store entry and the featurize command) when asked-for views are not stored."""
    if not cfg.views:
        return {}
    from semiemo.features.audio_views import read_stored_views

    if cfg.unlabeled_balance is not None:
        raise ValueError("views (stored audio views) and unlabeled_balance cannot be combined yet: the balanced pool is "
                         "re-drawn after the views are aligned with it; drop one of them")
    features = prep.features
    groups = {g: g not in features.lengths and g not in features.unscaled for g in features.groups}
    utt_ids = features.manifest["utt_id"].astype(str).to_numpy(dtype=object)
    return {policy: read_stored_views(cfg.corpus, cfg.features, groups, policy, k, utt_ids, cfg.views_seed,
                                      cfg.feature_store)
            for policy, k in sorted(cfg.views.items())}


def run_experiment(cfg: ExperimentConfig, data: FeatureSet | None = None,
                   report: ReportCallback | None = None) -> pd.DataFrame:
    """All seeds x folds of `cfg`; one results row per (seed, fold), also appended to results.parquet."""
    _check_method(cfg)  # a misspelled method or hyperparameter fails before any featurization
    if data is None:
        from semiemo.features import load_featureset

        data = load_featureset(cfg.corpus, cfg.features, cfg.feature_store)
    stored = None
    if cfg.unlabeled and not _has_pool(data):
        data, stored = attach_unlabeled_pool(cfg, data)
    prep = prepare_data(cfg, data)
    prep.views = stored_views(cfg, prep)
    if stored is not None:
        prep.stored_pool, prep.stored_oracle = stored, _oracle_classes(cfg, stored.oracle_labels, prep.classes)
    from semiemo.storage import writable

    rows = []
    with writable(output_dir(cfg)) as run_dir:  # a URI's files are staged here and uploaded at the end
        for seed in cfg.seeds:
            folds = make_folds(prep.features.manifest, cfg.protocol, seed)
            for k, fold in enumerate(folds):
                row = run_fold(cfg, prep, fold, seed, report=report, run_dir=run_dir)
                append_results([row], run_dir)
                rows.append(row)
                console.print(
                    f"[bold]{cfg.method}[/] seed {seed} fold {k + 1}/{len(folds)} [cyan]{fold.name}[/]  "
                    f"UA {row.get('test_ua', float('nan')):.3f}  WA {row.get('test_wa', float('nan')):.3f}  "
                    f"F1w {row.get('test_f1_weighted', float('nan')):.3f}  best epoch {row['best_epoch']}/{row['epochs_run']}  "
                    f"n_train {row['n_train']} n_unl {row['n_unlabeled']}{_pool_use(row)}  {row['wall_time_s']:.1f} s"
                )
    for line in run_notes(rows):
        console.print(f"[yellow]note:[/] {line}")
    return pd.DataFrame(rows)


def _pool_use(row: dict[str, Any]) -> str:
    """' (drew 1,234 distinct, 2.1 draws each)' for runs that drew from an unlabeled pool."""
    drawn = int(row.get("unlabeled_rows_drawn") or 0)
    if not drawn:
        return ""
    return f" (drew {drawn:,} distinct, {row['unlabeled_draws'] / drawn:.1f} draws each)"


def run_notes(rows: list[dict[str, Any]]) -> list[str]:
    """What a reader of the run summary must know: model selection that was not speaker-independent,
    unlabeled pools larger than what training drew."""
    notes = []
    dependent = [r["fold"] for r in rows if r.get("validation_speaker_independent") is False]
    if dependent:
        notes.append(f"validation is NOT speaker-independent in {len(dependent)} of {len(rows)} run(s) "
                     f"({', '.join(sorted(set(map(str, dependent)))[:4])}…): too few training speakers to hold some out, "
                     "so model selection used rows of training speakers (test stays speaker-independent)")
    short = [r for r in rows if r.get("n_unlabeled") and 0 < int(r.get("unlabeled_rows_drawn") or 0) < int(r["n_unlabeled"])]
    if short:
        worst = min(short, key=lambda r: r["unlabeled_rows_drawn"] / r["n_unlabeled"])
        notes.append(f"training drew only {worst['unlabeled_rows_drawn']:,} of {worst['n_unlabeled']:,} unlabeled rows "
                     f"({len(short)} run(s) drew less than their whole pool): more pool than that adds nothing at this budget")
    return notes
