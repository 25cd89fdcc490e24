"""Load a frame into ``raw.<table>``: quarantine bad rows, replace the scope, log the load.

One load is one DuckDB transaction: the raw rows, the quarantine rows and the load-log row
are committed together or not at all. Values never become SQL text: frames are registered
with DuckDB and scanned, scalars are bound as parameters, identifiers come from contracts
and are quoted.

What a load replaces (``replace``):

* ``"partition"`` (default when ``partition`` is given): the rows whose partition column is
  that day, or falls in that ``(first, last)`` window of days (a single-run backfill). Rows
  of other days in the input are quarantined (``outside_partition``).
* ``"table"`` (default otherwise): the whole table. This is how the generator loads
  non-partitioned tables such as ``customers``.
* ``"keys"``: the rows whose primary keys the input carries (an upsert). This is the mode for
  a user's landing file: it corrects or adds rows without wiping what other sources loaded,
  and loading the same file again changes nothing.

Quarantine rows of the replaced scope are replaced too (same table and partition, same
table, or same table and source, respectively), so ``ops.quarantine`` describes what is
currently rejected and reloading cannot duplicate it. ``ops.load_log`` keeps every load.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd

from ingestion.contracts.base import TableContract
from ingestion.errors import IngestionError
from ingestion.quarantine import (
    PartitionSpec,
    RowSplit,
    partition_label,
    partition_window,
    split_rows,
)
from ingestion.warehouse import quote_identifier, raw_table_ddl, raw_table_name, table_exists

ReplaceScope = Literal["partition", "table", "keys"]

QUARANTINE_TABLE = "ops.quarantine"
LOAD_LOG_TABLE = "ops.load_log"

_QUARANTINE_DDL = """
create table if not exists ops.quarantine (
  "table" varchar not null,
  load_id varchar not null,
  "partition" varchar,
  source varchar not null,
  source_row bigint not null,
  column_name varchar,
  reason_code varchar not null,
  reason varchar not null,
  raw_record varchar not null,
  loaded_at timestamp not null
)
"""

_LOAD_LOG_DDL = """
create table if not exists ops.load_log (
  load_id varchar not null,
  "table" varchar not null,
  source varchar not null,
  "partition" varchar,
  replace_scope varchar not null,
  content_hash varchar not null,
  input_rows bigint not null,
  loaded_rows bigint not null,
  quarantined_rows bigint not null,
  replaced_rows bigint not null,
  loaded_at timestamp not null
)
"""

# Names under which frames are registered with DuckDB for the duration of one load.
_GOOD_VIEW = "__twinops_good_rows"
_QUARANTINE_VIEW = "__twinops_quarantined_rows"
_POSITION = "__twinops_position"


@dataclass
class LoadResult:
    """What one load did. ``input_rows == loaded_rows + quarantined_rows`` always holds."""

    table: str
    source: str
    partition: str | None
    input_rows: int
    loaded_rows: int
    quarantined_rows: int
    content_hash: str
    reasons: dict[str, int] = field(default_factory=dict)
    load_id: str = ""
    replace_scope: str = "table"
    # Rows deleted from raw.<table> by the replacement before the insert.
    replaced_rows: int = 0
    loaded_at: dt.datetime | None = None

    @property
    def reconciles(self) -> bool:
        """Whether every input row was either loaded or quarantined (never both)."""
        return self.input_rows == self.loaded_rows + self.quarantined_rows

    def to_metadata(self) -> dict[str, Any]:
        """JSON-able summary for Dagster metadata (counts, reasons, hash, identifiers)."""
        summary = asdict(self)
        summary["loaded_at"] = self.loaded_at.isoformat() if self.loaded_at else None
        summary["reconciles"] = self.reconciles
        return summary


def content_hash(contract: TableContract, frame: pd.DataFrame) -> str:
    """sha256 of the input's contract columns: names, dtypes, values and row order.

    Stable across runs and processes (pandas' row hashing uses a fixed key), so the same
    input always gives the same hash; any change to a value, a column's type or the row
    order changes it. Extra columns and the readers' ``_source_row`` are not part of it.
    """
    columns = [name for name in contract.column_names if name in frame.columns]
    digest = hashlib.sha256(b"twinops-content-v1\n")
    for name in columns:
        digest.update(f"{name}:{frame[name].dtype}\n".encode())
    row_hashes = pd.util.hash_pandas_object(frame[columns], index=False).to_numpy()
    digest.update(np.ascontiguousarray(row_hashes).tobytes())
    return digest.hexdigest()


def parent_keys_from_warehouse(
    con: duckdb.DuckDBPyConnection, contract: TableContract
) -> dict[str, pd.Series]:
    """The valid keys of every table ``contract`` references, read from ``raw``.

    Returns ``{"customers.customer_id": Series, ...}`` for ``split_rows``/``load_frame``
    (a self-reference is left out until its table exists).
    Raises IngestionError when a parent table has not been loaded yet: checking against
    an empty parent would quarantine every row.
    """
    keys: dict[str, pd.Series] = {}
    for foreign_key in contract.foreign_keys:
        if not table_exists(con, "raw", foreign_key.ref_table):
            if foreign_key.ref_table == contract.name:
                # A self-reference's first load: the input's own keys are its parents.
                continue
            raise IngestionError(
                f"parent table raw.{foreign_key.ref_table} does not exist yet; load "
                f"{foreign_key.ref_table} before {contract.name}",
                source=f"raw.{contract.name}",
                column=foreign_key.column,
            )
        column = quote_identifier(foreign_key.ref_column)
        table = f"raw.{quote_identifier(foreign_key.ref_table)}"
        frame = con.execute(
            f"select distinct {column} from {table} where {column} is not null"
        ).df()
        keys[f"{foreign_key.ref_table}.{foreign_key.ref_column}"] = frame[foreign_key.ref_column]
    return keys


def load_frame(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    frame: pd.DataFrame,
    *,
    source: str,
    partition: PartitionSpec | None = None,
    parent_keys: Mapping[str, pd.Series] | None = None,
    replace: ReplaceScope | None = None,
) -> LoadResult:
    """Quarantine bad rows of ``frame`` and load the good ones into ``raw.<table>``.

    ``source`` names where the rows came from (``generator`` or the landing file's path)
    and is recorded with every quarantined row and in the load log. See the module
    docstring for ``partition`` and ``replace``. The load is one transaction that this
    function owns, so ``con`` must not be inside a transaction already.

    Raises IngestionError when the input lacks a required column (nothing is loaded), and
    re-raises anything that fails inside the transaction after rolling it back.
    """
    scope = _replace_scope(contract, partition, replace)
    window = partition_window(contract, partition) if partition is not None else None
    fingerprint = content_hash(contract, frame)
    split = split_rows(contract, frame, source=source, parent_keys=parent_keys, partition=window)
    load_id = uuid.uuid4().hex
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    partition_key = partition_label(window) if window else None

    con.begin()
    try:
        _ensure_tables(con, contract)
        replaced = _delete_replaced_rows(con, contract, split.good, scope, window)
        if scope == "partition":
            split = _quarantine_keys_loaded_elsewhere(con, contract, split, source)
        _insert_good_rows(con, contract, split.good)
        _replace_quarantine(con, contract, split, scope, source, load_id, window, loaded_at)
        result = LoadResult(
            table=contract.name,
            source=source,
            partition=partition_key,
            input_rows=split.input_rows,
            loaded_rows=len(split.good),
            quarantined_rows=len(split.quarantined),
            content_hash=fingerprint,
            reasons=split.reasons,
            load_id=load_id,
            replace_scope=scope,
            replaced_rows=replaced,
            loaded_at=loaded_at,
        )
        _append_load_log(con, result)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        for view in (_GOOD_VIEW, _QUARANTINE_VIEW):
            con.unregister(view)
    if not result.reconciles:  # pragma: no cover - split_rows guarantees it; guard the log
        raise AssertionError(f"load of {contract.name} from {source} does not reconcile: {result}")
    return result


def _replace_scope(
    contract: TableContract, partition: str | dt.date | None, replace: ReplaceScope | None
) -> ReplaceScope:
    scope: ReplaceScope = replace or ("partition" if partition is not None else "table")
    if scope == "partition" and partition is None:
        raise ValueError(f"replace='partition' needs a partition for table {contract.name!r}")
    if scope == "table" and partition is not None:
        raise ValueError(
            f"replace='table' would delete all of {contract.name!r} while loading only "
            f"partition {partition!r}; use replace='partition' or 'keys'"
        )
    if scope == "keys" and not contract.primary_key:
        raise ValueError(f"replace='keys' needs a primary key, and {contract.name!r} has none")
    return scope


def _ensure_tables(con: duckdb.DuckDBPyConnection, contract: TableContract) -> None:
    con.execute(raw_table_ddl(contract))
    con.execute(_QUARANTINE_DDL)
    con.execute(_LOAD_LOG_DDL)
    actual = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'raw' and table_name = ? order by ordinal_position",
        [contract.name],
    ).fetchall()
    expected = [(column.name, column.dtype) for column in contract.columns]
    if [(name, kind.upper()) for name, kind in actual] != expected:
        raise IngestionError(
            f"raw.{contract.name} has columns {actual} but the contract needs {expected}; "
            "the contract changed since the table was created: drop raw."
            f"{contract.name} (it is rebuilt from the sources) or migrate it",
            source=f"raw.{contract.name}",
        )


def _delete_replaced_rows(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    good: pd.DataFrame,
    scope: ReplaceScope,
    window: tuple[dt.date, dt.date] | None,
) -> int:
    table = raw_table_name(contract)
    if scope == "table":
        cursor = con.execute(f"delete from {table}")
    elif scope == "partition":
        assert contract.partition_column is not None and window is not None
        column = quote_identifier(contract.partition_column)
        cursor = con.execute(f"delete from {table} where {column} between ? and ?", list(window))
    else:
        con.register(_GOOD_VIEW, good)
        matches = " and ".join(
            f"{table}.{quote_identifier(k)} = {_GOOD_VIEW}.{quote_identifier(k)}"
            for k in contract.primary_key
        )
        cursor = con.execute(f"delete from {table} using {_GOOD_VIEW} where {matches}")
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def _quarantine_keys_loaded_elsewhere(
    con: duckdb.DuckDBPyConnection, contract: TableContract, split: RowSplit, source: str
) -> RowSplit:
    """Move good rows whose key already exists in another partition to the quarantine.

    Keys are unique per table, not per partition; without this an event id that also sits
    in yesterday's partition would load twice.
    """
    if not contract.primary_key or split.good.empty:
        return split
    positioned = split.good.assign(**{_POSITION: np.arange(len(split.good))})
    con.register(_GOOD_VIEW, positioned)
    table = raw_table_name(contract)
    matches = " and ".join(
        f"loaded.{quote_identifier(k)} = incoming.{quote_identifier(k)}"
        for k in contract.primary_key
    )
    conflicting = (
        con.execute(
            f"select incoming.{_POSITION} from {_GOOD_VIEW} as incoming "
            f"where exists (select 1 from {table} as loaded where {matches}) "
            f"order by 1"
        )
        .df()[_POSITION]
        .to_numpy(dtype="int64")
    )
    if len(conflicting) == 0:
        return split
    label = ",".join(contract.primary_key)
    conflicting_rows = split.good.iloc[conflicting]
    key_text = conflicting_rows[list(contract.primary_key)].astype("str").agg(",".join, axis=1)
    moved = pd.DataFrame(
        {
            "source": pd.Series(source, index=range(len(conflicting)), dtype="str"),
            "source_row": split.good_source_rows[conflicting],
            "column_name": label,
            "reason_code": "duplicate_key",
            "reason": (
                f"{label}: duplicate key ({label})=("
                + key_text.reset_index(drop=True)
                + ") is already loaded in another partition"
            ),
            "raw_record": conflicting_rows.to_json(
                orient="records", lines=True, date_format="iso", date_unit="s"
            )
            .rstrip("\n")
            .split("\n"),
        }
    )
    keep = np.ones(len(split.good), dtype=bool)
    keep[conflicting] = False
    return RowSplit(
        good=split.good[keep].reset_index(drop=True),
        quarantined=pd.concat([split.quarantined, moved], ignore_index=True),
        input_rows=split.input_rows,
        good_source_rows=split.good_source_rows[keep],
    )


def _insert_good_rows(
    con: duckdb.DuckDBPyConnection, contract: TableContract, good: pd.DataFrame
) -> None:
    if good.empty:
        return
    con.register(_GOOD_VIEW, good)
    names = ", ".join(quote_identifier(column.name) for column in contract.columns)
    # Explicit casts: pandas has no DATE dtype, so dates travel as timestamps.
    casts = ", ".join(
        f"cast({quote_identifier(column.name)} as {column.dtype})" for column in contract.columns
    )
    con.execute(
        f"insert into {raw_table_name(contract)} ({names}) select {casts} from {_GOOD_VIEW}"
    )


def _replace_quarantine(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    split: RowSplit,
    scope: ReplaceScope,
    source: str,
    load_id: str,
    window: tuple[dt.date, dt.date] | None,
    loaded_at: dt.datetime,
) -> None:
    # Quarantined rows are filed under their own partition day (the window's first day when
    # the day is unreadable), so reloading any day or window replaces exactly its rows.
    if scope == "table":
        con.execute(f'delete from {QUARANTINE_TABLE} where "table" = ?', [contract.name])
    elif scope == "partition":
        assert window is not None
        con.execute(
            f'delete from {QUARANTINE_TABLE} where "table" = ? and "partition" between ? and ?',
            [contract.name, window[0].isoformat(), window[1].isoformat()],
        )
    else:
        con.execute(
            f'delete from {QUARANTINE_TABLE} where "table" = ? and source = ?',
            [contract.name, source],
        )
    if split.quarantined.empty:
        return
    con.register(_QUARANTINE_VIEW, split.quarantined)
    con.execute(
        f"insert into {QUARANTINE_TABLE} "
        '("table", load_id, "partition", source, source_row, column_name, reason_code, '
        "reason, raw_record, loaded_at) "
        "select ?, ?, case when ? then coalesce(partition_day, ?) end, source, source_row, "
        f"column_name, reason_code, reason, raw_record, ? from {_QUARANTINE_VIEW}",
        [
            contract.name,
            load_id,
            window is not None,
            window[0].isoformat() if window else None,
            loaded_at,
        ],
    )


def _append_load_log(con: duckdb.DuckDBPyConnection, result: LoadResult) -> None:
    con.execute(
        f"insert into {LOAD_LOG_TABLE} "
        '(load_id, "table", source, "partition", replace_scope, content_hash, input_rows, '
        "loaded_rows, quarantined_rows, replaced_rows, loaded_at) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.load_id,
            result.table,
            result.source,
            result.partition,
            result.replace_scope,
            result.content_hash,
            result.input_rows,
            result.loaded_rows,
            result.quarantined_rows,
            result.replaced_rows,
            result.loaded_at,
        ],
    )


def load_tables(
    con: duckdb.DuckDBPyConnection, tables: Mapping[str, pd.DataFrame], *, source: str
) -> list[LoadResult]:
    """Load whole tables (every table of a generated world, say), parents before children.

    Each table is replaced whole and checked against the parent keys already loaded.
    """
    from ingestion.contracts import ALL_CONTRACTS  # the registry imports every contract module

    unknown = sorted(set(tables) - {contract.name for contract in ALL_CONTRACTS})
    if unknown:
        raise IngestionError(f"no contract for table(s) {', '.join(unknown)}", source=source)
    return [
        load_frame(
            con,
            contract,
            tables[contract.name],
            source=source,
            parent_keys=parent_keys_from_warehouse(con, contract),
        )
        for contract in ALL_CONTRACTS
        if contract.name in tables
    ]
