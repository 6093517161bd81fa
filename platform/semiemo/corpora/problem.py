"""One thing wrong with a manifest, as every check reports it: where, what, and the fix.

Its own module because the checks live in several (`manifest` validates columns, ids, audio and text;
`label_check` finds misspelled labels) and each returns these.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest: where (row position, utt_id, column), what, and how to fix it."""

    row: int | None  # 0-based row position; None for whole-table problems (a missing column)
    utt_id: str | None
    column: str | None
    message: str
    fix: str
    kind: str = ""  # missing_column | duplicate_utt_id | unknown_label | missing_audio | text_encoding | empty_split_group | ...

    def __str__(self) -> str:
        where = "table" if self.row is None else f"row {self.row}"
        if self.utt_id is not None:
            where += f" (utt_id {self.utt_id!r})"
        if self.column is not None:
            where += f", column {self.column!r}"
        return f"{where}: {self.message} — fix: {self.fix}"
