"""`semiemo train`: one method, one corpus, one protocol, over seeds -> results table + Parquet + TensorBoard."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """['threshold=0.95', 'lambda_u=1'] -> {'threshold': 0.95, 'lambda_u': 1} (values parsed as YAML scalars)."""
    import yaml

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"--set expects key=value, got {item!r} (e.g. --set threshold=0.95)")
        out[key.strip()] = yaml.safe_load(value)
    return out


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter(f"--seeds expects comma-separated integers such as 0,1,2, got {text!r}")
    if not seeds:
        raise typer.BadParameter("--seeds needs at least one seed")
    return seeds


def results_table(df, title: str = "results"):
    """A rich table: one row per (seed, fold), then the mean over seeds with its spread (a 95 % CI over the
    seeds' fold means with ≥ 3 seeds, else the range; `analysis.spread`) and a caption that names it."""
    from rich.table import Table

    from semiemo.analysis.spread import over_seeds, short_caption

    columns = [("test_ua", "UA"), ("test_wa", "WA"), ("test_f1_weighted", "F1 w"), ("test_f1_macro", "F1 macro")]
    table = Table(title=title)
    for name in ("seed", "fold", *[c[1] for c in columns], "best epoch", "time s"):
        table.add_column(name, justify="right" if name not in ("fold",) else "left")
    for _, row in df.iterrows():
        table.add_row(str(row["seed"]), str(row["fold"]), *[f"{row.get(c, float('nan')):.3f}" for c, _ in columns],
                      f"{row['best_epoch']}/{row['epochs_run']}", f"{row['wall_time_s']:.1f}")
    spreads = [over_seeds(df[c].astype(float), df["seed"]) for c, _ in columns if c in df]
    cells = [s.cell() for s in spreads] + ["–"] * (len(columns) - len(spreads))
    table.add_section()
    table.add_row("", "mean", *cells, "", f"{df['wall_time_s'].sum():.1f}")
    table.caption = f"mean over seeds (each seed: its fold mean); spread: {short_caption(spreads)}"
    return table


# CLI parameter -> ExperimentConfig path (what a recipe may fill in when the flag is not given)
RECIPE_PATHS = {"features": "features", "method": "method", "protocol": "protocol.name", "folds": "protocol.folds",
                "label_fraction": "label_fraction", "epochs": "train.epochs", "batch_size": "train.batch_size",
                "mu": "train.mu", "steps_per_epoch": "train.steps_per_epoch", "lr": "train.lr",
                "patience": "train.patience", "sets": "method_params", "normalization": "normalization",
                "label_map": "label_map", "fusion": "fusion", "unlabeled": "unlabeled", "views": "views"}

VIEWS_HELP = ("stored audio views the methods' weak/strong views come from, e.g. weak:4,strong:4 (POLICY:K, as made by "
              "`featurize --views K --augment POLICY`); default: feature-space views")


def explicit_paths(ctx: typer.Context, paths: dict[str, str]) -> set[str]:
    """Config paths whose flags the user gave on the command line (a recipe never overrides those)."""
    sources = {name: ctx.get_parameter_source(name) for name in paths}  # typer may bring its own click: compare names
    return {path for name, path in paths.items()
            if sources[name] is not None and sources[name].name not in ("DEFAULT", "DEFAULT_MAP")}


def with_recipe(cfg, recipe: str | None, ctx: typer.Context, paths: dict[str, str]):
    """`cfg` with the named recipe's settings filled in where no flag was given (`semiemo.recipes`)."""
    if not recipe:
        return cfg
    from semiemo.recipes import apply_recipe, load_recipe

    return apply_recipe(cfg, load_recipe(recipe), explicit_paths(ctx, paths))


def train(
    ctx: typer.Context,
    corpus: str = typer.Option("synthetic", "--corpus", help="synthetic[:k=v,...], casia[:path], a manifest path, ..."),
    features: str = typer.Option("egemaps", "--features", help="comma-separated feature groups, e.g. is10,text"),
    method: str = typer.Option("supervised", "--method", help="a registered method (supervised, svm, fixmatch, ...)"),
    protocol: str = typer.Option("loso", "--protocol", help="kfold | loso | loso_session | speaker_kfold | fixed | holdout"),
    folds: int = typer.Option(5, "--folds", help="folds for kfold / speaker_kfold"),
    max_folds: Optional[int] = typer.Option(None, "--max-folds", help="run only the first n folds per seed"),
    workers: int = typer.Option(1, "--workers", help=">1: Ray Train TorchTrainer with DDP"),
    label_fraction: float = typer.Option(1.0, "--label-fraction", help="share of labeled training rows (stratified, seeded)"),
    unlabeled: Optional[str] = typer.Option(None, "--unlabeled", help="external unlabeled pool: corpus spec(s) joined "
                                            "by '+', e.g. 'dir:/data/wild?template={name}.wav' (labels there are hidden)"),
    unlabeled_shares_speakers: bool = typer.Option(False, "--unlabeled-shares-speakers",
                                                   help="the pool's speaker ids are the target's (default: kept apart)"),
    unlabeled_quantity: Optional[int] = typer.Option(None, "--unlabeled-quantity", help="unlabeled rows used (default: all)"),
    epochs: int = typer.Option(30, "--epochs"),
    batch_size: int = typer.Option(64, "--batch-size", help="labeled batch B (global across workers)"),
    mu: int = typer.Option(1, "--mu", help="μ: unlabeled batch = μ·B"),
    steps_per_epoch: Optional[int] = typer.Option(None, "--steps-per-epoch", help="default: one pass over the labeled rows"),
    lr: float = typer.Option(1e-3, "--lr"),
    patience: Optional[int] = typer.Option(None, "--patience", help="early stop after n epochs without improvement"),
    max_failures: Optional[int] = typer.Option(None, "--max-failures", help="Ray Train worker-group restarts, each resuming "
                                               "from the last checkpoint (default: 3 with --workers > 1)"),
    placement_timeout: float = typer.Option(600.0, "--placement-timeout", help="seconds to wait for workers that cannot "
                                            "be placed (e.g. a node left) before giving up; the wait is reported"),
    seeds: str = typer.Option("0", "--seeds", help="comma-separated seeds, e.g. 0,1,2"),
    sets: Optional[list[str]] = typer.Option(None, "--set", help="method hyperparameter key=value (repeatable)"),
    fusion: str = typer.Option("early", "--fusion", help="early | late"),
    normalization: str = typer.Option("self", "--normalization", help="unlabeled z-score: none | self | shift | combine"),
    fuzzy_labels: bool = typer.Option(False, "--fuzzy-labels", help="soft targets from annotator votes (paper 002)"),
    label_map: str = typer.Option("canonical", "--label-map", help="class names: canonical (shared emotion vocabulary) | "
                                  "none | a corpus name (emodb, ravdess, iemocap, ...) | 'code:label;code:label'"),
    name: Optional[str] = typer.Option(None, "--name", help="experiment name (default: <method>-<corpus>)"),
    out: Optional[str] = typer.Option(None, "--out", help="output folder or URI (default: <storage root>/runs/<name>)"),
    feature_store: Optional[str] = typer.Option(None, "--feature-store", help="feature store root (default: <storage root>/features)"),
    address: Optional[str] = typer.Option(None, "--address", help="Ray address; default $RAY_ADDRESS or a local Ray"),
    recipe: Optional[str] = typer.Option(None, "--recipe", help="a named recipe (ssl_speech) or a recipe YAML: fills in "
                                         "every setting not given as a flag (semiemo/recipes/)"),
    views: Optional[str] = typer.Option(None, "--views", help=VIEWS_HELP),
) -> None:
    """Train and test one method under a protocol; print a results table, write results.parquet and TensorBoard."""
    from pydantic import ValidationError
    from rich.console import Console

    from semiemo.corpora.unlabeled_pool import spec_slug
    from semiemo.train.config import ExperimentConfig, ProtocolConfig, TrainConfig
    from semiemo.train.experiment import output_dir, run_experiment

    import sys

    console = Console() if sys.stdout.isatty() else Console(width=150)
    try:
        cfg = ExperimentConfig(
            name=name or f"{method}-{spec_slug(corpus)}" + (f"+{spec_slug(unlabeled, 24)}" if unlabeled else ""),
            corpus=corpus, features=[f.strip() for f in features.split(",") if f.strip()], feature_store=feature_store,
            method=method, method_params=parse_sets(sets), fusion=fusion, normalization=normalization,
            fuzzy_labels=fuzzy_labels, label_map=label_map, protocol=ProtocolConfig(name=protocol, folds=folds, max_folds=max_folds),
            label_fraction=label_fraction, unlabeled=unlabeled, unlabeled_shares_speakers=unlabeled_shares_speakers,
            unlabeled_quantity=unlabeled_quantity, seeds=parse_seeds(seeds), views=views,
            train=TrainConfig(epochs=epochs, batch_size=batch_size, mu=mu, steps_per_epoch=steps_per_epoch, lr=lr,
                              workers=workers, patience=patience, max_failures=max_failures,
                              placement_timeout_s=placement_timeout),
            output_dir=str(out) if out else None,
        )
        cfg = with_recipe(cfg, recipe, ctx, RECIPE_PATHS)
        if recipe and not name:  # the run is named after what runs: the recipe's method and the recipe
            cfg.name = f"{cfg.method}-{spec_slug(corpus)}" + (f"+{spec_slug(unlabeled, 24)}" if unlabeled else "") \
                + f"-{Path(recipe).stem}"
    except ValidationError as e:
        raise typer.BadParameter(str(e))
    if address or workers > 1:
        from semiemo.jobs.ray_runtime import init_ray

        init_ray(address)
    from semiemo.features.audio_views import MissingStoredViews

    try:
        df = run_experiment(cfg)
    except MissingStoredViews as e:
        raise typer.BadParameter(str(e), param_hint="--views")
    console.print(results_table(df, title=f"{cfg.method} on {cfg.corpus} ({cfg.protocol.name}, {','.join(cfg.features)})"))
    from semiemo.storage import join

    run_dir = output_dir(cfg)
    console.print(f"results: {join(run_dir, 'results.parquet')}\nTensorBoard: tensorboard --logdir {join(run_dir, 'tb')}")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
