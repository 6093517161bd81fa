"""Errors that end a command with one line that names the cause and the fix (the CLI prints just that)."""

from __future__ import annotations


class OneLineError(RuntimeError):
    """Its message is complete: the command line prints it without a traceback."""
