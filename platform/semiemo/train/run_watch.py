"""A distributed run never fails in a 99-line traceback nor waits in silence.

- Retries: a multi-worker run restarts its worker group up to `DEFAULT_MAX_FAILURES` (3) times unless
  told otherwise: one lost node or preempted worker is routine on a cluster, and each restart resumes
  from the last checkpoint, so a retry costs at most one epoch.
- Out of retries: `DistributedRunFailed`, one line naming the dead worker and its node, the last
  checkpoint and the command that resumes.
- Unplaceable workers (a node left and nothing replaces it): while Ray Train waits for its placement
  group, `PlacementWatch` prints what it waits for (resources, what is free, which node left) every
  `every_s`; after `placement_timeout_s` (default 600 s: a cloud autoscaler adds a node in 2-5 minutes)
  Ray Train's worker-group starts (`START_ATTEMPTS` of a third of it each) have timed out, and that
  becomes `PlacementTimeout`, one line. A start that fails for another reason (a node died while the
  workers came up) is retried within the same budget.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from typing import Any, Callable, TextIO

from semiemo.errors import OneLineError

DEFAULT_MAX_FAILURES = 3
START_ATTEMPTS = 3      # worker-group starts per placement: a start that fails (a node died meanwhile) is retried
START_TIMEOUT_ENV = "RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S"  # read by Ray Train's controller (propagated by the driver)


class DistributedRunFailed(OneLineError):
    """A worker died more often than `max_failures` allows."""


class PlacementTimeout(OneLineError):
    """The run's workers could not be placed within `placement_timeout_s`."""


def max_failures_for(workers: int, configured: int | None) -> int:
    """`configured`, else `DEFAULT_MAX_FAILURES` for a multi-worker run (0 for one worker: nothing to restart)."""
    if configured is not None:
        return configured
    return DEFAULT_MAX_FAILURES if workers > 1 else 0


def _alive_nodes() -> dict[str, str]:
    import ray

    return {n["NodeID"]: n.get("NodeManagerAddress", "?") for n in ray.nodes() if n.get("Alive")}


class PlacementWatch:
    """Driver-side thread that reports pending placement groups created after it started."""

    def __init__(self, what: str, every_s: float = 30.0, first_after_s: float = 10.0, out: TextIO | None = None,
                 poll_s: float = 2.0):
        self.what, self.every_s, self.first_after_s, self.poll_s = what, every_s, first_after_s, poll_s
        self.out = out or sys.stderr
        self.messages: list[str] = []
        self.left: dict[str, tuple[str, float]] = {}   # node id -> (address, when it was first seen dead)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "PlacementWatch":
        import ray

        self._known = set(ray.util.placement_group_table())
        self._nodes = _alive_nodes()
        self._thread = threading.Thread(target=self._run, name="semiemo-placement-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        import ray

        pending_since: float | None = None
        last_said = 0.0
        while not self._stop.wait(self.poll_s):
            try:
                nodes = _alive_nodes()
                for node_id, address in self._nodes.items():
                    if node_id not in nodes and node_id not in self.left:
                        self.left[node_id] = (address, time.time())
                self._nodes.update(nodes)
                table = ray.util.placement_group_table()
                pending = [pg for pid, pg in table.items() if pid not in self._known
                           and pg.get("state") in ("PENDING", "RESCHEDULING")]
                if not pending:
                    pending_since = None
                    continue
                now = time.monotonic()
                pending_since = pending_since or now
                waited = now - pending_since
                if waited >= self.first_after_s and now - last_said >= self.every_s:
                    last_said = now
                    self.say(self.describe(pending[0], waited))
            except Exception:  # noqa: BLE001 — a monitor must never take the run down (e.g. Ray shutting down)
                continue

    def describe(self, pg: dict[str, Any], waited: float) -> str:
        import ray

        bundles = list(pg.get("bundles", {}).values())
        need = _resources(bundles[0]) if bundles else "?"
        free = {k: v for k, v in ray.available_resources().items() if k in ("CPU", "GPU")}
        line = (f"semiemo: waiting {waited:.0f} s for {self.what}: {len(bundles)} × {need} to be placed; "
                f"free now {_resources(free)} on {len(_alive_nodes())} node(s)")
        if self.left:
            gone = ", ".join(f"{nid[:12]} ({addr}) at {time.strftime('%H:%M:%S', time.localtime(t))}"
                             for nid, (addr, t) in self.left.items())
            line += f"; node(s) left: {gone}"
        return line

    def say(self, line: str) -> None:
        self.messages.append(line)
        print(line, file=self.out, flush=True)


def _resources(d: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v:g}" for k, v in sorted(d.items()) if not k.startswith(("bundle", "node:"))) + "}"


def run_watched(fit: Callable[[], Any], *, run_name: str, workers: int, resources: dict[str, float],
                max_failures: int, placement_timeout_s: float, last_checkpoint: Callable[[], str | None],
                resume_hint: str) -> Any:
    """`fit()` (a TorchTrainer's) under a PlacementWatch, its failures turned into one-line errors."""
    from ray.train import TrainingFailedError

    previous = os.environ.get(START_TIMEOUT_ENV)
    if previous is None:  # START_ATTEMPTS starts of this length: `placement_timeout_s` in all
        os.environ[START_TIMEOUT_ENV] = str(float(placement_timeout_s) / START_ATTEMPTS)
    watch = PlacementWatch(f"run {run_name!r}")
    try:
        with watch:
            return fit()
    except TrainingFailedError as e:
        raise _one_line(e, run_name=run_name, workers=workers, resources=resources, max_failures=max_failures,
                        timeout_s=float(previous) * START_ATTEMPTS if previous else placement_timeout_s, watch=watch,
                        checkpoint=last_checkpoint(), resume_hint=resume_hint) from e
    finally:
        if previous is None:
            os.environ.pop(START_TIMEOUT_ENV, None)


def _one_line(e: Exception, *, run_name: str, workers: int, resources: dict[str, float], max_failures: int,
              timeout_s: float, watch: PlacementWatch, checkpoint: str | None, resume_hint: str) -> OneLineError:
    ckpt = f"last checkpoint {checkpoint}" if checkpoint else "no checkpoint was written"
    if not checkpoint:
        resume_hint = "run the same command again once the cluster has room (it starts from epoch 1)"
    failure = getattr(e, "controller_failure", None)
    if failure is not None and type(failure).__name__ == "WorkerGroupStartupTimeoutError":
        left = "; ".join(f"node {n[:12]} ({a}) left" for n, (a, _) in watch.left.items())
        return PlacementTimeout(
            f"run {run_name!r}: {workers} workers × {_resources(resources)} could not be placed within "
            f"{timeout_s:.0f} s{' (' + left + ')' if left else ''}; add nodes or lower --workers, or wait longer "
            f"with --placement-timeout; {ckpt}; resume: {resume_hint}")
    if failure is not None:  # the workers' start failed START_ATTEMPTS times (e.g. their nodes kept dying)
        text = str(failure).strip().splitlines()
        node = re.search(r"Node Id:?\s*([0-9a-f]{8,})", str(failure))
        return DistributedRunFailed(
            f"run {run_name!r}: its workers could not be started ({text[0][:100] if text else type(failure).__name__}"
            f"{'; node ' + node.group(1)[:12] + ' died' if node else ''}); {ckpt}; resume: {resume_hint}")
    failures = getattr(e, "worker_failures", None) or {}
    who = []
    whole = str(e)
    for rank, err in sorted(failures.items()):
        # Ray Train's message holds a snippet per rank with the worker's metadata (node_id, node_ip, pid)
        snippet = whole.split(f"[Rank {rank} Error Snippet]", 1)[-1].split("[Rank ", 1)[0]
        text = str(err) + "\n" + snippet
        node = re.search(r"node_id='([0-9a-f]{8,})'", text) or re.search(r"[Nn]ode [Ii][Dd]:?\s*([0-9a-f]{8,})", text)
        ip = re.search(r"node_ip='([0-9.]+)'", text) or re.search(r"\bip:?\s*([0-9][0-9.]+)", text)
        pid = re.search(r"\bpid=(\d+)", snippet)
        where = f" on node {node.group(1)[:12]}" if node else ""
        where += f" (ip {ip.group(1)}{', pid ' + pid.group(1) if pid else ''})" if ip else ""
        low = text.lower()
        if "its node has died" in low or "node was terminated" in low or "node died" in low:
            reason = "its node died"
        elif "health check failed" in low or "unavailable" in low or "worker process has died" in low:
            reason = "its worker process died (health check failed)"
        else:
            reason = text.strip().splitlines()[0][:120] if text.strip() else type(err).__name__
        who.append(f"rank {rank}{where}: {reason}")
    if watch.left and not any("node " in w for w in who):
        who.append("; ".join(f"node {n[:12]} ({a}) left the cluster" for n, (a, _) in watch.left.items()))
    dead = "; ".join(who[:2]) or str(e).strip().splitlines()[0][:160]
    return DistributedRunFailed(
        f"run {run_name!r} failed after {max_failures} restart(s) (--max-failures {max_failures}): {dead}; {ckpt}; "
        f"resume: {resume_hint}")
