"""`semiemo sweep search_spaces/X.yaml`: run (or resume) one search space as a Ray Tune sweep."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)


def sweep(
    spec: Path = typer.Argument(..., help="A search-space YAML, e.g. search_spaces/mmmd_lambda_u.yaml"),
    address: str = typer.Option(None, "--address", help="Ray address; default $RAY_ADDRESS or a local Ray"),
    optuna_storage: str = typer.Option(None, "--optuna-storage",
                                       help="Optuna RDB URL, e.g. postgresql+psycopg://user@host/db (pip install semiemo[postgres]); default sqlite:///<sweep dir>/optuna.db, for one machine only"),
    storage_dir: str = typer.Option(None, "--storage-dir", help="Where sweeps live (folder or URI); default <storage root>/sweeps"),
    corpus: str = typer.Option(None, "--corpus", help="Run a corpus variant, e.g. casia"),
    quick: bool = typer.Option(False, "--quick", help="Apply the file's `quick:` overrides"),
    unlabeled: str = typer.Option(None, "--unlabeled", help="external unlabeled pool (corpus specs joined by '+'); "
                                  "overrides experiment.unlabeled"),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Resume an interrupted sweep of the same name"),
) -> None:
    """Run the sweep; prints where its results, Optuna study and TensorBoard logs are."""
    from rich.console import Console

    from semiemo.tune.runner import optuna_url, run_sweep, sweep_dir
    from semiemo.tune.space import SpecError, load_spec

    console = Console(highlight=False)
    try:
        space = load_spec(spec, corpus=corpus, quick=quick, unlabeled=unlabeled)
    except SpecError as e:
        console.print(f"[red]{e}[/]")
        raise typer.Exit(2) from None
    table = run_sweep(space, address=address, storage_dir=storage_dir, resume=resume, optuna_storage=optuna_storage)
    out = sweep_dir(space, storage_dir)
    status = table.drop_duplicates("trial_id")["status"].value_counts().to_dict() if not table.empty else {}
    console.print(f"[bold]{space.name}[/]: {table['trial_id'].nunique() if not table.empty else 0} trials {status}")
    console.print(f"results      {out / 'results.parquet'}  (+ .csv)")
    console.print(f"optuna       optuna-dashboard {optuna_url(space, storage_dir, optuna_storage)}")
    console.print(f"tensorboard  tensorboard --logdir {out / 'tensorboard'}")
