"""The DuckDB warehouse: connections, schemas and safe SQL identifiers."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from ingestion.contracts.base import TableContract

# Contract types are interpolated into DDL, so only these exact words are allowed through.
_DUCKDB_TYPES = frozenset(
    {"BIGINT", "INTEGER", "DOUBLE", "VARCHAR", "DATE", "TIMESTAMP", "BOOLEAN"}
)

# raw: loaded as delivered (after quarantine); staging/features: dbt; results: model and
# simulation outputs; ops: load log and quarantine.
SCHEMAS: tuple[str, ...] = ("raw", "staging", "features", "results", "ops")


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse at ``path``.

    A writable connection creates the parent folder and every schema in ``SCHEMAS`` if
    missing, so callers never depend on some other step having run first. A read-only
    connection changes nothing and fails if the file does not exist yet.
    """
    path = Path(path)
    if read_only:
        if not path.exists():
            raise FileNotFoundError(
                f"warehouse {path} does not exist yet: load some data before opening it read-only"
            )
        return duckdb.connect(str(path), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {quote_identifier(schema)}")
    return con


def quote_identifier(name: str) -> str:
    """Quote a SQL identifier for DuckDB (double quotes, embedded quotes doubled)."""
    if not name or "\x00" in name:
        raise ValueError(f"invalid SQL identifier {name!r}")
    return '"' + name.replace('"', '""') + '"'


def raw_table_name(contract: TableContract) -> str:
    """The quoted, schema-qualified name of the contract's raw table."""
    return f"raw.{quote_identifier(contract.name)}"


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether ``schema.table`` exists (a parameterised catalog query)."""
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def raw_table_ddl(contract: TableContract) -> str:
    """``create table if not exists raw.<table>`` with the contract's columns and types.

    No PRIMARY KEY constraint: key uniqueness is enforced by the loader (duplicates are
    quarantined with a reason instead of failing the whole load), and DuckDB's key index
    would slow the bulk deletes and inserts of partition replacement.
    """
    for column in contract.columns:
        if column.dtype not in _DUCKDB_TYPES:
            raise ValueError(
                f"{contract.name}.{column.name} has type {column.dtype!r}; "
                f"contracts may use {sorted(_DUCKDB_TYPES)}"
            )
    columns = ",\n  ".join(
        f"{quote_identifier(column.name)} {column.dtype}" + ("" if column.nullable else " not null")
        for column in contract.columns
    )
    return f"create table if not exists {raw_table_name(contract)} (\n  {columns}\n)"


def replace_table(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, frame: pd.DataFrame
) -> None:
    """Replace `schema.table` with `frame` in one transaction (created if missing)."""
    _write_frame(con, schema, table, frame, replace=True)


def append_to_table(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, frame: pd.DataFrame
) -> None:
    """Append `frame` to `schema.table` by column name in one transaction (created on first use)."""
    _write_frame(con, schema, table, frame, replace=False)


def _write_frame(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, frame: pd.DataFrame, *, replace: bool
) -> None:
    target = f"{quote_identifier(schema)}.{quote_identifier(table)}"
    con.execute(f"create schema if not exists {quote_identifier(schema)}")
    con.begin()
    try:
        con.register("__twinops_frame", frame)
        if replace:
            con.execute(f"create or replace table {target} as select * from __twinops_frame")
        else:
            con.execute(
                f"create table if not exists {target} as select * from __twinops_frame limit 0"
            )
            con.execute(f"insert into {target} by name select * from __twinops_frame")
        con.unregister("__twinops_frame")
        con.commit()
    except BaseException:
        con.rollback()
        raise
