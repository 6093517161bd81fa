"""`semiemo corpora validate` and `semiemo corpora import`: check a manifest, or build one from a corpus.

`add_commands(corpora_app)` is called by commands/corpora.py, which owns the `corpora` sub-app.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Optional

import typer

IMPORT_KINDS = ("casia", "iemocap", "meld", "dir", "table")


def _print_problems(problems, limit: int) -> None:
    shown = problems if limit <= 0 else problems[:limit]
    for p in shown:
        typer.echo(str(p))
    if len(shown) < len(problems):
        typer.echo(f"... {len(problems) - len(shown)} more (use --limit 0 to print all)")
    kinds = Counter(p.kind for p in problems)
    summary = ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items()))
    typer.echo(f"{len(problems)} problem(s)" + (f" ({summary})" if problems else ""))


def add_commands(corpora_app: typer.Typer) -> None:
    @corpora_app.command("validate")
    def validate(
        path: Path = typer.Argument(..., help="manifest .parquet/.csv, or a folder holding manifest.parquet"),
        labels: Optional[str] = typer.Option(None, "--labels", help="declared label set, comma separated: a,b,c"),
        root: Optional[Path] = typer.Option(None, "--root", help="folder relative audio paths resolve against "
                                                                 "(default: the manifest's folder)"),
        no_audio: bool = typer.Option(False, "--no-audio", help="skip looking for audio files on disk"),
        limit: int = typer.Option(0, "--limit", help="print at most this many problem lines (0: all)"),
    ) -> None:
        """Check a manifest; one line per problem naming the row and the fix. Exit code 1 if any."""
        from semiemo.corpora.manifest import resolve_manifest_file, read_manifest, validate_manifest

        file = resolve_manifest_file(path)
        df = read_manifest(file)
        label_set = [s.strip() for s in labels.split(",") if s.strip()] if labels else None
        problems = validate_manifest(df, root=root or file.parent, label_set=label_set, check_audio=not no_audio)
        typer.echo(f"{file}: {len(df)} rows")
        _print_problems(problems, limit)
        if problems:
            raise typer.Exit(code=1)

    @corpora_app.command("import")
    def import_(
        kind: str = typer.Argument(..., help=f"one of {', '.join(IMPORT_KINDS)}"),
        src: Path = typer.Argument(..., help="corpus folder (or table file for 'table')"),
        out: Path = typer.Option(..., "--out", help="manifest to write (.parquet or .csv)"),
        template: Optional[str] = typer.Option(None, "--template", help="dir: e.g. '{speaker}/{label}/{name}.wav'"),
        regex: Optional[str] = typer.Option(None, "--regex", help="dir: regex with named groups instead of a template"),
        label_map: Optional[str] = typer.Option(None, "--label-map", help="dir: code:label pairs, 'W:anger;F:happiness'"),
        mapping: Optional[str] = typer.Option(None, "--map", help="table: manifest=source columns, 'path=file_path,label=emotion'"),
        corpus: Optional[str] = typer.Option(None, "--corpus", help="dir/table: corpus name (default: folder/file name)"),
        domain: Optional[str] = typer.Option(None, "--domain", help="dir/table: acted | wild"),
        limit: int = typer.Option(50, "--limit", help="print at most this many problem lines (0: all)"),
    ) -> None:
        """Build a manifest from a corpus on disk, write it, and validate it (exit code 1 on problems)."""
        from semiemo.corpora import parse_label_map
        from semiemo.corpora.manifest import validate_manifest, write_manifest

        unmatched: list[tuple[str, str]] = []
        if kind == "casia":
            from semiemo.corpora.casia import read_casia

            df = read_casia(src)
        elif kind == "iemocap":
            from semiemo.corpora.iemocap import read_iemocap

            df = read_iemocap(src)
        elif kind == "meld":
            from semiemo.corpora.meld import read_meld

            df = read_meld(src)
        elif kind == "dir":
            from semiemo.corpora.directory import scan_directory

            scan = scan_directory(src, template=template, regex=regex, corpus=corpus, domain=domain or "acted",
                                  label_map=parse_label_map(label_map) if label_map else None)
            df, unmatched = scan.manifest, scan.unmatched
        elif kind == "table":
            from semiemo.corpora.table import read_table

            df = read_table(src, mapping=mapping, corpus=corpus, domain=domain)
        else:
            raise typer.BadParameter(f"unknown kind {kind!r}; use one of {', '.join(IMPORT_KINDS)}", param_hint="KIND")

        written = write_manifest(df, out)
        typer.echo(f"wrote {written}: {len(df)} rows")
        for rel, why in unmatched:
            typer.echo(f"not imported: {rel}: {why}")
        if unmatched:
            typer.echo(f"{len(unmatched)} audio file(s) not imported — fix the template/regex or the label map")
        problems = validate_manifest(df, root=Path(written).parent)
        _print_problems(problems, limit)
        if problems or unmatched:
            raise typer.Exit(code=1)
