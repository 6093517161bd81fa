"""The scaling study's report: a Markdown page with tables, four PNGs and the projection, marked as one.

Every number on the page comes from `results.json` of the same run; the projection section says
which measured quantities it multiplies and that nothing at the projected size was run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_throughput_vs_workers(results: dict[str, Any], path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    feat = [r for r in results["records"] if r["kind"] == "featurize"]
    local = [r for r in feat if r["nodes"] == 1]
    for rows in sorted({r["rows"] for r in local}):
        pts = sorted((r["workers"], r["rows_per_s"]) for r in local if r["rows"] == rows)
        ax.plot(*zip(*pts), "o-", label=f"{rows:,} rows, 1 node")
    scaling = results["fits"].get("worker_scaling")
    if scaling:
        w = np.arange(1, max(max(scaling["workers"]), max((r["workers"] for r in feat), default=1)) + 1)
        per = scaling["rows_per_s"][0] / scaling["workers"][0]
        ax.plot(w, per * w, "k:", label=f"ideal: {per:,.0f} rows/s x workers")
    single = results.get("single_process")
    if single:
        ax.axhline(single["rows_per_s"], color="grey", lw=0.8, label=f"one core, serial: {single['rows_per_s']:,.0f} rows/s")
    for r in (r for r in feat if r["nodes"] > 1):
        ax.plot(r["workers"], r["rows_per_s"], "*", ms=14, label=f"{r['rows']:,} rows, {r['nodes']}-node cluster")
    ax.set(xlabel="featurization workers (concurrent tasks)", ylabel="rows / s (whole featurize call)",
           title="Featurization throughput vs workers")
    ax.set_xticks(sorted({r["workers"] for r in feat}))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_wall_vs_rows(results: dict[str, Any], path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    feat = [r for r in results["records"] if r["kind"] == "featurize"]
    for w in sorted({r["workers"] for r in feat if r["nodes"] == 1}):
        pts = sorted((r["rows"], r["wall_s"]) for r in feat if r["nodes"] == 1 and r["workers"] == w)
        line, = ax.plot(*zip(*pts), "o-", label=f"{w} worker(s), measured")
        fit = results["fits"]["featurize"].get(str(w))
        if fit:
            x = np.geomspace(min(p[0] for p in pts), max(p[0] for p in pts), 50)
            ax.plot(x, fit["fixed_s"] + fit["per_row_s"] * x, ":", color=line.get_color(),
                    label=f"fit {fit['fixed_s']:.1f} s + {1000 * fit['per_row_s']:.2f} ms/row")
    for r in (r for r in feat if r["nodes"] > 1):
        ax.plot(r["rows"], r["wall_s"], "*", ms=14, label=f"{r['nodes']}-node cluster, {r['workers']} workers")
    train = [r for r in results["records"] if r["kind"] == "train"]
    for tw in sorted({r["workers"] for r in train}):
        pts = sorted((r["rows"], r["wall_s"]) for r in train if r["workers"] == tw)
        ax.plot(*zip(*pts), "s--", label=f"train {pts and train[0]['steps']} steps, {tw} worker(s) (call)")
    ax.set(xscale="log", yscale="log", xlabel="rows", ylabel="wall seconds", title="Wall time vs rows (log-log)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_rss_vs_rows(results: dict[str, Any], path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    feat = [r for r in results["records"] if r["kind"] == "featurize" and r["nodes"] == 1]
    for w in sorted({r["workers"] for r in feat}):
        pts = sorted((r["rows"], r["driver_peak_mb"], r["worker_peak_mb"]) for r in feat if r["workers"] == w)
        x = [p[0] for p in pts]
        ax.plot(x, [p[1] for p in pts], "o-", label=f"driver, featurize, {w} worker(s)")
        ax.plot(x, [p[2] for p in pts], "^--", label=f"largest worker, featurize, {w} worker(s)")
    train = [r for r in results["records"] if r["kind"] == "train"]
    for tw in sorted({r["workers"] for r in train}):
        pts = sorted((r["rows"], r["driver_peak_mb"]) for r in train if r["workers"] == tw)
        ax.plot(*zip(*pts), "s:", label=f"driver, streamed training, {tw} worker(s)")
    ax.set(xscale="log", xlabel="rows", ylabel="peak RSS (MB, sampled)", title="Memory vs rows")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _table(rows: list[list[Any]], header: list[str]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def write_report(results: dict[str, Any], out_dir: str | Path) -> Path:
    out = Path(out_dir)
    plots = {
        "throughput": plot_throughput_vs_workers(results, out / "throughput_vs_workers.png"),
        "wall": plot_wall_vs_rows(results, out / "wall_vs_rows.png"),
        "rss": plot_rss_vs_rows(results, out / "rss_vs_rows.png"),
    }
    cfg, fits = results["config"], results["fits"]
    lines = [
        "# semiemo scaling study",
        "",
        f"Machine: {results['machine']}. Featurizer `{cfg['featurizer']}`; pool: synthetic unlabeled utterances "
        "rendered on the Ray workers (espeak-ng), written to a fresh feature store per measurement; training: "
        f"`{results['ssl_method']}`, {cfg['train_steps']} steps, B=64, μ=7, the pool streamed from the store.",
        "",
    ]
    single = results.get("single_process")
    if single:
        stages = ", ".join(f"{k} {v:,.0f}" for k, v in single["per_stage_rows_per_s"].items())
        lines += [f"One core, serial ({single['rows']} utterances in one Ray task), rows/s: {stages} "
                  f"({1000 / single['rows_per_s']:.2f} ms per utterance).", ""]
    feat = [r for r in results["records"] if r["kind"] == "featurize"]
    lines += ["## Featurization", "", _table(
        [[f"{r['rows']:,}", r["workers"], r["nodes"], f"{r['wall_s']:.1f}", f"{r['rows_per_s']:,.1f}",
          f"{r['driver_peak_mb']:.0f}", f"{r['worker_peak_mb']:.0f}", f"{r['store_mb']:.2f}", r["errors"]]
         for r in sorted(feat, key=lambda r: (r["nodes"], r["workers"], r["rows"]))],
        ["rows", "workers", "nodes", "wall s", "rows/s", "driver peak MB", "worker peak MB", "store MB", "errors"]), ""]
    train = [r for r in results["records"] if r["kind"] == "train"]
    if train:
        lines += ["## Training (pool streamed from the store)", "", _table(
            [[f"{r['rows']:,}", r["workers"], r["steps"], f"{r['train_s']:.1f}", f"{r['samples_per_s']:,.0f}",
              f"{r['wall_s']:.1f}", f"{r['driver_peak_mb']:.0f}", r["streamed"]]
             for r in sorted(train, key=lambda r: (r["workers"], r["rows"]))],
            ["pool rows", "workers", "steps", "fit s", "samples/s", "call s", "driver peak MB", "streamed"]), ""]
    lines += ["## How cost grows", ""]
    fit_rows = []
    for name, per in (("featurize", fits["featurize"]), ("train call", fits.get("train", {}))):
        for w, f in sorted(per.items()):
            bends = ", ".join(f"{b:,}" for b in f["bends_at"]) or "none"
            marginal = f"{f['marginal_rows_per_s']:,.0f}" if f["per_row_s"] > 0 else "no growth with rows"
            fit_rows.append([name, w, f"{f['fixed_s']:.2f}", f"{1000 * f['per_row_s']:.3f}", marginal, f"{f['loglog_exponent']:.2f}", f"{f['r2']:.3f}", bends])
    if fits.get("driver_rss"):
        f = fits["driver_rss"]
        fit_rows.append(["driver peak RSS (MB)", "max", f"{f['fixed_s']:.0f} MB", f"{1000 * f['per_row_s']:.3f} MB/1k rows",
                         "", f"{f['loglog_exponent']:.2f}", f"{f['r2']:.3f}", ", ".join(map(str, f["bends_at"])) or "none"])
    lines += [_table(fit_rows, ["cost", "workers", "fixed s (a)", "ms per row (b)", "marginal rows/s",
                                "log-log exponent", "R²", "bends after (rows)"]), "",
              "wall = a + b·rows fitted by least squares; a log-log exponent below 1 means the fixed part still "
              "weighs at these sizes; a size is listed under *bends* when the slope from it to the next size differs "
              "from b by more than 25 %.", ""]
    ws = fits.get("worker_scaling")
    if ws:
        lines += [f"Workers at {fits['worker_scaling_rows']:,} rows: " + "; ".join(
            f"{w} → {r:,.1f} rows/s (speed-up {s:.2f}, efficiency {e:.2f})"
            for w, r, s, e in zip(ws["workers"], ws["rows_per_s"], ws["speedup"], ws["efficiency"])) + ".", ""]
    node = fits.get("nodes")
    if node:
        lines += [f"{node['nodes']}-node local cluster ({node['cpus_per_node']} CPU each) vs one node with "
                  f"{node['workers']} CPUs, {node['rows']:,} rows: {node['cluster_rows_per_s']:,.1f} vs "
                  f"{node['single_node_rows_per_s']:,.1f} rows/s (ratio {node['ratio']:.2f}). Both nodes share this "
                  "machine's cores, so this measures the cost of spreading over nodes (object transfer, scheduling), "
                  "not added compute.", ""]
    lines += ["## Plots", "", "![throughput vs workers](throughput_vs_workers.png)", "",
              "![wall vs rows](wall_vs_rows.png)", "", "![rss vs rows](rss_vs_rows.png)", ""]
    p = results.get("projection")
    if p:
        lines += [
            "## PROJECTION (not measured)", "",
            f"**Projected, not run:** {p['rows']:,} rows on {p['nodes']} node(s) × {p['cpus_per_node']} CPUs. "
            f"Featurization ≈ **{p['featurize_s'] / 60:,.1f} min** = fixed {p['fixed_s']:.1f} s + rows / "
            f"({p['per_worker_rows_per_s']:,.1f} rows/s per worker × {p['nodes'] * p['cpus_per_node']} workers × "
            f"efficiency {p['efficiency']:.2f}).",
        ]
        if p.get("driver_mb") is not None:
            lines.append(f"Driver peak RSS ≈ {p['driver_mb']:,.0f} MB (the driver-RSS line above carried to "
                         f"{p['rows']:,} rows).")
        if p.get("train_epoch_s") is not None:
            lines.append(f"One pass of training over the pool ≈ {p['train_epoch_s'] / 60:,.1f} min at the measured "
                         f"{p['rows'] / p['train_epoch_s']:,.0f} samples/s of one training worker.")
        lines += ["", "Inputs: the per-worker marginal rate is 1/b of the 1-worker fit; the efficiency is the one "
                  "measured at the largest worker count here (and times the node ratio when projecting to more than "
                  "one node and a cluster was measured). Different CPUs, disks or featurizers change all of these.", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
