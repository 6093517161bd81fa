"""Where Ray's own output goes when a semiemo command starts Ray: a log file, not the user's terminal.

Left alone, Ray prints a token-auth warning at start-up, Ray Data's execution plans and (when stdout is
not a TTY) a progress dump every few seconds, and every worker's stdout into the driver's terminal —
hundreds of lines that bury semiemo's own progress. The CLI routes them instead: Ray's Python loggers
(`ray`, `ray.data`, ...), the ERROR lines the driver's C++ core writes straight to stderr and the
cluster's error messages (an OOM kill arrives as a 50-line dump) go to one file
(`$SEMIEMO_HOME/logs/ray-<time>.log`, or the demo's `<out>/logs/ray.log`); workers' output stays in
Ray's session folder (named at the top of that file); one line tells the user where to look, and a
cluster error keeps its first line in the terminal. `semiemo -v ...` leaves everything in the terminal,
as Ray does. Library code that calls `init_ray` without routing gets Ray's usual behaviour.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

# `ray.data` does not propagate to `ray`: it has its own handlers; Optuna (under Tune) logs each study it creates
RAY_LOGGERS = ("ray", "ray.data", "optuna")
_FORMAT = "%(asctime)s\t%(levelname)s %(filename)s:%(lineno)s -- %(message)s"
_HANDLER = "semiemo-ray-file"
DEFAULT = "default"  # route to $SEMIEMO_HOME/logs/ray-<time>.log, decided when Ray starts

_route: dict[str, Any] = {"target": None, "verbose": False, "file": None, "announced": False}


def route_ray_logs(log_file: str | Path | None = DEFAULT, *, verbose: bool = False) -> None:
    """Ray started from now on logs to `log_file` (DEFAULT: under $SEMIEMO_HOME/logs); `verbose`: to the
    terminal, as Ray does by itself. Applied by `ray_runtime.init_ray` when it starts or joins Ray."""
    _route.update(target=None if verbose else log_file, verbose=verbose, file=None, announced=False)


def is_verbose() -> bool:
    return bool(_route["verbose"])


def ray_log_file() -> Path | None:
    """The file Ray's logs go to (None: not routed); fixed on first use."""
    if _route["target"] is None:
        return None
    if _route["file"] is None:
        if _route["target"] == DEFAULT:
            from semiemo.paths import home

            path = home() / "logs" / f"ray-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        else:
            path = Path(_route["target"]).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        _route["file"] = path
    return _route["file"]


def before_init() -> dict[str, Any]:
    """Swap Ray's terminal handlers for the file before `ray.init` (its start-up warnings come from
    there); returns the `ray.init` keyword arguments routing needs (workers' output not forwarded)."""
    path = ray_log_file()
    if path is None:
        return {}
    import optuna  # noqa: F401 - both configure their own console handlers on import: import now, then swap
    import ray.data  # noqa: F401

    _swap_handlers(path)
    _NativeLineFilter.install(path)
    _route_error_messages()
    return {"log_to_driver": False, "logging_level": "INFO"}


def after_init() -> None:
    """Re-apply the swap (Ray may have configured its loggers during `init`), head the file with Ray's
    session log folder, and tell the user once where Ray's output went."""
    path = ray_log_file()
    if path is None:
        return
    _swap_handlers(path)
    session_logs = session_logs_dir()
    note = logging.getLogger("semiemo.jobs.ray_logs")
    _attach(note, path)
    note.setLevel(logging.INFO)
    note.info("Ray started; its workers' stdout/stderr, raylet and GCS logs: %s", session_logs or "(unknown)")
    if not _route["announced"]:
        _route["announced"] = True
        print(f"Ray's logs: {path} (semiemo -v shows them here)", file=sys.stderr)


@contextlib.contextmanager
def tune_prints_to_log(silent: bool):
    """Ray Tune prints its experiment table and result paths with `print` even at `verbose=0`; when
    `silent` and routed, stdout goes to the log file for the block (the run's own summary follows it)."""
    path = ray_log_file()
    if not silent or path is None:
        yield
        return
    with open(path, "a", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        yield


def _route_error_messages() -> None:
    """The driver prints every error the cluster publishes (OOM kills, dead workers) in full on stdout,
    whatever `log_to_driver` says, through `ray._private.worker.print_to_stdstream` (no public switch).
    Routed: the whole message goes to the log file and its first line, once, to the terminal."""
    import ray._private.worker as ray_worker

    original = ray_worker.print_to_stdstream
    if getattr(original, "semiemo_routed", False):
        return
    shown: set[str] = set()

    def print_to_stdstream(data: dict, ignore_prefix: bool) -> None:
        path = ray_log_file()
        if data.get("pid") != "raylet" or path is None:
            return original(data, ignore_prefix)
        text = "\n".join(str(line) for line in data.get("lines", [])).strip()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        try:
            with open(path, "a", encoding="utf-8") as log:
                log.write(f"{stamp}\tERROR (raylet) -- {text}\n")
        except OSError:
            return original(data, ignore_prefix)
        first = text.splitlines()[0][:200] if text else ""
        if first and first not in shown:
            shown.add(first)
            print(f"Ray: {first} [full message in {path}]", file=sys.stderr)

    print_to_stdstream.semiemo_routed = True  # type: ignore[attr-defined]
    ray_worker.print_to_stdstream = print_to_stdstream


def session_logs_dir() -> str | None:
    """Ray's session log folder of the running Ray (workers' output, raylet, GCS), if known."""
    try:
        import ray

        node = ray._private.worker._global_node  # no public API names the session folder
        return node.get_logs_dir_path() if node is not None else None
    except Exception:  # noqa: BLE001 - a path for the log header, never worth failing a run
        return None


def _file_handler(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, mode="a", encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.setLevel(logging.INFO)  # Ray Data's logger passes DEBUG on to its handlers
    handler.set_name(_HANDLER)
    return handler


def _swap_handlers(path: Path) -> None:
    """On Ray's loggers, handlers that write to a terminal stream give way to one file handler."""
    for name in RAY_LOGGERS:
        _attach(logging.getLogger(name), path)


def _attach(logger: logging.Logger, path: Path) -> None:
    """`logger` writes to `path` only: terminal handlers and our handlers for other files removed."""
    for h in list(logger.handlers):
        terminal = isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
        stale = h.get_name() == _HANDLER and getattr(h, "baseFilename", None) != str(path)
        if terminal or stale:
            logger.removeHandler(h)
            if stale:
                h.close()
    if not any(h.get_name() == _HANDLER for h in logger.handlers):
        logger.addHandler(_file_handler(path))
    logger.propagate = False


# "[2026-11-22 06:13:51,350 E 23891 23891] core_worker.cc:2465: ..." — Ray's C++ log format
_NATIVE_LINE = re.compile(rb"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [DIWEF] \d+ \d+\] ")


class _NativeLineFilter:
    """File descriptor 2 through a pipe: lines in Ray's C++ log format go to the log file, every other
    byte (tracebacks, progress bars, semiemo's own messages) goes on to the real stderr at once.
    The driver's core worker prints its ERROR lines there directly, past Python logging, and Ray has no
    switch for it. Installed once per process; restored at exit."""

    _active: "_NativeLineFilter | None" = None

    @classmethod
    def install(cls, path: Path) -> None:
        if cls._active is not None:
            cls._active.path = path
            return
        sys.stderr.flush()
        cls._active = cls(path)

    def __init__(self, path: Path):
        self.path = path
        self.stderr = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self.read_end = read_end
        self.thread = threading.Thread(target=self._pump, name="semiemo-ray-stderr", daemon=True)
        self.thread.start()
        atexit.register(self.close)

    def _pump(self) -> None:
        pending = b""
        while chunk := os.read(self.read_end, 65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._route(line + b"\n")
            if pending and not pending.startswith(b"["):  # a partial line that cannot be Ray's: pass it now
                self._route(pending)
                pending = b""
        if pending:
            self._route(pending)

    def _route(self, data: bytes) -> None:
        if _NATIVE_LINE.match(data):
            try:
                with open(self.path, "ab") as log:
                    log.write(data)
                return
            except OSError:
                pass  # no log file: the line goes to the terminal rather than nowhere
        os.write(self.stderr, data)

    def close(self) -> None:
        """Give fd 2 back to the real stderr; the pump forwards what is left in the pipe."""
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self.stderr, 2)
        self.thread.join(timeout=2.0)  # Ray's child processes may still hold the pipe open
        type(self)._active = None
