"""`semiemo demo` — every stage on the embedded synthetic corpus."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        out: str = typer.Option("demo_out", help="folder for the report, PNGs, feature store and runs"),
        acted: int = typer.Option(216, help="acted utterances"),
        wild_labeled: int = typer.Option(240, help="labeled in-the-wild utterances"),
        unlabeled: int = typer.Option(960, help="unlabeled in-the-wild utterances"),
        epochs: int = typer.Option(25, help="training epochs per fold"),
        sweep: bool = typer.Option(True, help="end with the small Optuna sweep"),
        compare: bool = typer.Option(True, help="run the semi-supervised comparison"),
        address: str = typer.Option(None, help="Ray address (default: $RAY_ADDRESS or a local Ray)"),
        verbose: bool = typer.Option(False, "-v", "--verbose",
                                     help="Ray's own logs in the terminal too (default: OUT/logs/ray.log)"),
    ) -> None:
        """Synthesize, validate, featurize, train, compare and sweep; write OUT/report.md."""
        from semiemo.demo import run_demo
        from semiemo.jobs.ray_logs import is_verbose

        run_demo(out, acted=acted, wild_labeled=wild_labeled, unlabeled=unlabeled, epochs=epochs,
                 sweep=sweep, compare=compare, address=address, verbose=verbose or is_verbose())
