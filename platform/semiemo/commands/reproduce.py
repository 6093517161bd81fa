"""`semiemo reproduce NAME | --all | --list`: regenerate the papers' analyses beside their numbers."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("reproduce")(reproduce)


def reproduce(
    name: str = typer.Argument(None, help="An analysis in search_spaces/ (e.g. mmmd_lambda_u) or a YAML path"),
    all_: bool = typer.Option(False, "--all", help="Every analysis in search_spaces/, one progress view, one index"),
    list_: bool = typer.Option(False, "--list", help="List every analysis with its paper, last run and verdict"),
    budget: str = typer.Option(None, "--budget", help="quick | full | paper (default full; --all: quick)"),
    corpus: str = typer.Option("synthetic", "--corpus", help="synthetic | casia (or any corpus spec)"),
    quick: bool = typer.Option(False, "--quick", help="Same as --budget quick"),
    unlabeled: str = typer.Option(None, "--unlabeled", help="external unlabeled pool (corpus specs joined by '+'); "
                                  "overrides experiment.unlabeled"),
    address: str = typer.Option(None, "--address", help="Ray address; default $RAY_ADDRESS or a local Ray"),
    out_dir: str = typer.Option(None, "--out", help="Where reports go; default <storage root>/reproduce/<budget>"),
    optuna_storage: str = typer.Option(None, "--optuna-storage",
                                       help="Optuna RDB URL for the studies, e.g. postgresql+psycopg://user@host/db "
                                            "(pip install semiemo[postgres]); default SQLite per sweep, one machine only"),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Skip finished analyses and trials"),
    group: str = typer.Option(None, "--group", help="With --all: run only these groups (comma-separated: control, "
                              "ssl, cmdm, cmkt, ssgan, mmmd, avspnet); the index merges every piece run so far"),
    only: str = typer.Option(None, "--only", help="With --all: run only these analyses (comma-separated names)"),
    estimate: bool = typer.Option(False, "--estimate", help="With --budget paper: count the paper budget's steps and "
                                  "measure their per-step cost here, instead of running it"),
    snapshot_out: str = typer.Option(None, "--snapshot-out", help="With --estimate: write the measurement data "
                                     "(feature snapshots) to this folder and measure nothing"),
    snapshots: str = typer.Option(None, "--snapshots", help="With --estimate: measure from a --snapshot-out folder "
                                  "(a GPU node without Ray/openSMILE: nothing is featurized)"),
    measure_steps: int = typer.Option(3, "--measure-steps", help="With --estimate: steps per epoch of the 2-epoch "
                                      "timing run (the second epoch's steps are timed)"),
) -> None:
    """Run an analysis's sweep (or all of them), write figure.png and report.md beside the paper's rows,
    print the verdict."""
    from rich.console import Console

    from semiemo.analysis import reproduce as repro
    from semiemo.tune.space import BUDGETS

    console = Console(highlight=False)
    if quick and budget not in (None, "quick"):
        console.print(f"[red]--quick contradicts --budget {budget}[/]")
        raise typer.Exit(2)
    budget = budget or ("quick" if quick or all_ else "full")
    if budget not in BUDGETS:
        console.print(f"[red]--budget must be one of {', '.join(BUDGETS)}, got {budget!r}[/]")
        raise typer.Exit(2)
    if list_:
        _print_list(console, out_dir)
        return
    if estimate:
        if budget != "paper":
            console.print("[red]--estimate goes with --budget paper[/]")
            raise typer.Exit(2)
        from semiemo.analysis.paper_cost import estimate_all

        estimate_all(None if all_ or not name else [name], measure_steps=measure_steps, out=out_dir,
                     snapshots=snapshots, snapshot_out=snapshot_out)
        return
    if (group or only) and not all_:
        console.print("[red]--group and --only pick pieces of --all; add --all (one analysis: `semiemo reproduce NAME`)[/]")
        raise typer.Exit(2)
    if all_:
        from semiemo.analysis import groups as grp
        from semiemo.analysis.reproduce_all import plan, reproduce_all

        if unlabeled:
            console.print("[red]--unlabeled applies to one analysis; run `semiemo reproduce NAME --unlabeled ...`[/]")
            raise typer.Exit(2)
        select = None
        if group or only:
            try:
                select = grp.select([p.name for p in plan(budget, None if corpus == "synthetic" else corpus)],
                                    grp.split_list(group), grp.split_list(only))
            except ValueError as e:
                console.print(f"[red]{e}[/]")
                raise typer.Exit(2) from None
        with _reports(budget, out_dir):
            reproduce_all(budget, corpus=None if corpus == "synthetic" else corpus, address=address, out_dir=out_dir,
                          resume=resume, optuna_storage=optuna_storage, select=select)
        return
    if not name:
        console.print("[red]give an analysis NAME, --all, or --list[/]")
        raise typer.Exit(2)
    try:
        repro.spec_path(name)
    except FileNotFoundError as e:
        console.print(f"[red]{e}[/]")
        raise typer.Exit(2)
    try:
        with _reports(budget, out_dir):
            result = repro.reproduce(name, corpus=None if corpus == "synthetic" else corpus, budget=budget,
                                     out_dir=out_dir, address=address, resume=resume, unlabeled=unlabeled,
                                     optuna_storage=optuna_storage)
    except repro.CorpusAbsent as e:  # its corpus is not on this machine: skipped, said why (as `--all` does); any
        console.print(f"[yellow]{name} skipped[/]: its data is not on this machine — {e}")   # other missing file fails
        return
    console.print(f"figure  {result['figure']}")
    console.print(f"report  {result['report']}")
    console.print(result["verdict"])


def _reports(budget: str, out_dir: str | None):
    """Reports in `<storage root>/reproduce/<budget>`: written locally, uploaded at the end when the root is a URI."""
    import contextlib

    from semiemo import storage
    from semiemo.analysis.reproduce import reproduce_location

    if out_dir or not storage.is_uri(reproduce_location(budget)):
        return contextlib.nullcontext()
    return storage.writable(reproduce_location(budget))


def _print_list(console, out_dir: str | None) -> None:
    from rich.table import Table

    from semiemo.analysis import reproduce as repro
    from semiemo.analysis.coverage import source_coverage
    from semiemo.analysis.index_report import OUTCOME_LABEL

    from semiemo.analysis.groups import group_of

    table = Table(show_lines=False)
    table.add_column("analysis", no_wrap=True)
    for col in ("group", "paper", "corpora", "last run", "budget", "outcome"):
        table.add_column(col)
    table.add_column("verdict", ratio=1)
    for _, r in repro.list_analyses(out_dir).iterrows():
        verdict = r["verdict"] if len(r["verdict"]) <= 110 else r["verdict"][:107] + "…"
        table.add_row(r["name"], group_of(r["name"]), r["paper"], r["variants"], r["status"] + (f" ({r['finished']})" if r["finished"] else ""),
                      r["budget"], OUTCOME_LABEL.get(r["outcome"], r["outcome"]) if r["status"] != "not run" else "",
                      verdict)
    console.print(table)
    cov = source_coverage()
    missing = cov[cov["analyses"] == ""]
    if len(missing):
        t2 = Table("paper", "source", "rows", "why no analysis", title="paper_results.csv sources without an analysis")
        for _, r in missing.iterrows():
            t2.add_row(r["paper"], r["source"], str(r["rows"]), r["why"] or "[red]no reason given[/]")
        console.print(t2)
