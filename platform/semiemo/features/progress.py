"""Plain progress lines for long batch work whose output goes to a file, not a terminal.

Ray Data's progress bars redraw one terminal line; redirected to a job log or `nohup.out` they leave
one line for a run of minutes, and the reader cannot tell a stalled run from a slow one. When stdout
is not a terminal, `ProgressLines` prints `featurize: rows 1,280/5,000 (25.6 %), 41.3 rows/s, ETA 1m30s`
every few seconds from a timer thread (so a line appears even while a long block is still running),
and a final line with the total time.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


def format_seconds(seconds: float) -> str:
    """'42s', '3m05s', '1h02m'."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


class ProgressLines:
    """Counts rows done out of `total` and prints a line every `every_s` seconds while open."""

    def __init__(self, total: int, every_s: float = 5.0, enabled: bool = True, label: str = "featurize",
                 unit: str = "rows", stream: TextIO | None = None):
        self.total, self.every_s, self.enabled, self.label, self.unit = int(total), float(every_s), enabled, label, unit
        self.stream = stream if stream is not None else sys.stdout
        self.done = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = time.perf_counter()

    def __enter__(self) -> "ProgressLines":
        self._started = time.perf_counter()
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, name="progress-lines", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            if exc[0] is None:
                self._print(final=True)

    def advance(self, n: int) -> None:
        with self._lock:
            self.done += int(n)

    def line(self, final: bool = False) -> str:
        """The current progress line (rows done, share, rate, ETA; the total time when `final`)."""
        with self._lock:
            done = self.done
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        rate = done / elapsed
        share = f" ({100.0 * done / self.total:.1f} %)" if self.total else ""
        head = f"{self.label}: {self.unit} {done:,}/{self.total:,}{share}, {rate:.1f} {self.unit}/s"
        if final:
            return f"{head}, done in {format_seconds(elapsed)}"
        eta = format_seconds((self.total - done) / rate) if done else "unknown (no block finished yet)"
        return f"{head}, ETA {eta}"

    def _print(self, final: bool = False) -> None:
        print(self.line(final), file=self.stream, flush=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self._print()
