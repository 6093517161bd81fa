"""`semiemo reproduce NAME`: regenerate one of the papers' hyperparameter analyses; `--list` lists them."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("reproduce")(reproduce)


def reproduce(
    name: str = typer.Argument(None, help="An analysis in search_spaces/ (e.g. mmmd_lambda_u) or a YAML path"),
    list_: bool = typer.Option(False, "--list", help="List every analysis with its paper and status"),
    corpus: str = typer.Option("synthetic", "--corpus", help="synthetic | casia (or any corpus spec)"),
    quick: bool = typer.Option(False, "--quick", help="Fewer seeds, epochs and points (the file's `quick:`)"),
    unlabeled: str = typer.Option(None, "--unlabeled", help="external unlabeled pool (corpus specs joined by '+'); "
                                  "overrides experiment.unlabeled"),
    address: str = typer.Option(None, "--address", help="Ray address; default $RAY_ADDRESS or a local Ray"),
    out_dir: str = typer.Option(None, "--out", help="Where figures/reports go; default $SEMIEMO_HOME/reproduce"),
    resume: bool = typer.Option(True, "--resume/--no-resume"),
) -> None:
    """Run the analysis's sweep, write figure.png and report.md beside the paper's rows, print the verdict."""
    from rich.console import Console
    from rich.table import Table

    from semiemo.analysis import reproduce as repro

    console = Console(highlight=False)
    if list_:
        table = Table("analysis", "paper", "corpora", "status")
        for _, r in repro.list_analyses(out_dir).iterrows():
            table.add_row(r["name"], r["paper"], r["variants"], r["status"])
        console.print(table)
        return
    if not name:
        console.print("[red]give an analysis NAME, or --list[/]")
        raise typer.Exit(2)
    result = repro.reproduce(name, corpus=None if corpus == "synthetic" else corpus, quick=quick,
                             out_dir=out_dir, address=address, resume=resume, unlabeled=unlabeled)
    console.print(f"figure  {result['figure']}")
    console.print(f"report  {result['report']}")
    console.print(result["verdict"])
