"""Files users drop into `landing/<table>/`: find them, read them safely, upsert them by key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.contracts import CONTRACTS
from ingestion.errors import IngestionError
from ingestion.load import LoadResult, load_frame, parent_keys_from_warehouse
from ingestion.readers import list_landing_files, read_landing_file, resolve_landing_path
from ingestion.validation import SuiteResult, validate_table
from ingestion.warehouse import quote_identifier


@dataclass(frozen=True)
class LandingFile:
    """One file waiting in the landing folder, identified by its content's size and time."""

    table: str
    relative_path: str  # relative to landing/<table>/
    size: int
    modified_ns: int

    @property
    def run_key(self) -> str:
        """Changes when the file is replaced, so a corrected file loads again."""
        return f"{self.table}/{self.relative_path}@{self.modified_ns}-{self.size}"


def pending_landing_files(landing_root: Path) -> list[LandingFile]:
    """Every file under `landing/<table>/` for a table that has a contract, in a stable order.

    Folders that name no table are ignored here (they are reported by `unknown_landing_folders`).
    """
    files: list[LandingFile] = []
    for table in sorted(CONTRACTS):
        folder = landing_root / table
        if not folder.is_dir():
            continue
        for path in list_landing_files(landing_root, table):
            stat = path.stat()
            files.append(
                LandingFile(
                    table=table,
                    relative_path=path.relative_to(folder).as_posix(),
                    size=stat.st_size,
                    modified_ns=stat.st_mtime_ns,
                )
            )
    return files


def unknown_landing_folders(landing_root: Path) -> list[str]:
    if not landing_root.is_dir():
        return []
    return sorted(p.name for p in landing_root.iterdir() if p.is_dir() and p.name not in CONTRACTS)


def ingest_landing_file(
    con: duckdb.DuckDBPyConnection, landing_root: Path, table: str, relative_path: str
) -> tuple[LoadResult, SuiteResult]:
    """Read one landing file and upsert its rows into raw.<table> by primary key.

    Bad rows go to the quarantine with the file, row, column and reason. A file that cannot
    be read at all raises IngestionError naming the file and the problem, and loads nothing.
    The table's Great Expectations suite then runs on the table as it now stands.
    """
    if table not in CONTRACTS:
        raise IngestionError(
            f"no table {table!r} has a contract; known: {', '.join(sorted(CONTRACTS))}",
            source=table,
        )
    contract = CONTRACTS[table]
    path = resolve_landing_path(landing_root, table, relative_path)
    frame = read_landing_file(path, contract)
    source = f"landing/{table}/{relative_path}"
    parents = parent_keys_from_warehouse(con, contract)
    loaded = load_frame(con, contract, frame, source=source, parent_keys=parents, replace="keys")
    # The whole table, not only the file's rows: an upsert can break uniqueness or references
    # together with rows loaded earlier.
    stored = con.execute(f"select * from raw.{quote_identifier(table)}").df()
    suite = validate_table(contract, stored, parent_keys=parents)
    return loaded, suite
