"""`semiemo corpora synth|summary` (and `validate`/`import` from commands/corpora_validate.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

corpora_app = typer.Typer(help="Build, inspect and validate corpus manifests.", no_args_is_help=True)


def _print_table(title: str, df: pd.DataFrame, index_name: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    frame = df.reset_index() if index_name else df
    if index_name:
        frame = frame.rename(columns={frame.columns[0]: index_name})
    for col in frame.columns:
        table.add_column(str(col), justify="left" if frame[col].dtype == object else "right")
    for _, row in frame.iterrows():
        table.add_row(*[str(v) for v in row.tolist()])
    Console().print(table)


def print_summary(manifest: pd.DataFrame, title: str = "corpus") -> None:
    """Class shares per domain, durations and speakers, as rich tables."""
    from semiemo.corpora.summary import class_shares, domain_overview

    _print_table(f"{title}: domains", domain_overview(manifest))
    _print_table(f"{title}: class shares (%)", class_shares(manifest), index_name="class")


@corpora_app.command("synth")
def synth(
    out: Path = typer.Option(..., "--out", help="output folder: manifest.parquet (+ audio/ with --write-audio)"),
    acted: int = typer.Option(270, "--acted", help="acted utterances (labeled)"),
    wild_labeled: int = typer.Option(300, "--wild-labeled", help="labeled in-the-wild utterances"),
    unlabeled: int = typer.Option(2000, "--unlabeled", help="unlabeled in-the-wild utterances"),
    seed: int = typer.Option(0, "--seed", help="corpus seed"),
    write_audio: bool = typer.Option(False, "--write-audio", help="also write audio/<utt_id>.wav (16 kHz float)"),
    workers: int = typer.Option(1, "--workers", help="processes rendering audio"),
    no_visual: bool = typer.Option(False, "--no-visual", help="leave face_features/fer_probs out of the manifest "
                                                              "(for very large corpora)"),
) -> None:
    """Synthesize the embedded corpus (espeak-ng speech, emotion in prosody/text/social/face)."""
    import time

    from semiemo.corpora.synthetic import SynthConfig, write_corpus

    cfg = SynthConfig(seed=seed, n_acted=acted, n_wild_labeled=wild_labeled, n_unlabeled=unlabeled,
                      visual_in_manifest=not no_visual)
    t0 = time.perf_counter()
    path = write_corpus(cfg, out, write_audio=write_audio, workers=workers)
    elapsed = time.perf_counter() - t0
    manifest = pd.read_parquet(path, columns=["utt_id", "domain", "labeled", "label", "oracle_label", "speaker",
                                              "duration"] + (["path"] if write_audio else []))
    typer.echo(f"wrote {path} ({len(manifest)} rows in {elapsed:.1f} s)")
    if write_audio:
        missing = int(manifest["path"].isna().sum())
        typer.echo(f"audio: {len(manifest) - missing} files" + (f", {missing} failed (see {out / 'errors.csv'})" if missing else ""))
    else:
        typer.echo("durations are estimates (no audio written; use --write-audio for exact ones)")
    print_summary(manifest, title=str(out))


@corpora_app.command("summary")
def summary(path: Path = typer.Argument(..., help="manifest .parquet/.csv, or a folder holding manifest.parquet")) -> None:
    """Class shares per domain, durations, speakers."""
    from semiemo.corpora.manifest import read_manifest

    if not path.exists():
        raise typer.BadParameter(f"{path} does not exist: pass a manifest file or a folder holding manifest.parquet")
    manifest = read_manifest(path)
    typer.echo(f"{path}: {len(manifest)} rows")
    print_summary(manifest, title=path.name)


def register(app: typer.Typer) -> None:
    app.add_typer(corpora_app, name="corpora")


try:
    from semiemo.commands import corpora_validate
except ModuleNotFoundError as _e:  # the validate/import commands are optional here
    if _e.name != "semiemo.commands.corpora_validate":
        raise
else:
    corpora_validate.add_commands(corpora_app)


@corpora_app.command("crop-words")
def crop_words(
    src: str = typer.Argument(..., help="corpus spec of long recordings with a word alignment (manifest path, casia, ...)"),
    out: Path = typer.Option(..., "--out", help="output folder: manifest.parquet + audio/ (+ visual/)"),
    width: float = typer.Option(7.2, "--width", help="clip width in seconds (paper 001: 7.2 IEMOCAP, 3.5 MELD)"),
    per_recording: int = typer.Option(1, "--per-recording", help="clips cut from each recording"),
    visual_fps: float = typer.Option(None, "--visual-fps", help="frame rate of the rows' visual track, to cut it too"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Paper 001's unlabeled sampling: clips centred on the middle of 3 random consecutive words."""
    from semiemo.corpora import load_corpus
    from semiemo.corpora.manifest import write_manifest
    from semiemo.corpora.word_crops import crop_corpus

    manifest = load_corpus(src)
    p = Path(src)
    base = p if p.is_dir() else (p.parent if p.exists() else None)
    clips, errors = crop_corpus(manifest, out, width_s=width, crops_per_recording=per_recording, seed=seed,
                                visual_fps=visual_fps, base_dir=base)
    written = write_manifest(clips, out)
    typer.echo(f"wrote {written}: {len(clips)} clips of {width:g} s from {len(manifest) - len(errors)} of "
               f"{len(manifest)} recordings")
    if len(errors):
        errors.to_csv(out / "errors.csv", index=False)
        typer.echo(f"{len(errors)} recording(s) not cut, reasons in {out / 'errors.csv'}; first: "
                   f"{errors.iloc[0]['utt_id']}: {errors.iloc[0]['error']}")
