"""Resident memory and CPU time of the driver and of the Ray processes it started, sampled from /proc.

Why /proc and not psutil: psutil is not a dependency, and on Linux two files say everything —
`/proc/<pid>/status` (VmRSS, VmHWM) and `/proc/<pid>/stat` (parent pid). Only descendants of this
process count: on a shared machine other users' Ray workers must not be charged to this run.
A local `ray.init()` / `ray.cluster_utils.Cluster` starts raylet and GCS as our children, and the
workers as raylet's children, so "descendant whose command line is a Ray worker" finds them.

CPU seconds are kept too — driver, Ray workers, the rest of Ray (raylet, GCS, agents) and the rest of
the machine (`/proc/stat` busy time minus ours) — because on a small machine a parallel rate below
cores x the one-core rate is explained by who else used the cores, and this says who.
"""

from __future__ import annotations

import csv
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

KB_PER_MB = 1024


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def rss_mb(pid: int | None = None) -> float:
    return _status_kb(pid or os.getpid(), "VmRSS") / KB_PER_MB


def peak_rss_mb(pid: int | None = None) -> float:
    """VmHWM: the high-water mark of the process' resident set."""
    return _status_kb(pid or os.getpid(), "VmHWM") / KB_PER_MB


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of `pid` (None once it has exited)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError, IndexError):
        return None


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy since boot (all CPUs, /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / _TICKS  # all but idle and iowait (guest time is inside user)


def _parents() -> dict[int, int]:
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
            out[int(name)] = int(stat[stat.rindex(")") + 2:].split()[1])
        except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError, IndexError):
            continue
    return out


def descendants(root: int | None = None) -> list[int]:
    root = root or os.getpid()
    children: dict[int, list[int]] = {}
    for pid, ppid in _parents().items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""


def is_ray_worker(pid: int) -> bool:
    """A task/actor executor (`ray::<task>` or an idle `default_worker.py`), not Ray's own agents."""
    cmd = _cmdline(pid)
    if cmd.startswith(("ray::DashboardAgent", "ray::RuntimeEnvAgent")):
        return False
    return "default_worker.py" in cmd or cmd.startswith("ray::")


def ray_worker_pids(root: int | None = None) -> list[int]:
    """Ray worker processes descended from `root` (default: this process)."""
    return [p for p in descendants(root) if is_ray_worker(p)]


@dataclass
class Sample:
    t: float               # seconds since the sampler started
    phase: str
    rows_done: int
    driver_mb: float
    worker_max_mb: float   # largest single worker
    worker_sum_mb: float   # all workers together
    workers: int
    cpu_driver_s: float = 0.0     # cumulative CPU seconds since the sampler started
    cpu_workers_s: float = 0.0
    cpu_ray_other_s: float = 0.0  # raylet, GCS, agents, ... (our descendants that are not workers)
    cpu_machine_other_s: float = 0.0  # everything else on the machine (other users)


@dataclass
class RssSampler:
    """Background thread: every `interval` s, one `Sample` (optionally appended to a CSV as it goes,
    so a run killed with SIGKILL still leaves its samples behind)."""

    interval: float = 1.0
    csv_path: str | Path | None = None
    rows_done: Callable[[], int] = lambda: 0
    samples: list[Sample] = field(default_factory=list)
    phase: str = "start"

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")
        self._t0 = time.perf_counter()
        self._worker_peak: dict[int, float] = {}
        self._cpu_last: dict[int, tuple[str, float]] = {}  # pid -> (group, last cumulative CPU s)
        self._cpu_start: dict[int, float] = {}
        self._machine_start = machine_busy_seconds()
        self._driver_start = cpu_seconds(os.getpid()) or 0.0

    def start(self) -> "RssSampler":
        self._thread.start()
        return self

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join(timeout=10)
        self.sample()
        return self.samples

    def __enter__(self) -> "RssSampler":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _cpu(self, workers: list[int], others: list[int]) -> dict[str, float]:
        for group, pids in (("workers", workers), ("ray_other", others)):
            for p in pids:
                c = cpu_seconds(p)
                if c is not None:
                    self._cpu_start.setdefault(p, 0.0 if self.samples else c)  # already running at the first sample: from now
                    self._cpu_last[p] = (group, c)
        totals = {"workers": 0.0, "ray_other": 0.0}
        for p, (group, c) in self._cpu_last.items():
            totals[group] += c - self._cpu_start.get(p, 0.0)
        driver = (cpu_seconds(os.getpid()) or 0.0) - self._driver_start
        ours = driver + totals["workers"] + totals["ray_other"]
        machine = machine_busy_seconds() - self._machine_start
        return {"cpu_driver_s": round(driver, 2), "cpu_workers_s": round(totals["workers"], 2),
                "cpu_ray_other_s": round(totals["ray_other"], 2),
                "cpu_machine_other_s": round(max(0.0, machine - ours), 2)}

    def sample(self) -> Sample:
        every = descendants()
        workers = [p for p in every if is_ray_worker(p)]
        others = sorted(set(every) - set(workers))
        cpu = self._cpu(workers, others)
        sizes = [rss_mb(p) for p in workers]
        for p in workers:
            self._worker_peak[p] = max(self._worker_peak.get(p, 0.0), peak_rss_mb(p))
        try:
            done = int(self.rows_done())
        except Exception:  # noqa: BLE001 - a listing that races a rename is retried next tick
            done = self.samples[-1].rows_done if self.samples else 0
        s = Sample(round(time.perf_counter() - self._t0, 2), self.phase, done, round(rss_mb(), 1),
                   round(max(sizes, default=0.0), 1), round(sum(sizes), 1), len(sizes), **cpu)
        self.samples.append(s)
        if self.csv_path is not None:
            new = not Path(self.csv_path).exists()
            with open(self.csv_path, "a", newline="") as f:
                w = csv.writer(f)
                if new:
                    w.writerow(list(Sample.__dataclass_fields__))
                w.writerow([getattr(s, k) for k in Sample.__dataclass_fields__])
        return s

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    @property
    def driver_peak_mb(self) -> float:
        return max([peak_rss_mb()] + [s.driver_mb for s in self.samples])

    @property
    def worker_peak_mb(self) -> float:
        """Largest high-water mark (VmHWM) of any worker seen, or the largest sampled RSS."""
        return max([0.0, *self._worker_peak.values(), *(s.worker_max_mb for s in self.samples)])
