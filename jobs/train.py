"""`ray job submit --working-dir . -- python jobs/train.py --corpus casia --features is10 --method supervised --workers 2`

The same command as `semiemo train` (same options). With `--workers > 1` each fold runs on a Ray Train
TorchTrainer across the cluster; `--out` should then be shared storage every node can reach.
"""

from __future__ import annotations

import _bootstrap  # noqa: F401
import typer

from semiemo.commands.train import train

if __name__ == "__main__":
    typer.run(train)
