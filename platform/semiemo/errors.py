"""Errors that end a command with one line that names the cause and the fix (the CLI prints just that)."""

from __future__ import annotations


class OneLineError(RuntimeError):
    """Its message is complete: the command line prints it without a traceback."""


class Interrupted(KeyboardInterrupt):
    """Work stopped before its end (Ctrl-C reached Ray Tune, which saved its state and returned): the
    message says how far it got and how to resume. A KeyboardInterrupt, so nothing downstream treats the
    partial result as finished (a report rendered from a third of a sweep, an analysis marked done)."""
