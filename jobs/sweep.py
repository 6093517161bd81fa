"""`ray job submit --working-dir . -- python jobs/sweep.py search_spaces/X.yaml [--optuna-storage URL]`

Runs one search space as a Ray Tune sweep on the cluster the job runs in (the driver joins it through
$RAY_ADDRESS); prints a JSON summary. An interrupted job resumes when submitted again.
"""

from __future__ import annotations

import argparse
import json

import _bootstrap  # noqa: F401


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("spec", help="search-space YAML")
    p.add_argument("--address", default=None)
    p.add_argument("--storage-dir", default=None, help="default <storage root>/sweeps ($SEMIEMO_STORAGE: a bucket URI on a cluster)")
    p.add_argument("--optuna-storage", default=None, help="RDB URL, e.g. postgresql+psycopg://... (semiemo[postgres]); default SQLite in the sweep dir, one machine only")
    p.add_argument("--corpus", default=None)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--unlabeled", default=None, help="external unlabeled pool: corpus specs joined by '+'")
    p.add_argument("--no-resume", action="store_true")
    args = p.parse_args(argv)

    from semiemo.tune.runner import optuna_url, run_sweep, sweep_dir
    from semiemo.tune.space import load_spec

    spec = load_spec(args.spec, corpus=args.corpus, quick=args.quick, unlabeled=args.unlabeled)
    table = run_sweep(spec, address=args.address, storage_dir=args.storage_dir, resume=not args.no_resume,
                      optuna_storage=args.optuna_storage)
    out = sweep_dir(spec, args.storage_dir)
    summary = {
        "name": spec.name,
        "trials": int(table["trial_id"].nunique()) if not table.empty else 0,
        "status": table.drop_duplicates("trial_id")["status"].value_counts().to_dict() if not table.empty else {},
        "results": str(out / "results.parquet"),
        "optuna": optuna_url(spec, args.storage_dir, args.optuna_storage),
        "tensorboard": str(out / "tensorboard"),
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
