"""Loss curves from a run's TensorBoard events (paper 001 Fig. 7b: L_cls, L_rec, L_pair, L_unpaired).

Reads every events file under a run folder (e.g. `<run>/tb/seed0/<fold>`), takes the per-epoch
scalars `train/<name>`, averages them over the event folders found (seeds/folds), and draws one panel
per loss. Paper 001's claims: L_cls drops fast and converges within 15 epochs, L_rec converges
smoothly, L_pair and L_unpaired move in opposite directions, then level off.

    python -m semiemo.analysis.loss_curves RUN_DIR OUT.png [--tags cls,rec,pair,unpaired]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

PAPER_001_TAGS = ("cls", "rec", "pair", "unpaired", "u_rec", "u_pair", "u_unpaired")


def read_scalars(run_dir: str | Path | list, prefix: str = "train/") -> pd.DataFrame:
    """Long table (events_dir, tag, step, value) of every `prefix*` scalar under `run_dir` (or several)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    rows = []
    roots = run_dir if isinstance(run_dir, list) else [run_dir]
    dirs = sorted({p.parent for r in roots for p in Path(r).rglob("events.out.tfevents.*")})
    if not dirs:
        raise FileNotFoundError(f"no TensorBoard events under {str(run_dir)!r}; point at a run's output folder "
                                "(it holds tb/seed<k>/<fold>/events.out.tfevents.*)")
    for d in dirs:
        acc = EventAccumulator(str(d), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags().get("scalars", []):
            if tag.startswith(prefix):
                rows += [(str(d), tag[len(prefix):], e.step, e.value) for e in acc.Scalars(tag)]
    return pd.DataFrame(rows, columns=["events_dir", "tag", "step", "value"])


def plot_loss_curves(run_dir: str | Path | list, out: str | Path, tags: tuple[str, ...] = PAPER_001_TAGS) -> Path:
    """PNG with one panel per tag present: mean over event folders per epoch, thin lines per folder."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = read_scalars(run_dir)
    present = [t for t in tags if t in set(table["tag"])]
    if not present:
        raise ValueError(f"none of the tags {list(tags)} was logged under {str(run_dir)!r}; "
                         f"logged: {sorted(set(table['tag']))}")
    fig, axes = plt.subplots(1, len(present), figsize=(3.2 * len(present), 3.0), squeeze=False)
    for ax, tag in zip(axes[0], present):
        sub = table[table["tag"] == tag]
        for _, g in sub.groupby("events_dir"):
            ax.plot(g["step"], g["value"], color="0.8", lw=0.8)
        mean = sub.groupby("step")["value"].mean()
        ax.plot(mean.index, mean.to_numpy(), color="C0", lw=2, marker="o", ms=3)
        ax.set_title(f"L_{tag}" if not tag.startswith("u_") else f"L^u_{tag[2:]}")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def trend_summary(run_dir: str | Path | list, tags: tuple[str, ...] = PAPER_001_TAGS) -> dict[str, tuple[float, float]]:
    """(first-epoch mean, last-epoch mean) per tag: what the Fig. 7(b) claims are checked against."""
    table = read_scalars(run_dir)
    out = {}
    for tag in tags:
        mean = table[table["tag"] == tag].groupby("step")["value"].mean()
        if len(mean):
            out[tag] = (float(mean.iloc[0]), float(mean.iloc[-1]))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("out")
    ap.add_argument("--tags", default=",".join(PAPER_001_TAGS))
    args = ap.parse_args(argv)
    tags = tuple(t for t in args.tags.split(",") if t)
    path = plot_loss_curves(args.run_dir, args.out, tags)
    for tag, (first, last) in trend_summary(args.run_dir, tags).items():
        print(f"{tag:>11}: epoch 1 {first:+.4f} -> last {last:+.4f} ({'down' if last < first else 'up'})")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
