"""`semiemo featurize` and `semiemo features ls|show`: fill the feature store and look inside it."""

from __future__ import annotations

from typing import Optional

import typer

STORE_HELP = "store root: a folder or a pyarrow filesystem URI (default: $SEMIEMO_FEATURE_STORE or <storage root>/features; see --storage)"


def register(app: typer.Typer) -> None:
    features_app = typer.Typer(help="Inspect the feature store.", no_args_is_help=True)
    app.add_typer(features_app, name="features")

    @app.command("featurize")
    def featurize_cmd(
        corpus: str = typer.Option(..., "--corpus", help="corpus spec: synthetic[:k=v,...], casia[:path], a manifest path, ..."),
        features: str = typer.Option(..., "--features", help="comma-separated featurizer names, e.g. is10,fbank,text"),
        store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
        block_size: int = typer.Option(256, "--block-size", help="rows per shard and per Ray task (a new store entry only)"),
        batch_size: int = typer.Option(64, "--batch-size", help="rows per featurizer call"),
        model_concurrency: int = typer.Option(1, "--model-concurrency", help="actors for model-backed featurizers"),
        address: Optional[str] = typer.Option(None, "--address", help="Ray address (default: $RAY_ADDRESS or a local Ray)"),
        no_progress: bool = typer.Option(False, "--no-progress", help="hide Ray Data's progress bars"),
        views: int = typer.Option(0, "--views", help="K: also render K augmented audio views per utterance and "
                                  "featurize them (stored view-indexed beside the plain features)"),
        augment: str = typer.Option("strong", "--augment", help="view policy: weak (gain, small stretch, high-SNR noise) "
                                    "| strong (pitch, speed, room, telephone codec, EQ, loudness, low-SNR noise)"),
        augment_seed: int = typer.Option(0, "--augment-seed", help="seed of the rendered views (part of their store key)"),
    ) -> None:
        """Featurize a corpus into the store; only blocks missing from the store are computed."""
        try:
            run_featurize(corpus, features, store, address, views=views, augment=augment, augment_seed=augment_seed,
                          block_size=block_size, batch_size=batch_size, model_concurrency=model_concurrency,
                          progress=not no_progress)
        except (KeyError, ValueError) as e:  # a bad name, corpus or width: refused before any work
            typer.echo(f"featurize: error: {e.args[0] if isinstance(e, KeyError) and e.args else e}", err=True)
            raise typer.Exit(code=2) from e
        except RuntimeError as e:  # a featurizer that failed a whole block, mid-run
            typer.echo(f"featurize stopped: {e}\nfinished shards are kept; rerun the same command to resume.", err=True)
            raise typer.Exit(code=1) from e

    @features_app.command("ls")
    def ls_cmd(store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP)) -> None:
        """One line per store entry: manifest hash, featurizer, config hash, rows, errors, size."""
        from rich.console import Console
        from rich.table import Table

        from semiemo.features.store import FeatureStore

        fs = FeatureStore(store)
        entries = fs.entries()
        table = Table(title=f"feature store {fs.uri}")
        key_width = max([len(str(e.key)) for e in entries] + [3])
        table.add_column("key (manifest/featurizer-config)", no_wrap=True, min_width=key_width)
        for col in ("rows", "flagged", "errors", "blocks", "size"):
            table.add_column(col, justify="right", no_wrap=True)
        for entry in entries:
            meta = entry.meta() or {}
            counts = meta.get("counts") or entry.counts()
            blocks = f"{counts.get('blocks_done', '?')}/{meta.get('n_blocks', '?')}"
            table.add_row(str(entry.key), str(counts.get("ok", "?")), str(counts.get("flagged", "?")),
                          str(counts.get("errors", "?")), blocks, _size(entry.size_bytes()))
        Console(width=max(Console().width, 120)).print(table)

    @features_app.command("show")
    def show_cmd(
        key: str = typer.Argument(..., help="'<manifest_hash>/<featurizer>-<config_hash>', a unique prefix of it, or a featurizer name"),
        store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
        rows: int = typer.Option(3, "--rows", help="how many stored rows to print"),
    ) -> None:
        """Schema, config, counts, errors by reason and a few rows of one store entry."""
        import json

        from semiemo.features.store import FeatureStore

        try:
            entry = FeatureStore(store).find(key)
        except KeyError as e:
            raise typer.BadParameter(str(e.args[0])) from e
        meta = entry.meta() or {}
        counts = entry.counts()
        typer.echo(f"{entry.key}  ({entry.path}, {_size(entry.size_bytes())})")
        typer.echo(f"config: {json.dumps(meta.get('config', {}), sort_keys=True)}")
        typer.echo("schema:")
        for name, spec in meta.get("schema", {}).items():
            typer.echo(f"  {name}: shape {tuple(spec['shape'])} {spec['dtype']}")
        typer.echo(f"rows ok {counts['ok']} (flagged {counts['flagged']}), errors {counts['errors']}, "
                   f"blocks {counts['blocks_done']}/{meta.get('n_blocks', '?')} of {meta.get('block_size', '?')} rows")
        for reason, n in sorted(counts["errors_by_reason"].items(), key=lambda kv: -kv[1]):
            typer.echo(f"  error {reason}: {n}")
        errors = entry.read_errors()
        if len(errors):
            typer.echo("first errors:")
            for r in errors.head(rows).itertuples():
                typer.echo(f"  {r.utt_id} [{r.stage}] {r.reason}: {r.detail[:160]}")
        table = entry.read_table().slice(0, rows).to_pylist()
        if table:
            typer.echo("first rows:")
        for record in table:
            shown = {k: (_preview(v) if isinstance(v, list) else v) for k, v in record.items()}
            typer.echo(f"  {shown}")


def run_featurize(corpus: str, features: str | list[str], store: str | None, address: str | None, views: int = 0,
                  augment: str = "strong", augment_seed: int = 0, **opts) -> "object":
    """The body of `semiemo featurize` and `jobs/featurize.py`: featurize, print counts, return the report.

    views > 0 adds, per featurizer, its K audio views under policy `augment` (`features.audio_views`)."""
    from semiemo.features import featurize

    names = [f.strip() for f in features.split(",") if f.strip()] if isinstance(features, str) else list(features)
    featurizers: list = list(names)
    if views:
        from semiemo.features.audio_views import make_views

        featurizers += make_views(names, views, augment, augment_seed)
    report = featurize(corpus, featurizers, store_root=store, address=address, **opts)
    for line in report.lines():
        typer.echo(line)
    return report


def _preview(values: list, n: int = 4) -> str:
    head = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in values[:n])
    return f"[{head}{', ...' if len(values) > n else ''}] ({len(values)})"


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
