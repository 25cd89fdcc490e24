"""The one error ingestion raises when input cannot be loaded at all."""

from __future__ import annotations

from pathlib import Path

# `row` is a 1-based data row number, or this marker when the problem is in the header.
HEADER = "header"


class IngestionError(Exception):
    """Input that cannot be loaded at all: nothing from it is loaded.

    The message names the file (or source), the row (1-based data row number, or
    ``header``) and the column when they are known, and says what is wrong, so that the
    person who dropped the file can fix it without reading code. The parts are also kept
    as attributes for callers that attach them to metadata.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str | Path,
        row: int | str | None = None,
        column: str | None = None,
    ) -> None:
        self.problem = problem
        self.source = str(source)
        self.row = row
        self.column = column
        where = [self.source]
        if row is not None:
            where.append(row if row == HEADER else f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(str(part) for part in where)}: {problem}")
