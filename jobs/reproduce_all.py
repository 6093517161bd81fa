"""`ray job submit --working-dir . -- python jobs/reproduce_all.py [--budget quick|full|paper] [--corpus casia]`

Runs every analysis in search_spaces/ on the cluster the job runs in (the driver joins it through
$RAY_ADDRESS) and writes the index (index.md, index.html) under --out; prints a JSON summary. Submitted
again, it skips the analyses that finished and resumes the interrupted one's sweep.
"""

from __future__ import annotations

import argparse
import json

import _bootstrap  # noqa: F401


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--budget", default="full", choices=["quick", "full", "paper"])
    p.add_argument("--corpus", default=None)
    p.add_argument("--address", default=None)
    p.add_argument("--out", default=None, help="report folder; default $SEMIEMO_HOME/reproduce/<budget>")
    p.add_argument("--only", default=None, help="comma-separated analysis names (default: all)")
    p.add_argument("--no-resume", action="store_true")
    args = p.parse_args(argv)

    from semiemo.analysis.reproduce_all import reproduce_all

    statuses = reproduce_all(args.budget, corpus=args.corpus, address=args.address, out_dir=args.out,
                             names=args.only.split(",") if args.only else None, resume=not args.no_resume,
                             progress=False)
    summary = {s["name"]: {"status": s["status"], "outcome": s.get("outcome", ""), "why": s.get("why", "")}
               for s in statuses}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
