"""`ray job submit --working-dir . -- python jobs/pretrain.py --corpus /shared/wild --recipe AV-SpNET_a --workers 4`

Paper 004's front-end pre-training as its own job (same options as `semiemo pretrain`); the keyed
front-end lands in the feature store (`--feature-store` should be shared storage on a cluster).
"""

from __future__ import annotations

import _bootstrap  # noqa: F401
import typer

from semiemo.commands.pretrain import pretrain

if __name__ == "__main__":
    typer.run(pretrain)
