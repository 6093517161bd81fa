"""Make `semiemo` importable when a job runs from a `--working-dir` upload without an install.

Workers get the same through `PYTHONPATH=platform` (the job's cwd is the working dir); see README.
"""

from __future__ import annotations

import sys
from pathlib import Path

_PLATFORM = Path(__file__).resolve().parent.parent / "platform"
if _PLATFORM.is_dir() and str(_PLATFORM) not in sys.path:
    sys.path.insert(0, str(_PLATFORM))
