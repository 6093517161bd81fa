"""Rebuild run2.json of the 500k run from what run 2 printed and sampled, because run 2 was stopped (SIGTERM)
in its training step: training featurized the pool a second time under another store key (the bench had
featurized the joined pool manifest, training featurizes the corpus' own; fixed in `scale.measure.pool_manifest`).

    python bench/results/scale_500k/rebuild_run2.py bench_out/scale_500000 bench_out/scale500k.log "2026-12-06 21:57:15"

Inputs, all written by the run: its log lines `[run 2] featurize: ...` and `[run 2] exactly-once: {...}`,
run2-start.json, rss-run2.csv (peaks up to the end of the exactly-once check; the stopped training is left out).
The third argument is the parent's start time from the job log (total wall = start -> end of the check).
"""

import ast
import csv
import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

out, log, started = Path(sys.argv[1]), Path(sys.argv[2]).read_text(), sys.argv[3]
feat = re.search(r"\[run 2\] featurize: (\d+)/(\d+) blocks computed in ([\d.]+) s", log)
once = ast.literal_eval(re.search(r"\[run 2\] exactly-once: (\{.*\})", log).group(1))
computed, total, wall = int(feat.group(1)), int(feat.group(2)), float(feat.group(3))
start = json.loads((out / "run2-start.json").read_text())
rows = list(csv.DictReader(open(out / "rss-run2.csv")))
kept = [r for r in rows if not r["phase"].startswith("train")]
fz = [r for r in kept if r["phase"].startswith("featurize")]
n = start["manifest"]["rows"]
record = {"kind": "featurize", "rows": n, "workers": 2, "nodes": 1, "blocks_total": total, "blocks_computed": computed,
          "wall_s": wall, "rows_per_s": round(min(n, computed * 256) / wall, 2),
          "driver_peak_mb": max(float(r["driver_mb"]) for r in fz), "worker_peak_mb": max(float(r["worker_max_mb"]) for r in fz),
          "store_mb": once["store_mb"], "errors": once["error_rows"]}
run2 = {**start, "featurize": record, "exactly_once": once,
        "driver_peak_mb": max(float(r["driver_mb"]) for r in kept), "worker_peak_mb": max(float(r["worker_max_mb"]) for r in kept),
        "rebuilt_from": "run 2's printed lines and rss-run2.csv (run 2 stopped in training; see rebuild_run2.py)"}
(out / "run2.json").write_text(json.dumps(run2, indent=2))
end = start["featurize_started"] + float(kept[-1]["t"]) - float(fz[0]["t"])
t0 = datetime.strptime(started, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
(out / "total.json").write_text(json.dumps({"total_s": end - t0, "until": "end of run 2's exactly-once check"}))
(out / "rss-run2.csv").with_name("rss-run2-with-stopped-train.csv").write_text((out / "rss-run2.csv").read_text())
with open(out / "rss-run2.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(kept)
print(json.dumps(run2["featurize"]), "total_s", round(end - t0, 1))
