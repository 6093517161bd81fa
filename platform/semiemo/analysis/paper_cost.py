"""What `--budget paper` would cost: optimizer steps counted from the paper-budget spec, times a per-step
cost measured here by training that exact configuration for a few steps.

Per analysis: every grid point's paper-sized config (model, batch, features as the paper sets them) is
trained for `measure_steps` steps per epoch × 2 epochs on the analysis's quick corpus (the same feature
shapes; the step cost does not depend on the pool's size), and `train_time_s / train_steps` is its
per-step cost on this device. Configurations that cost the same (they differ only in float
hyperparameters such as λ or τ) are measured once. The step count is

    seeds × folds × epochs × steps per epoch

with folds from the protocol on the corpus, steps per epoch = `train.steps_per_epoch`, else the
labeled training rows (the paper corpus's labeled rows × the fold's training share × label fraction)
over the batch size, or the unlabeled pool over μ·B for a method whose epoch is one pass over the pool.
Evaluation, featurization, front-end pre-training (paper 004, its own job) and scheduling are not
counted: the estimate is a floor.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass
from typing import Any

from semiemo.methods.plan import PhasePlan, TrainingPlan, UnlabeledPass
from semiemo.tune.space import SearchSpace, experiment_config

PAPER_POOL = 500_000


@dataclass
class Cost:
    name: str
    points: int
    runs: int                 # trials × seeds × folds
    steps: int                # optimizer steps in total
    s_per_step: float         # measured, mean over the analysis's distinct configurations
    hours: float              # steps × measured per-step cost, on the measuring device
    note: str = ""


def grid_points(spec: SearchSpace) -> list[dict[str, Any]]:
    """The sweep's trials as parameter dicts (Optuna: num_samples trials costing what the first point costs)."""
    from semiemo.tune.space import grid_points as points

    pts = points(spec)
    return pts[:1] * spec.num_samples if spec.search_kind != "grid" else pts


def cost_key(cfg: Any) -> str:
    """Configurations with the same key cost the same per step (floats such as λ, τ, lr do not matter;
    nor does which pre-trained front-end a fine-tuning run starts from)."""
    mp = {k: v for k, v in _as_measured(cfg.method_params).items() if not isinstance(v, float)}
    return json.dumps({"method": cfg.method, "features": list(cfg.features), "batch": cfg.train.batch_size,
                       "mu": cfg.train.mu, "hidden": list(cfg.model_hidden), "mp": mp,
                       "extra": {k: str(v) for k, v in cfg.model_dump().items() if k in ("transformer", "backbone")}},
                      sort_keys=True, default=str)


def labeled_rows(cfg: Any, manifest: Any, only: dict | None = None, exclude: dict | None = None) -> int:
    """Labeled rows of the paper corpus (a synthetic spec's counts; else the manifest's), optionally those of
    a phase's filter (`{"domain": ("acted",)}`: the synthetic corpus's acted rows are its `acted` count)."""
    corpus = str(cfg.corpus)
    if corpus.split(":", 1)[0] == "synthetic":
        from semiemo.corpora import parse_synthetic_spec

        sc = parse_synthetic_spec(corpus.split(":", 1)[1] if ":" in corpus else "")
        acted = {"domain": ("acted",)}
        if only is not None:
            return int(sc.n_acted) if only == acted else 0
        return int(sc.n_wild_labeled) if exclude == acted else int(sc.n_acted + sc.n_wild_labeled)
    m = manifest[manifest["labeled"].astype(bool)]
    for col, vals in (only or {}).items():
        m = m[m[col].isin(vals)]
    for col, vals in (exclude or {}).items():
        m = m[~m[col].isin(vals)]
    return len(m)


def pool_rows(cfg: Any) -> int:
    corpus = str(cfg.corpus)
    if corpus.split(":", 1)[0] == "synthetic":
        from semiemo.corpora import parse_synthetic_spec

        return int(parse_synthetic_spec(corpus.split(":", 1)[1] if ":" in corpus else "").n_unlabeled)
    return PAPER_POOL


def steps_per_epoch(cfg: Any, manifest: Any, folds: int) -> int:
    b = cfg.train.batch_size
    share = (1 - 1 / max(folds, 2)) * (1 - cfg.protocol.validation_fraction) * cfg.label_fraction
    epoch = _plan(cfg).epoch
    if isinstance(epoch, PhasePlan):  # one pass per phase (train.steps_per_epoch does not apply)
        total = 0
        for ph in epoch.phases:
            if ph.unlabeled and pool_rows(cfg):
                n = math.ceil(pool_rows(cfg) / (max(1, cfg.train.mu) * b))
            else:
                n = math.ceil(labeled_rows(cfg, manifest, ph.labeled_filter, ph.labeled_exclude) * share / b)
            total += min(n, ph.max_steps) if ph.max_steps else n
        return max(1, total)
    if cfg.train.steps_per_epoch:
        return int(cfg.train.steps_per_epoch)
    pool_steps = math.ceil(pool_rows(cfg) / (max(1, cfg.train.mu) * b)) if _plan(cfg).uses_unlabeled else 0
    if isinstance(epoch, UnlabeledPass):
        return pool_steps
    return max(1, math.ceil(labeled_rows(cfg, manifest) * share / b), pool_steps)  # train.budget's rule


def measure_step(cfg: Any, data: Any, measure_corpus: str, steps: int) -> float:
    """Seconds per optimizer step of `cfg`, trained here for 2 × `steps` steps on `data`: the second
    epoch's steps (the first pays for warm-up: CUDA context, cuDNN autotuning), else all of them."""
    from semiemo.train.experiment import run_experiment

    raw = cfg.model_dump()
    raw["corpus"] = measure_corpus
    raw["seeds"] = [0]
    raw["protocol"]["max_folds"] = 1
    raw["label_fraction"] = 1.0  # batches are B rows whatever the fraction: only the step count depends on it
    if raw.get("unlabeled_quantity"):
        raw["unlabeled_quantity"] = None  # an unlabeled batch is μ·B rows whatever the pool: only the count depends on it
    raw["method_params"] = _as_measured(raw.get("method_params", {}))
    # a method with a pre-training / warm-up phase (SAE, SSBase, DCMKT) is timed through it and 2 epochs after
    raw["train"].update(epochs=warmup_epochs(cfg) + 2, steps_per_epoch=steps)
    with tempfile.TemporaryDirectory() as tmp:
        raw["output_dir"] = tmp
        row = run_experiment(type(cfg).model_validate(raw), data=data).iloc[0]
    steady = float(row.get("train_s_per_step_steady", float("nan")))
    return steady if steady == steady else float(row["train_time_s"]) / max(1, int(row.get("train_steps", 0) or 1))


def warmup_epochs(cfg: Any) -> int:
    """Epochs of `cfg`'s pre-training / warm-up phase (its `selection_start_epoch`), read off its hyperparameters."""
    return _plan(cfg).selection_start_epoch


def _plan(cfg: Any) -> TrainingPlan:
    """The method's TrainingPlan for cfg's hyperparameters (closed-form methods: the default plan)."""
    from semiemo.methods.registry import get_method

    cls, hp = get_method(cfg.method), _hparams(cfg)
    return cls.plan(hp) if hp is not None and hasattr(cls, "plan") else TrainingPlan()


def _hparams(cfg: Any) -> Any:
    from semiemo.methods.base import hparams_from_dict
    from semiemo.methods.registry import get_method

    cls = get_method(cfg.method)
    return hparams_from_dict(cls.HParams, dict(cfg.method_params)) if getattr(cls, "HParams", None) else None


def _as_measured(method_params: dict[str, Any]) -> dict[str, Any]:
    """Which pre-trained weights a front-end holds does not change a fine-tuning step's cost: measured with a
    randomly initialised one ("R"). The pre-training is a separate job (`semiemo pretrain`), not counted."""
    if method_params.get("frontend") not in (None, "R"):
        return {**method_params, "frontend": "R"}
    return dict(method_params)


def measurement_features(paper: SearchSpace) -> list[Any]:
    """Every feature group some grid point of `paper` trains on (a sweep over features or arms included)."""
    feats: dict[str, Any] = {}
    for params in grid_points(paper):
        for f in experiment_config(paper, params, seed=0).features:
            feats.setdefault(json.dumps(f, sort_keys=True, default=str), f)
    return list(feats.values())


def measurement_data(paper: SearchSpace, quick: SearchSpace) -> Any:
    """The quick corpus featurized with every group the paper grid asks for: the per-step cost depends on
    the feature shapes and the model, not on how many rows the corpus has."""
    from semiemo.features import load_featureset

    cfg = quick.base_config()
    return load_featureset(cfg.corpus, measurement_features(paper), store_root=cfg.feature_store)


def estimate(paper: SearchSpace, quick: SearchSpace, data: Any, measure_steps: int = 3,
             cache: dict[str, float] | None = None, manifest: Any = None) -> Cost:
    """`manifest`: the corpus's full manifest when `data` holds only some of its rows (a snapshot)."""
    from semiemo.protocols import make_folds

    cache = {} if cache is None else cache
    manifest = data.manifest if manifest is None else manifest
    runs = steps = 0
    seconds = 0.0
    measured: list[float] = []
    notes = []
    for params in grid_points(paper):
        cfg = experiment_config(paper, params, seed=0)
        folds = len(make_folds(manifest, cfg.protocol.model_copy(update={"max_folds": None}), 0))
        key = cost_key(cfg)
        if key not in cache:
            try:
                cache[key] = measure_step(cfg, data, str(quick.base_config().corpus), measure_steps)
            except Exception as e:  # a configuration that cannot be measured is said, not guessed
                cache[key] = float("nan")
                notes.append(f"{params}: not measured ({type(e).__name__}: {str(e).splitlines()[0][:80]})")
        elif cache[key] != cache[key]:
            notes.append(f"{params}: not measured (its configuration failed before)")
        n_runs = len(paper.seeds) * folds
        n_steps = n_runs * cfg.train.epochs * steps_per_epoch(cfg, manifest, folds)
        runs += n_runs
        steps += n_steps
        if cache[key] == cache[key]:
            seconds += n_steps * cache[key]
            measured.append(cache[key])
    mean = sum(measured) / len(measured) if measured else float("nan")
    return Cost(paper.name, len(grid_points(paper)), runs, steps, mean, seconds / 3600 if measured else float("nan"),
                "; ".join(notes))


def estimate_all(names: list[str] | None = None, measure_steps: int = 3, out: Any = None,
                 snapshots: Any = None, snapshot_out: Any = None, snapshot_mb: float = 24.0) -> list[Cost]:
    """Every analysis (or `names`) at `--budget paper`; writes `<reproduce>/paper/estimate.md` (and .json).

    Resumable: an analysis already in `estimate.json`, measured on this same device, is kept, not re-measured.

    `snapshot_out`: write each analysis's measurement data there (`features/snapshot.py`) and measure
    nothing — carry the folder to a GPU node. `snapshots`: measure from such a folder instead of the
    feature store (no featurizing there: Ray, openSMILE and librosa need not be installed)."""
    import time
    from pathlib import Path

    from rich.console import Console

    from semiemo.analysis.reproduce import reproduce_root, search_spaces_dir
    from semiemo.tune.space import load_spec

    console = Console(highlight=False)
    costs, cache = [], {}
    index = _read_index(snapshots) if snapshots is not None else {}
    root = Path(out or reproduce_root("paper"))
    done = {} if snapshot_out is not None else _measured_before(root / "estimate.json")
    for path in sorted(search_spaces_dir().glob("*.yaml")):
        if names is not None and path.stem not in names:
            continue
        full = load_spec(path)
        if not full.in_all and names is None:
            continue
        paper, quick = load_spec(path, budget="paper"), load_spec(path, budget="quick")
        t0 = time.time()
        if snapshot_out is not None:
            try:
                console.print(f"{paper.name}: snapshot {export_snapshot(paper, quick, Path(snapshot_out), snapshot_mb)}")
            except Exception as e:  # e.g. a corpus not on this machine: said, the rest go on
                console.print(f"[yellow]{paper.name}: no snapshot ({type(e).__name__}: {str(e).splitlines()[0][:160]})[/]")
            continue
        if paper.name in done:
            costs.append(done[paper.name])
            console.print(f"{paper.name}: measured before on this device (estimate.json), kept")
            continue
        try:
            if snapshots is not None:
                if paper.name not in index:
                    raise FileNotFoundError(f"no snapshot of {paper.name} in {snapshots}")
                from semiemo.features.snapshot import load_snapshot

                data, manifest = load_snapshot(Path(snapshots) / index[paper.name])
            else:
                data = measurement_data(paper, quick)
                manifest = data.manifest
            cost = estimate(paper, quick, data, measure_steps, cache, manifest=manifest)
        except Exception as e:  # e.g. a corpus not on this machine: said, not estimated
            cost = Cost(paper.name, 0, 0, 0, float("nan"), float("nan"), f"not estimated: {type(e).__name__}: "
                        f"{str(e).splitlines()[0][:120]}")
        costs.append(cost)
        root.mkdir(parents=True, exist_ok=True)
        write_estimate(root / "estimate.md", _with_kept(costs, done))   # an interrupted estimate keeps what it measured
        console.print(f"{cost.name}: {cost.steps:,} steps × {cost.s_per_step * 1000:.1f} ms = {cost.hours:,.1f} h "
                      f"({time.time() - t0:.0f} s to measure) {cost.note}")
    if snapshot_out is not None:
        return costs
    root.mkdir(parents=True, exist_ok=True)
    costs = _with_kept(costs, done)
    write_estimate(root / "estimate.md", costs)
    console.print(f"estimate: {root / 'estimate.md'}")
    return costs


def export_snapshot(paper: SearchSpace, quick: SearchSpace, root: Any, max_mb: float = 24.0) -> Any:
    """Write `paper`'s measurement data under `root` (shared by analyses with the same corpus and features);
    returns its folder. Features as float16, at most `max_mb` of them: a subset stratified by speaker,
    labeled-ness and label when the whole is larger (a step's cost depends on shapes, not on which rows)."""
    import hashlib

    import numpy as np

    from semiemo.features.snapshot import save_snapshot

    feats = sorted(json.dumps(f, sort_keys=True, default=str) for f in measurement_features(paper))
    key = hashlib.sha1(json.dumps([str(quick.base_config().corpus), feats]).encode()).hexdigest()[:12]
    folder = root / key
    if not (folder / "meta.json").is_file():  # analyses with the same corpus and features share one snapshot
        data = measurement_data(paper, quick)
        m = data.manifest
        row_mb = sum(a[:1].astype(np.float16 if a.dtype == np.float32 else a.dtype).nbytes
                     for part in (data.groups, data.lengths, data.side) for a in part.values()) / 2**20
        share = min(1.0, max_mb / max(row_mb * len(m), 1e-9))
        rows = None
        if share < 1.0:
            # systematic sample over rows ordered by stratum (shuffled within): each stratum keeps its share
            strata = np.array(["|".join(map(str, r)) for r in zip(m["speaker"], m["labeled"], m["label"])])
            order = np.lexsort((np.random.default_rng(0).random(len(m)), strata))
            rows = order[np.floor(np.arange(0, len(m), 1 / share)).astype(int)]
        save_snapshot(data, folder, rows=rows, half=True)
    index = _read_index(root) if (root / "index.json").is_file() else {}
    index[paper.name] = key
    (root / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True))
    return folder


def _with_kept(costs: list[Cost], kept: dict[str, Cost]) -> list[Cost]:
    """This run's costs and the earlier ones of analyses it did not visit, by name."""
    names = {c.name for c in costs}
    return sorted(costs + [c for n, c in kept.items() if n not in names], key=lambda c: c.name)


def _measured_before(path: Any) -> dict[str, Cost]:
    """Costs in an earlier `estimate.json` measured on this device (a resumed estimate keeps them)."""
    if not path.is_file():
        return {}
    saved = json.loads(path.read_text())
    if saved.get("device") != measuring_device():
        return {}
    return {c["name"]: Cost(**c) for c in saved["costs"]
            if c["s_per_step"] == c["s_per_step"] and "not measured" not in c["note"]}


def measuring_device() -> str:
    import os
    import platform as _platform

    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores, {_platform.node()})"


def _read_index(root: Any) -> dict[str, str]:
    from pathlib import Path

    path = Path(root) / "index.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no snapshot index; write one with "
                                "`semiemo reproduce --all --budget paper --estimate --snapshot-out DIR`")
    return json.loads(path.read_text())


def write_estimate(path: Any, costs: list[Cost]) -> None:
    """`path` (Markdown) and the same costs as JSON beside it (`estimate.json`, read by a resumed estimate)."""
    import dataclasses
    from pathlib import Path

    device = measuring_device()
    Path(path).with_suffix(".json").write_text(json.dumps(
        {"device": device, "costs": [dataclasses.asdict(c) for c in costs]}, indent=1))
    total = sum(c.hours for c in costs if c.hours == c.hours)
    lines = ["# `--budget paper`: estimated cost", "",
             f"Per-step costs measured on **{device}** (`semiemo reproduce --all --budget paper --estimate`); "
             "steps counted from each analysis's paper-budget spec (module doc of `analysis/paper_cost.py`). "
             "Run the same command on a GPU node to get GPU-hours there.", "",
             f"**Total: {total:,.1f} device-hours** (evaluation, featurization and scheduling not counted).", "",
             "| analysis | grid points | runs (points × seeds × folds) | optimizer steps | measured s/step | device-hours | note |",
             "|---|---|---|---|---|---|---|"]
    for c in costs:
        lines.append(f"| {c.name} | {c.points} | {c.runs:,} | {c.steps:,} | {c.s_per_step:.4f} | {c.hours:,.2f} | {c.note} |")
    Path(path).write_text("\n".join(lines) + "\n")
