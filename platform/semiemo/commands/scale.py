"""`semiemo scale`: a scaling study — featurization and training at several sizes, workers and nodes,
growth fits, plots, and a projection to the size and node count you plan for (marked as one)."""

from __future__ import annotations

from typing import Optional

import typer


def _ints(text: str, what: str) -> list[int]:
    try:
        values = [int(v.replace("_", "")) for v in text.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(f"{what} must be comma-separated integers, e.g. 1000,4000,16000; got {text!r}") from None
    if not values:
        raise typer.BadParameter(f"{what} is empty; give comma-separated integers")
    return values


def scale(
    rows: str = typer.Option("1000,4000,16000", help="pool sizes to measure (comma-separated, at least two)"),
    workers: str = typer.Option("1,2", help="featurization worker counts (concurrent Ray tasks)"),
    cpus: Optional[int] = typer.Option(None, help="CPUs of the local Ray (default: the largest worker count)"),
    nodes: int = typer.Option(2, help="nodes of a local ray.cluster_utils.Cluster run at the largest size (0: skip)"),
    train_steps: int = typer.Option(100, help="fixmatch steps per training measurement (0: no training)"),
    train_workers: str = typer.Option("1", help="training worker counts: 1 in-process, >1 Ray Train DDP"),
    target_rows: int = typer.Option(500_000, help="PROJECTION: pool size you plan for"),
    target_nodes: int = typer.Option(1, help="PROJECTION: nodes you plan for"),
    target_cpus_per_node: int = typer.Option(2, help="PROJECTION: CPUs per node you plan for"),
    out: str = typer.Option("scale_study", "--out", help="folder for report.md, results.json, the PNGs and the stores"),
    featurizer: str = typer.Option("melstats", help="featurizer measured (melstats: ~1-2 ms/utt; is10: ~65 ms/utt)"),
) -> None:
    """Measure how cost grows with rows, workers and nodes; write report.md with plots and a projection."""
    from semiemo.scale.study import StudyConfig, run_study

    cfg = StudyConfig(rows=_ints(rows, "--rows"), workers=_ints(workers, "--workers"), cpus=cpus, nodes=nodes,
                      train_steps=train_steps, train_workers=_ints(train_workers, "--train-workers"),
                      target_rows=target_rows, target_nodes=target_nodes, target_cpus_per_node=target_cpus_per_node,
                      out_dir=out, featurizer=featurizer)
    results = run_study(cfg)
    p = results["projection"]
    print(f"PROJECTION (not measured): {p['rows']:,} rows on {p['nodes']} x {p['cpus_per_node']} CPUs -> featurize "
          f"~{p['featurize_s'] / 60:,.1f} min; see {results['report']}")


def register(app: typer.Typer) -> None:
    app.command("scale")(scale)
