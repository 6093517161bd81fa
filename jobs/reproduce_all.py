"""`ray job submit --working-dir . -- python jobs/reproduce_all.py [--budget quick|full|paper] [--corpus casia] [--group G]`

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
    p.add_argument("--out", default=None, help="report folder; default <storage root>/reproduce/<budget> ($SEMIEMO_STORAGE)")
    p.add_argument("--optuna-storage", default=None, help="Optuna RDB URL, e.g. postgresql+psycopg://... "
                   "(semiemo[postgres]); default SQLite per sweep, one machine only")
    p.add_argument("--only", default=None, help="comma-separated analysis names (default: all); the index keeps the rest")
    p.add_argument("--group", default=None, help="comma-separated groups (semiemo.analysis.groups), e.g. control,ssl")
    p.add_argument("--no-resume", action="store_true")
    args = p.parse_args(argv)

    import contextlib

    from semiemo import storage
    from semiemo.analysis.reproduce import reproduce_location
    from semiemo.analysis import groups
    from semiemo.analysis.reproduce_all import plan, reproduce_all

    where = reproduce_location(args.budget)  # a URI root: reports staged here, uploaded at the end
    uploaded = storage.writable(where) if storage.is_uri(where) and not args.out else contextlib.nullcontext()

    select = None
    if args.only or args.group:  # one piece; an unknown name is an error naming the allowed ones
        select = groups.select([a.name for a in plan(args.budget, args.corpus)], groups.split_list(args.group),
                               groups.split_list(args.only))
    with uploaded:
        statuses = reproduce_all(args.budget, corpus=args.corpus, address=args.address, out_dir=args.out,
                                 select=select, resume=not args.no_resume,
                                 progress=False, optuna_storage=args.optuna_storage)
    summary = {s["name"]: {"status": s["status"], "outcome": s.get("outcome", ""), "why": s.get("why", "")}
               for s in statuses}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
