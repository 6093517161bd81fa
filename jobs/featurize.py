"""`ray job submit --working-dir . -- python jobs/featurize.py --corpus SPEC --features is10,fbank,text [--store URI]`

The same code path as `semiemo featurize`: Ray Data tasks across the cluster write Parquet shards to
the store (use a store root every node can reach — a shared folder or an object-store URI such as
s3://bucket/features); the driver only prints the counts. Rerunning resumes from the last shard.
"""

from __future__ import annotations

import argparse
import json

import _bootstrap  # noqa: F401


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True, help="synthetic[:k=v,...], casia[:path], or a manifest path")
    p.add_argument("--features", required=True, help="comma-separated featurizer names, e.g. is10,fbank,text")
    p.add_argument("--store", default=None, help="store root folder or pyarrow filesystem URI")
    p.add_argument("--block-size", type=int, default=256, help="rows per shard and per task")
    p.add_argument("--batch-size", type=int, default=64, help="rows per featurizer call")
    p.add_argument("--model-concurrency", type=int, default=1, help="actors for model-backed featurizers")
    p.add_argument("--address", default=None, help="Ray address; default $RAY_ADDRESS or a local Ray")
    args = p.parse_args(argv)

    from semiemo.commands.features import run_featurize

    report = run_featurize(args.corpus, args.features, args.store, args.address, block_size=args.block_size,
                           batch_size=args.batch_size, model_concurrency=args.model_concurrency)
    summary = {"manifest_hash": report.manifest_hash, "rows": report.rows, "seconds": round(report.seconds, 2),
               "featurizers": {name: {"key": c.key, "ok": c.ok, "flagged": c.flagged, "errors": c.errors_by_reason,
                                      "blocks_computed": c.blocks_computed} for name, c in report.featurizers.items()}}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
