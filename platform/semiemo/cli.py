"""`semiemo` — the command line. Each area registers its commands from `semiemo.commands.<area>`."""

from __future__ import annotations

import importlib
import os

import typer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

app = typer.Typer(
    name="semiemo",
    help="Semi-supervised, multimodal speech emotion recognition on Ray.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

# Only a real command line (`main`) routes Ray's output to a log file: a test that invokes `app` in-process
# must not have its process's stderr and Ray loggers rewired for the tests that follow.
_ROUTE_RAY_LOGS = False


@app.callback()
def _global_options(
    verbose: bool = typer.Option(False, "-v", "--verbose",
                                 help="Show Ray's own logs, progress dumps and workers' output in the terminal "
                                      "(default: they go to a log file, named when Ray starts)"),
    storage: str = typer.Option(None, "--storage", envvar="SEMIEMO_STORAGE",
                                help="Storage root for features, runs, sweeps and reports: a folder or a URI "
                                     "(s3://bucket/semiemo, gs://..., file://...); default $SEMIEMO_HOME"),
    storage_shared: bool = typer.Option(False, "--storage-shared",
                                        help="The --storage folder is a mount every node shares (NFS, Lustre); "
                                             "needed for a local folder on a multi-node cluster"),
) -> None:
    """Semi-supervised, multimodal speech emotion recognition on Ray."""
    from semiemo import storage as storage_root

    if storage:
        os.environ[storage_root.ENV] = storage
    if storage_shared:
        os.environ[storage_root.SHARED_ENV] = "1"
    from semiemo.jobs.ray_logs import route_ray_logs

    if _ROUTE_RAY_LOGS:
        route_ray_logs(verbose=verbose)


# Each module exposes `register(app: typer.Typer) -> None`.
_COMMAND_MODULES = ("corpora", "features", "train", "pretrain", "compare", "sweep", "reproduce", "demo", "scale")

for _name in _COMMAND_MODULES:
    try:
        _mod = importlib.import_module(f"semiemo.commands.{_name}")
    except ModuleNotFoundError as _e:
        if _e.name != f"semiemo.commands.{_name}":
            raise
        continue
    _mod.register(app)


# Bad input (a wrong flag value, a broken manifest, an unknown method) raises one of these with a
# message that names the problem and the fix: print that message, not a traceback.
from semiemo.errors import OneLineError  # noqa: E402  (storage not shared, a run out of retries, workers never placed)

_USER_ERRORS = (ValueError, KeyError, FileNotFoundError, NotADirectoryError, OneLineError)


def main() -> None:  # pragma: no cover
    """Console entry point. SEMIEMO_DEBUG=1 shows full tracebacks."""
    import sys

    global _ROUTE_RAY_LOGS
    _ROUTE_RAY_LOGS = True

    if os.environ.get("SEMIEMO_DEBUG"):
        app()
        return
    try:
        app()
    except _USER_ERRORS as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"semiemo: error: {message}", file=sys.stderr)
        print("(set SEMIEMO_DEBUG=1 for the traceback)", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt as e:  # Ctrl-C: say how far it got (an Interrupted says it) and how to resume
        print(f"semiemo: {e.args[0] if e.args else 'interrupted; run the same command again to resume'}",
              file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
