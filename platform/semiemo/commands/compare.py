"""`semiemo compare`: every listed method on identical folds and labeled subsets -> table + chart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

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


def register(app: typer.Typer) -> None:
    @app.command("compare")
    def compare(
        corpus: str = typer.Option("synthetic", "--corpus", help="corpus spec: synthetic[:k=v,...], casia, a manifest path, ..."),
        features: str = typer.Option("egemaps", "--features", help="comma-separated feature groups, e.g. egemaps or is10,text"),
        methods: str = typer.Option(DEFAULT_METHODS, "--methods", help="comma-separated method names (svm allowed)"),
        label_fraction: float = typer.Option(0.1, "--label-fraction", help="share of labeled training rows kept (stratified, seeded)"),
        seeds: int = typer.Option(3, "--seeds", help="number of seeds: 0..n-1 (each seed: its own folds and labeled subset)"),
        protocol: str = typer.Option("kfold", "--protocol", help="kfold | loso | loso_session | speaker_kfold | fixed | holdout"),
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
        out: Optional[Path] = typer.Option(None, "--out", help="output folder (default: $SEMIEMO_HOME/runs/compare-<corpus>)"),
    ) -> None:
        """Run each method through the experiment runner on the same data; write comparison.md/.png."""
        from rich.console import Console

        from semiemo.analysis.compare import markdown_table, run_comparison, summarize, write_report
        from semiemo.corpora.unlabeled_pool import spec_slug
        from semiemo.paths import runs_root
        from semiemo.train.config import ExperimentConfig, ProtocolConfig, TrainConfig

        console = Console()
        names = [m.strip() for m in methods.split(",") if m.strip()]
        out_dir = out or runs_root() / (f"compare-{spec_slug(corpus)}" + (f"+{spec_slug(unlabeled, 24)}" if unlabeled else ""))
        base = ExperimentConfig(
            name="compare", corpus=corpus, features=[f.strip() for f in features.split(",") if f.strip()],
            protocol=ProtocolConfig(name=protocol, folds=folds, max_folds=max_folds),
            label_fraction=label_fraction, seeds=list(range(seeds)), unlabeled=unlabeled,
            unlabeled_quantity=unlabeled_quantity,
            train=TrainConfig(epochs=epochs, batch_size=batch_size, mu=mu, steps_per_epoch=steps_per_epoch, lr=lr),
            output_dir=str(out_dir / "runs"),
        )
        done = lambda method, rows: console.print(f"[green]done[/] {method}: {len(rows)} run(s)")  # noqa: E731
        results = run_comparison(base, names, parse_method_params(method_params), on_method_done=done)
        setup = (f"corpus `{corpus}`" + (f", unlabeled pool `{unlabeled}`" if unlabeled else "")
                 + f", features `{features}`, protocol `{protocol}`, label fraction {label_fraction}, "
                 f"seeds {list(range(seeds))}, {epochs} epochs, B={batch_size}, μ={mu}")
        paths = write_report(results, out_dir, title=f"Methods on {corpus}", setup=setup)
        typer.echo(markdown_table(summarize(results)))  # plain: rich would wrap the table rows
        for kind, path in paths.items():
            console.print(f"{kind}: {path}")
