"""`semiemo compare`: every listed method on identical folds and labeled subsets -> table + chart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from semiemo.commands.train import VIEWS_HELP

DEFAULT_METHODS = "supervised,pseudo_label,pi_model,temporal_ensembling,mean_teacher,mixmatch,fixmatch,sae"


def parse_method_params(text: str | None) -> dict[str, dict]:
    """'{"fixmatch": {"threshold": 0.95}}' -> dict; a clear error otherwise."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise typer.BadParameter(f"--method-params is not JSON ({e}); example: '{{\"fixmatch\": {{\"threshold\": 0.95}}}}'")
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise typer.BadParameter("--method-params must map method name -> {hyperparameter: value}")
    return value


OUTPUT_FILES = ("comparison.md", "comparison.png", "results.csv", "summary.csv")


def default_out_name(base: "object", methods: list[str], method_params: dict[str, dict]) -> str:
    """'compare-<corpus>[+<pool>]-<features>-<protocol>-lf<fraction>-<hash>': the readable settings, then a hash
    of every setting that changes the results (methods, their parameters, seeds, folds, budget, label map), so
    two comparisons that differ in anything never share a folder."""
    import hashlib

    from semiemo.corpora.unlabeled_pool import spec_slug

    cfg = base.model_dump(exclude={"name", "output_dir"})  # type: ignore[attr-defined]
    digest = hashlib.sha1(json.dumps({"config": cfg, "methods": methods, "method_params": method_params},
                                     sort_keys=True, default=str).encode()).hexdigest()[:8]
    pool = f"+{spec_slug(cfg['unlabeled'], 24)}" if cfg.get("unlabeled") else ""
    feats = spec_slug(",".join(cfg["features"]), 24)
    return f"compare-{spec_slug(cfg['corpus'])}{pool}-{feats}-{cfg['protocol']['name']}-lf{cfg['label_fraction']:g}-{digest}"


def claim_output(out_dir: Path, overwrite: bool) -> None:
    """Refuse to mix two comparisons in one folder: an existing result stops the run unless `overwrite`,
    which removes the old results (and their per-method runs) first."""
    import shutil

    existing = [out_dir / f for f in OUTPUT_FILES if (out_dir / f).exists()]
    if (out_dir / "runs").exists():
        existing.append(out_dir / "runs")
    if not existing:
        return
    if not overwrite:
        raise typer.BadParameter(f"{out_dir} already holds a comparison ({', '.join(p.name for p in existing)}); "
                                 "pass --overwrite to replace it or --out to write elsewhere", param_hint="--out")
    for path in existing:
        shutil.rmtree(path) if path.is_dir() else path.unlink()


RECIPE_PATHS = {"features": "features", "protocol": "protocol.name", "folds": "protocol.folds",
                "epochs": "train.epochs", "batch_size": "train.batch_size", "mu": "train.mu",
                "steps_per_epoch": "train.steps_per_epoch", "lr": "train.lr", "label_map": "label_map", "views": "views"}


def register(app: typer.Typer) -> None:
    @app.command("compare")
    def compare(
        ctx: typer.Context,
        corpus: str = typer.Option("synthetic", "--corpus", help="corpus spec: synthetic[:k=v,...], casia, a manifest path, ..."),
        features: str = typer.Option("egemaps", "--features", help="comma-separated feature groups, e.g. egemaps or is10,text"),
        methods: str = typer.Option(DEFAULT_METHODS, "--methods", help="comma-separated method names (svm allowed)"),
        label_fraction: float = typer.Option(0.1, "--label-fraction", help="share of labeled training rows kept (stratified, seeded)"),
        seeds: int = typer.Option(3, "--seeds", help="number of seeds: 0..n-1 (each seed: its own folds and labeled subset)"),
        protocol: str = typer.Option("loso", "--protocol", help="loso (speaker-independent, the default) | speaker_kfold | "
                                     "loso_session | kfold (NOT speaker-independent) | fixed | holdout"),
        folds: int = typer.Option(5, "--folds", help="folds for kfold / speaker_kfold"),
        max_folds: Optional[int] = typer.Option(None, "--max-folds", help="run only the first n folds per seed"),
        epochs: int = typer.Option(30, "--epochs"),
        batch_size: int = typer.Option(64, "--batch-size", help="labeled batch B"),
        mu: int = typer.Option(1, "--mu", help="μ: unlabeled batch = μ·B"),
        steps_per_epoch: Optional[int] = typer.Option(None, "--steps-per-epoch", help="default: one pass over the labeled rows"),
        lr: float = typer.Option(1e-3, "--lr"),
        method_params: Optional[str] = typer.Option(None, "--method-params", help="JSON: {method: {hyperparameter: value}}"),
        unlabeled: Optional[str] = typer.Option(None, "--unlabeled", help="external unlabeled pool: corpus spec(s) joined by '+'"),
        unlabeled_quantity: Optional[int] = typer.Option(None, "--unlabeled-quantity", help="unlabeled rows used (default: all)"),
        label_map: str = typer.Option("canonical", "--label-map", help="class names: canonical (shared emotion vocabulary) "
                                      "| none | a corpus name (emodb, ravdess, iemocap, ...) | 'code:label;code:label'"),
        out: Optional[Path] = typer.Option(None, "--out", help="output folder (default: $SEMIEMO_HOME/runs/compare-<corpus>-"
                                           "<settings>-<hash of every setting>)"),
        overwrite: bool = typer.Option(False, "--overwrite", help="replace the results already in the output folder"),
        recipe: Optional[str] = typer.Option(None, "--recipe", help="a named recipe (ssl_speech) or YAML: its budget and "
                                             "protocol fill in flags not given; its method's parameters apply to that method"),
        views: Optional[str] = typer.Option(None, "--views", help=VIEWS_HELP),
    ) -> None:
        """Run each method through the experiment runner on the same data; write comparison.md/.png."""
        from pydantic import ValidationError
        from rich.console import Console

        from semiemo.analysis.compare import markdown_table, run_comparison, summarize, write_report
        from semiemo.storage import runs_root
        from semiemo.train.config import ExperimentConfig, ProtocolConfig, TrainConfig

        console = Console()
        names = [m.strip() for m in methods.split(",") if m.strip()]
        feature_list = [f.strip() for f in features.split(",") if f.strip()]
        try:
            base = ExperimentConfig(
                name="compare", corpus=corpus, features=feature_list,
                protocol=ProtocolConfig(name=protocol, folds=folds, max_folds=max_folds),
                label_fraction=label_fraction, seeds=list(range(seeds)), unlabeled=unlabeled,
                unlabeled_quantity=unlabeled_quantity, label_map=label_map, views=views,
                train=TrainConfig(epochs=epochs, batch_size=batch_size, mu=mu, steps_per_epoch=steps_per_epoch, lr=lr),
            )
        except ValidationError as e:
            raise typer.BadParameter(str(e))
        params = parse_method_params(method_params)
        if recipe:
            from semiemo.commands.train import explicit_paths
            from semiemo.recipes import apply_recipe, load_recipe

            fragment = load_recipe(recipe)
            shared = {k: v for k, v in fragment.items() if k not in ("method", "method_params", "name", "output_dir")}
            base = apply_recipe(base, shared, explicit_paths(ctx, RECIPE_PATHS))
            if fragment.get("method") in names and fragment.get("method_params"):
                params = {**params, fragment["method"]: {**fragment["method_params"], **params.get(fragment["method"], {})}}
        out_dir = out or runs_root() / default_out_name(base, names, params)
        claim_output(out_dir, overwrite)
        from semiemo import storage

        storage.require_bucket(storage.remote_of(out_dir))  # a URI root: a missing bucket stops here, not after the runs
        base = base.model_copy(update={"output_dir": str(out_dir / "runs")})
        done = lambda method, rows: console.print(f"[green]done[/] {method}: {len(rows)} run(s)")  # noqa: E731
        from semiemo.features.audio_views import MissingStoredViews

        try:
            results = run_comparison(base, names, params, on_method_done=done)
        except MissingStoredViews as e:
            raise typer.BadParameter(str(e), param_hint="--views")
        setup = (f"corpus `{corpus}`" + (f", unlabeled pool `{unlabeled}`" if unlabeled else "")
                 + f", features `{features}`, protocol `{protocol}`, label fraction {label_fraction}, "
                 f"seeds {list(range(seeds))}, {epochs} epochs, B={batch_size}, μ={mu}, label map `{label_map}`"
                 + (f", stored audio views `{','.join(f'{p}:{k}' for p, k in base.views.items())}`" if base.views else ""))
        paths = write_report(results, out_dir, title=f"Methods on {corpus}", setup=setup)
        typer.echo(markdown_table(summarize(results)))  # plain: rich would wrap the table rows
        for kind, path in paths.items():
            console.print(f"{kind}: {path}")
        published = storage.publish(out_dir)   # a URI storage root: the report and runs land there too
        if published != str(out_dir):
            console.print(f"uploaded to {published}")
