"""500,000 utterances end to end: synthesis -> Ray Data featurization -> feature store -> streamed training,
with the driver SIGKILLed half way and the run resumed.

    HEAVY_BOTH=1 /work/bin/heavy python bench/bench_scale_500k.py [--rows 500000] [--cpus 2] [--out DIR]

The pool is `semiemo.scale.measure.pool_spec(rows)`: synthetic unlabeled utterances (espeak-ng, ~3 s)
rendered inside the Ray tasks (the driver holds only the manifest), featurized with `melstats`
(mean + std of 40 log-mels, 80 floats; chosen because openSMILE IS10 costs ~65 ms per utterance
per core, 4.4 h for 500k rows on 2 cores). Its per-utterance cost is measured first, in one Ray task
(render / featurize / encode+write each timed), and the parallel pass is compared with
`cores x` that rate.

Run 1 (a child process: the driver) featurizes; the parent SIGKILLs it once half of the blocks are
in the store. Run 2 (a new driver) featurizes again — only the missing blocks are computed — then
reads the store back shard by shard (exactly-once check) and trains fixmatch for `--train-steps`
steps with the pool streamed from the store. Driver and worker RSS are sampled every second in both
runs (CSV kept even through the kill). Prints and writes (under --out): rows/s per stage, peak RSS,
store size, the exactly-once check, the resume facts, `rss_vs_rows.png`, `summary.json` and `report.md`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()


# ------------------------------------------------------------------------------------------------
# child: one driver run
# ------------------------------------------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    from semiemo.jobs.ray_runtime import init_ray, shutdown_ray
    from semiemo.scale.measure import (
        concurrent_rates, exactly_once, featurize_run, pool_manifest, single_process_rate, train_run,
    )
    from semiemo.scale.rss import RssSampler

    out = Path(args.out)
    store = str(out / "store")
    result: dict = {"run": args.run, "pid": os.getpid()}
    sampler = RssSampler(interval=1.0, csv_path=out / f"rss-run{args.run}.csv").start()
    sampler.phase = "manifest"
    manifest, manifest_s = pool_manifest(args.rows)
    result["manifest"] = {"rows": len(manifest), "seconds": round(manifest_s, 2),
                          "rows_per_s": round(len(manifest) / manifest_s, 1)}
    print(f"[run {args.run}] manifest: {len(manifest):,} rows in {manifest_s:.1f} s on the driver", flush=True)
    init_ray(num_cpus=args.cpus)
    if args.run == 1:
        sampler.phase = "single-process rate"
        rate = single_process_rate(manifest, str(out / "scratch"), rows=args.rate_rows)
        result["single_process"] = {"rows": rate.rows, "render_s": rate.render_s, "featurize_s": rate.featurize_s,
                                    "write_s": rate.write_s, "rows_per_s": rate.rows_per_s, "cpu_s": rate.cpu_s,
                                    "threads": rate.threads, "per_stage_rows_per_s": rate.per_stage_rows_per_s()}
        print(f"[run 1] single process ({rate.rows} utterances spread over the pool, one Ray task): "
              + ", ".join(f"{k} {v:,.0f} rows/s" for k, v in rate.per_stage_rows_per_s().items())
              + f"  = {1000 * rate.total_s / rate.rows:.2f} ms/utt; CPU/wall {rate.cpu_s / rate.total_s:.2f}, "
              f"thread pools {rate.threads}", flush=True)
        sampler.phase = "concurrent rate"
        rates = concurrent_rates(manifest, str(out / "scratch"), rows=args.rate_rows, tasks=args.cpus)
        result["concurrent"] = {"tasks": len(rates), "rows_per_s_each": [r.rows_per_s for r in rates],
                                "rows_per_s": sum(r.rows_per_s for r in rates),
                                "cpu_over_wall": [r.cpu_s / r.total_s for r in rates]}
        print(f"[run 1] the same loop in {len(rates)} tasks at once (every core busy, no pipeline): "
              + " + ".join(f"{r.rows_per_s:,.1f}" for r in rates)
              + f" = {result['concurrent']['rows_per_s']:,.1f} rows/s "
              f"({result['concurrent']['rows_per_s'] / (args.cpus * rate.rows_per_s):.3f} of {args.cpus} x one task)",
              flush=True)
    (out / f"run{args.run}-start.json").write_text(json.dumps({**result, "featurize_started": time.time()}))
    fm = featurize_run(manifest, store, workers=args.cpus, cpus_per_node=args.cpus, sampler=sampler)
    result["featurize"] = fm.record()
    print(f"[run {args.run}] featurize: {fm.blocks_computed}/{fm.blocks_total} blocks computed in {fm.wall_s:.1f} s "
          f"= {fm.rows_per_s:,.1f} rows/s; driver peak {fm.driver_peak_mb:.0f} MB, worker peak {fm.worker_peak_mb:.0f} MB",
          flush=True)
    sampler.phase = "exactly-once check"
    result["exactly_once"] = exactly_once(manifest, store)
    print(f"[run {args.run}] exactly-once: {result['exactly_once']}", flush=True)
    del manifest  # training builds its own pool manifest; one copy on the driver at a time
    if args.train_steps:
        tm = train_run(args.rows, store, str(out / "runs"), steps=args.train_steps, sampler=sampler)
        result["train"] = tm.record()
        print(f"[run {args.run}] train fixmatch {tm.steps} steps, pool streamed={tm.streamed}: "
              f"{tm.samples_per_s:,.0f} samples/s, fit {tm.train_s:.1f} s, call {tm.wall_s:.1f} s", flush=True)
    sampler.stop()
    result["driver_peak_mb"] = sampler.driver_peak_mb
    result["worker_peak_mb"] = sampler.worker_peak_mb
    shutdown_ray()
    (out / f"run{args.run}.json").write_text(json.dumps(result, indent=2, default=str))


# ------------------------------------------------------------------------------------------------
# parent: run 1, kill, run 2, summary
# ------------------------------------------------------------------------------------------------


def _shards(out: Path) -> int:
    """Committed shards in the store (run 1 has one entry: the pool's melstats)."""
    return sum(1 for _ in (out / "store").glob("*/melstats-*/shard-*.parquet"))


def _start(args: argparse.Namespace, run: int, train_steps: int) -> subprocess.Popen:
    cmd = [sys.executable, str(HERE), "--child", "--run", str(run), "--rows", str(args.rows), "--cpus", str(args.cpus),
           "--out", str(args.out), "--train-steps", str(train_steps), "--rate-rows", str(args.rate_rows)]
    return subprocess.Popen(cmd, stdout=sys.stdout, stderr=subprocess.STDOUT)


def _kill_driver(proc: subprocess.Popen) -> dict:
    """SIGKILL the driver; Ray's processes it started share its fate. Report any that linger (and end them)."""
    from semiemo.scale.rss import _cmdline, descendants

    started = descendants(proc.pid)
    names = {p: _cmdline(p).split(" ")[0].rsplit("/", 1)[-1][:40] for p in started}
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 30
    alive = [p for p in started if Path(f"/proc/{p}").exists()]
    while alive and time.time() < deadline:
        time.sleep(1)
        alive = [p for p in started if Path(f"/proc/{p}").exists()]
    lingering = sorted(names[p] for p in alive)
    for p in alive:  # processes this bench started, ended by id
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return {"driver_descendants": len(started), "lingering_after_30s": len(lingering), "lingering": lingering}


def _read_csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path) as f:
        return [{k: (v if k == "phase" else float(v)) for k, v in row.items()} for row in csv.DictReader(f)]


def plot_rss(out: Path, runs: list[list[dict]], kill_rows: int | None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    t_offset = 0.0
    for i, samples in enumerate(runs, start=1):
        feat = [s for s in samples if s["phase"].startswith("featurize")]
        ax.plot([s["rows_done"] for s in feat], [s["driver_mb"] for s in feat], label=f"driver, run {i}")
        ax.plot([s["rows_done"] for s in feat], [s["worker_max_mb"] for s in feat], "--", label=f"largest worker, run {i}")
        ax2.plot([t_offset + s["t"] for s in samples], [s["driver_mb"] for s in samples], label=f"driver, run {i}")
        ax2.plot([t_offset + s["t"] for s in samples], [s["worker_sum_mb"] for s in samples], ":",
                 label=f"all workers, run {i}")
        t_offset += samples[-1]["t"] if samples else 0.0
    if kill_rows:
        ax.axvline(kill_rows, color="k", lw=0.8)
        ax.annotate("SIGKILL", (kill_rows, ax.get_ylim()[1] * 0.95), ha="right")
    ax.set(xlabel="rows in the store", ylabel="RSS (MB)", title="RSS while featurizing")
    ax2.set(xlabel="seconds (run 2 after run 1)", ylabel="RSS (MB)", title="RSS over the whole run (featurize, check, train)")
    ax.legend(fontsize=8)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    path = out / "rss_vs_rows.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def parent(args: argparse.Namespace) -> None:
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)  # a fresh store: the point is to measure a full run
    out.mkdir(parents=True)
    n_blocks = -(-args.rows // 256)
    t_all = time.perf_counter()
    print(f"== {args.rows:,}-row pool, {args.cpus} CPUs, store {out / 'store'}; kill at {args.kill_at:.0%} of "
          f"{n_blocks} blocks", flush=True)

    kill: dict = {}
    proc = _start(args, 1, train_steps=0)
    while proc.poll() is None:
        done = _shards(out)
        if args.kill_at < 1 and done >= args.kill_at * n_blocks:
            kill = {"blocks_at_kill": done, "time": time.time()}
            kill.update(_kill_driver(proc))
            kill["blocks_after_kill"] = _shards(out)  # a task mid-rename may still land one shard
            print(f"== SIGKILL driver (pid {proc.pid}) with {done}/{n_blocks} blocks in the store; "
                  f"{kill['lingering_after_30s']} of its {kill['driver_descendants']} Ray processes outlived it by 30 s "
                  f"{kill['lingering']} (ended by pid)",
                  flush=True)
            break
        time.sleep(0.5)
    if not kill and proc.returncode:
        raise SystemExit(f"run 1 failed (exit {proc.returncode})")
    (out / "kill.json").write_text(json.dumps(kill))
    proc = _start(args, 2, train_steps=args.train_steps)
    if proc.wait():
        raise SystemExit(f"run 2 failed (exit {proc.returncode})")
    (out / "total.json").write_text(json.dumps({"total_s": time.perf_counter() - t_all}))
    report(args)


def report(args: argparse.Namespace) -> None:
    """Summary of a finished run 1 + kill + run 2 from the files under --out (also `--summarize-only`)."""
    out = Path(args.out)
    kill = json.loads((out / "kill.json").read_text())
    run1_start = json.loads((out / "run1-start.json").read_text())
    run2 = json.loads((out / "run2.json").read_text())
    total_s = json.loads((out / "total.json").read_text())["total_s"]

    rss1, rss2 = _read_csv(out / "rss-run1.csv"), _read_csv(out / "rss-run2.csv")
    rows_at_kill = min(args.rows, kill.get("blocks_at_kill", 0) * 256)
    png = plot_rss(out, [rss1, rss2], rows_at_kill or None)
    summary = summarize(args, run1_start, kill, run2, rss1, rss2, total_s)
    summary["plot"] = str(png)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    print_summary(summary)
    print(f"report: {write_markdown(summary, out)}")


def _steady(samples: list[dict]) -> float | None:
    from semiemo.scale.fit import steady_rate

    feat = [r for r in samples if r["phase"].startswith("featurize")]
    rate = steady_rate([r["t"] for r in feat], [r["rows_done"] for r in feat])
    return round(rate, 1) if rate else None


def cpu_shares(samples: list[dict], cpus: int) -> dict:
    """Who used the CPUs while featurizing: CPU seconds by group between the first and last featurize sample."""
    feat = [r for r in samples if r["phase"].startswith("featurize")]
    if len(feat) < 2:
        return {}
    wall = feat[-1]["t"] - feat[0]["t"]
    groups = ("cpu_workers_s", "cpu_driver_s", "cpu_ray_other_s", "cpu_machine_other_s")
    used = {g[4:-2]: round(feat[-1][g] - feat[0][g], 1) for g in groups}
    return {"wall_s": round(wall, 1), "capacity_cpu_s": round(cpus * wall, 1), "cpu_s": used,
            "share_of_capacity": {k: round(v / (cpus * wall), 3) for k, v in used.items()}}


def summarize(args, run1_start, kill, run2, rss1, rss2, total_s) -> dict:
    single = run1_start.get("single_process") or {}
    f2 = run2["featurize"]
    n_blocks = f2["blocks_total"]
    s = {"rows": args.rows, "cpus": args.cpus, "featurizer": "melstats (mean+std of 40 log-mels, 80 float32)",
         "total_wall_s": round(total_s, 1), "manifest": run2["manifest"], "single_process": single,
         "concurrent": run1_start.get("concurrent") or {}}
    if kill:
        feat1 = [r for r in rss1 if r["phase"].startswith("featurize")]
        run1_feat_s = kill["time"] - run1_start["featurize_started"]
        rows1 = min(args.rows, kill["blocks_at_kill"] * 256)
        s["run1_killed"] = {**kill, "featurize_s_until_kill": round(run1_feat_s, 1), "rows_done": rows1,
                            "rows_per_s": round(rows1 / run1_feat_s, 1), "steady_rows_per_s": _steady(rss1),
                            "driver_peak_mb": max((r["driver_mb"] for r in rss1), default=0.0),
                            "worker_peak_mb": max((r["worker_max_mb"] for r in feat1), default=0.0)}
        kill_rows = [(r["rows_done"], r["driver_mb"]) for r in feat1]
    else:
        kill_rows = []
    done_before = n_blocks - f2["blocks_computed"]
    s["run2_resumed"] = {"blocks_total": n_blocks, "blocks_computed": f2["blocks_computed"],
                         "blocks_found_done": done_before,
                         "only_missing_computed": (not kill) or done_before == kill.get("blocks_after_kill"),
                         "featurize_s": f2["wall_s"], "rows_per_s": f2["rows_per_s"], "steady_rows_per_s": _steady(rss2),
                         "driver_peak_mb": f2["driver_peak_mb"], "worker_peak_mb": f2["worker_peak_mb"]}
    s["cpu_while_featurizing"] = {"run1": cpu_shares(rss1, args.cpus), "run2": cpu_shares(rss2, args.cpus)}
    s["exactly_once"] = run2["exactly_once"]
    s["store_mb"] = run2["exactly_once"]["store_mb"]
    if "train" in run2:
        s["train"] = run2["train"]
    # driver RSS growth while featurizing: first quarter of the rows vs the end (both runs)
    feat2 = [(r["rows_done"], r["driver_mb"]) for r in rss2 if r["phase"].startswith("featurize")]
    s["driver_rss"] = {"run1": _growth(kill_rows), "run2": _growth(feat2),
                       "peak_mb_whole_run": max(run2["driver_peak_mb"], s.get("run1_killed", {}).get("driver_peak_mb", 0))}
    rate1 = single.get("rows_per_s")
    if rate1:
        targets = {}
        k1 = s.get("run1_killed", {})
        for name, rate in (("run 1 until kill, whole call", k1.get("rows_per_s")),
                           ("run 1 until kill, steady", k1.get("steady_rows_per_s")),
                           ("run 2 resumed part, whole call", f2["rows_per_s"]),
                           ("run 2 resumed part, steady", s["run2_resumed"]["steady_rows_per_s"])):
            if rate:
                targets[name] = {"rows_per_s": rate, "ideal_rows_per_s": round(args.cpus * rate1, 1),
                                 "ratio": round(rate / (args.cpus * rate1), 3)}
                if s["concurrent"]:  # the same loop on every core at once: what the cores give in parallel
                    targets[name]["ratio_vs_cores_at_once"] = round(rate / s["concurrent"]["rows_per_s"], 3)
        s["featurize_vs_ideal"] = targets
    return s


def _growth(points: list[tuple[float, float]]) -> dict:
    """Driver MB at the first sample past 25% of that run's rows and at its last sample."""
    if len(points) < 2:
        return {}
    top = max(r for r, _ in points)
    lo = min(r for r, _ in points)
    quarter = next((m for r, m in points if r >= lo + 0.25 * (top - lo)), points[0][1])
    return {"rows_from": int(lo), "rows_to": int(top), "mb_at_25pct": quarter, "mb_at_end": points[-1][1],
            "growth_mb": round(points[-1][1] - quarter, 1), "max_mb": max(m for _, m in points)}


def print_summary(s: dict) -> None:
    print("\n==================== scale benchmark summary ====================")
    print(f"pool {s['rows']:,} synthetic utterances, {s['cpus']} CPUs, featurizer {s['featurizer']}")
    m = s["manifest"]
    print(f"stage rows/s   manifest (driver): {m['rows_per_s']:,.0f}")
    sp = s["single_process"]
    if sp:
        print("               one core, serial: " + ", ".join(f"{k} {v:,.0f}" for k, v in sp["per_stage_rows_per_s"].items())
              + f"  ({1000 / sp['rows_per_s']:.2f} ms/utt)")
    c = s.get("concurrent")
    if c:
        print(f"               {c['tasks']} tasks of that loop at once: {c['rows_per_s']:,.1f} "
              f"(= {c['rows_per_s'] / (s['cpus'] * sp['rows_per_s']):.3f} x {s['cpus']} x one core: what the cores give "
              "in parallel with no pipeline)")
    if "run1_killed" in s:
        k = s["run1_killed"]
        print(f"               featurize run 1: {k['rows_per_s']:,.1f} rows/s ({k['rows_done']:,} rows in "
              f"{k['featurize_s_until_kill']:.0f} s, then SIGKILL); steady {k['steady_rows_per_s']} rows/s once workers are up")
    r = s["run2_resumed"]
    print(f"               featurize run 2: {r['rows_per_s']:,.1f} rows/s ({r['blocks_computed']} blocks in {r['featurize_s']:.0f} s); steady {r['steady_rows_per_s']} rows/s")
    if "train" in s:
        t = s["train"]
        print(f"               train fixmatch (streamed={t['streamed']}): {t['samples_per_s']:,.0f} samples/s "
              f"({t['steps']} steps, fit {t['train_s']:.1f} s, call incl. pool open {t['wall_s']:.1f} s)")
    for name, v in s.get("featurize_vs_ideal", {}).items():
        print(f"featurize vs {s['cpus']} x one-core: {name}: {v['rows_per_s']:,.1f} / {v['ideal_rows_per_s']:,.1f} "
              f"= {v['ratio']:.3f}  (target >= 0.90)"
              + (f"; vs {s['cpus']} tasks at once {v['ratio_vs_cores_at_once']:.3f}" if "ratio_vs_cores_at_once" in v else ""))
    for run, c in s.get("cpu_while_featurizing", {}).items():
        if c:
            print(f"CPU {run}      {c['capacity_cpu_s']:.0f} CPU-s available over {c['wall_s']:.0f} s: "
                  + ", ".join(f"{k} {v:.0f} ({100 * c['share_of_capacity'][k]:.0f}%)" for k, v in c["cpu_s"].items()))
    if "run1_killed" in s:
        k = s["run1_killed"]
        print(f"kill+resume    SIGKILL at {k['blocks_at_kill']} blocks ({k['blocks_after_kill']} after in-flight renames); "
              f"Ray processes still alive 30 s later: {k['lingering_after_30s']}/{k['driver_descendants']} {k['lingering']}")
    print(f"               run 2 found {r['blocks_found_done']} blocks done, computed {r['blocks_computed']} of "
          f"{r['blocks_total']}: only missing blocks computed = {r['only_missing_computed']}")
    e = s["exactly_once"]
    print(f"exactly-once   manifest {e['manifest_rows']:,} rows; stored {e['rows_stored']:,}, unique ids "
          f"{e['unique_ids_stored']:,}, errors {e['error_rows']}, missing {e['missing_ids']}, foreign {e['foreign_ids']}; "
          f"blocks {e['blocks_done']}/{e['blocks_expected']} -> {'OK' if e['ok'] else 'FAILED'}")
    print(f"store on disk  {s['store_mb']:,.1f} MB")
    d = s["driver_rss"]
    for run in ("run1", "run2"):
        g = d.get(run)
        if g:
            print(f"driver RSS {run} featurizing rows {g['rows_from']:,}->{g['rows_to']:,}: {g['mb_at_25pct']:.0f} MB at 25% "
                  f"-> {g['mb_at_end']:.0f} MB at end (growth {g['growth_mb']:+.0f} MB), max {g['max_mb']:.0f} MB")
    print(f"peak RSS       driver {d['peak_mb_whole_run']:.0f} MB over the whole run (target <= 1536); "
          f"largest worker {max(s.get('run1_killed', {}).get('worker_peak_mb', 0), r['worker_peak_mb']):.0f} MB")
    print(f"total wall     {s['total_wall_s']:.0f} s; plot {s['plot']}")


def _gpu_line() -> str:
    """What the machine has, measured: this benchmark is CPU work and reports no GPU figure either way."""
    try:
        import torch

        if torch.cuda.is_available():
            return f"GPU present ({torch.cuda.get_device_name(0)}) but unused: every figure here is CPU work."
    except Exception:  # torch absent or broken: say so rather than guess
        return "GPU unknown (torch not importable); every figure here is CPU work."
    return "no GPU visible to torch; every figure here is CPU work."


def write_markdown(s: dict, out: Path) -> Path:
    """`report.md`: the printed summary verbatim, the targets side by side, and the RSS plot."""
    import contextlib
    import io
    import platform as _platform

    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        print_summary(s)
    d = s["driver_rss"]
    rows = []
    for name, v in s.get("featurize_vs_ideal", {}).items():
        vs_all = f"{v['ratio_vs_cores_at_once']:.3f}" if "ratio_vs_cores_at_once" in v else "-"
        rows.append(f"| featurize, {name} | {v['rows_per_s']:,.1f} rows/s | >= 0.90 x {s['cpus']} x one core = "
                    f"{0.9 * v['ideal_rows_per_s']:,.1f} | {v['ratio']:.3f} of {s['cpus']} x one core; {vs_all} of "
                    f"{s['cpus']} tasks at once | {'met' if v['ratio'] >= 0.9 else 'missed'} |")
    peak = d["peak_mb_whole_run"]
    growth = [g["growth_mb"] for g in (d.get("run1"), d.get("run2")) if g]
    rows.append(f"| driver peak RSS, whole run | {peak:,.0f} MB | <= 1,536 MB | {peak / 1536:.2f} of the cap | "
                f"{'met' if peak <= 1536 else 'missed'} |")
    if growth:
        rows.append(f"| driver RSS growth while featurizing (25 % -> end of each run) | "
                    f"{', '.join(f'{g:+.0f} MB' for g in growth)} | flat | - | "
                    f"{'met' if max(abs(g) for g in growth) <= 50 else 'missed'} (flat = within 50 MB) |")
    e = s["exactly_once"]
    rows.append(f"| exactly-once | {e['rows_stored']:,} stored, {e['unique_ids_stored']:,} unique of "
                f"{e['manifest_rows']:,} | every row once | - | {'met' if e['ok'] else 'missed'} |")
    r = s["run2_resumed"]
    rows.append(f"| resume computes only missing blocks | {r['blocks_computed']} computed, {r['blocks_found_done']} found "
                f"done of {r['blocks_total']} | only missing | - | {'met' if r['only_missing_computed'] else 'missed'} |")
    md = [f"# {s['rows']:,} utterances end to end (bench_scale_500k.py)", "",
          f"Command: `HEAVY_BOTH=1 /work/bin/heavy python bench/bench_scale_500k.py --rows {s['rows']} "
          f"--cpus {s['cpus']}`. Machine: {_platform.machine()}, {os.cpu_count()} vCPUs, {_gpu_line()}", "",
          "## Targets", "", "| what | measured | target | ratio | |", "|---|---|---|---|---|", *rows, "",
          "## Output (printed by the run)", "", "```", text.getvalue().rstrip(), "```", "",
          "![RSS vs rows](rss_vs_rows.png)", ""]
    path = out / "report.md"
    path.write_text("\n".join(md))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--out", default=None, help="default: ./bench_out/scale_<rows> (deleted first)")
    ap.add_argument("--kill-at", type=float, default=0.5, help="fraction of blocks at which the driver is SIGKILLed (>=1: no kill)")
    ap.add_argument("--train-steps", type=int, default=300)
    ap.add_argument("--rate-rows", type=int, default=1024, help="utterances of the one-task rate (and per task of the all-cores rate)")
    ap.add_argument("--summarize-only", action="store_true", help="print the summary of a finished run under --out")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--run", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.out = str(Path(args.out or f"bench_out/scale_{args.rows}").resolve())
    if args.child:
        child(args)
    elif args.summarize_only:
        report(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
