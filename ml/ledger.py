"""The promotion ledger: every champion decision, append-only, in `results.promotion_ledger`.

A decision that moves the `champion` alias is written twice: an `intent` row before any alias
is touched, and a `done` row once every alias write has succeeded. An intent without a later
`done` (or `recovered`) row is a promotion that crashed half-way; `ml.promotion` finishes it on
the next start. Decisions that move nothing (`keep`) are written once, as `done`.

Each append is one DuckDB transaction, and `sequence` orders the rows even when two share a
timestamp.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field

import duckdb
import pandas as pd

from ingestion.warehouse import table_exists

LEDGER_TABLE = "results.promotion_ledger"

PROMOTE = "promote"
KEEP = "keep"
ROLLBACK = "rollback"
BOOTSTRAP = "bootstrap"  # the first registered version became champion without a comparison
ACTIONS = (PROMOTE, KEEP, ROLLBACK, BOOTSTRAP)

INTENT = "intent"
DONE = "done"
RECOVERED = "recovered"  # an intent finished by reconciliation after a crash
STATUSES = (INTENT, DONE, RECOVERED)

_LEDGER_DDL = f"""
create table if not exists {LEDGER_TABLE} (
    sequence bigint not null,
    decision_id varchar not null,
    model_name varchar not null,
    action varchar not null,
    status varchar not null,
    decided_by varchar not null,
    recorded_at timestamp not null,
    champion_before varchar,
    champion_after varchar,
    challenger_version varchar,
    champion_roc_auc double,
    challenger_roc_auc double,
    roc_auc_difference double,
    roc_auc_ci_low double,
    roc_auc_ci_high double,
    champion_brier double,
    challenger_brier double,
    holdout_rows bigint,
    rule varchar,
    reason varchar not null
)
"""


@dataclass(frozen=True)
class LedgerEntry:
    """One row of the ledger. Versions are MLflow registry versions as strings."""

    model_name: str
    action: str
    status: str
    decided_by: str
    reason: str
    decision_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    recorded_at: pd.Timestamp = field(
        default_factory=lambda: pd.Timestamp.now(tz="UTC").tz_localize(None)
    )
    champion_before: str | None = None
    champion_after: str | None = None
    challenger_version: str | None = None
    champion_roc_auc: float | None = None
    challenger_roc_auc: float | None = None
    roc_auc_difference: float | None = None
    roc_auc_ci_low: float | None = None
    roc_auc_ci_high: float | None = None
    champion_brier: float | None = None
    challenger_brier: float | None = None
    holdout_rows: int | None = None
    rule: str | None = None  # JSON of the promotion rule that decided

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown ledger action {self.action!r}; expected one of {ACTIONS}")
        if self.status not in STATUSES:
            raise ValueError(f"unknown ledger status {self.status!r}; expected one of {STATUSES}")

    def completed(self, status: str = DONE) -> LedgerEntry:
        """The row that closes this intent (same decision and figures, a new time)."""
        values = asdict(self) | {
            "status": status,
            "recorded_at": pd.Timestamp.now(tz="UTC").tz_localize(None),
        }
        return LedgerEntry(**values)


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    """Create the results schema and the ledger table if they do not exist."""
    con.execute("create schema if not exists results")
    con.execute(_LEDGER_DDL)


def append_entry(con: duckdb.DuckDBPyConnection, entry: LedgerEntry) -> None:
    """Append one row in one transaction; its sequence is one more than the table's maximum."""
    ensure_ledger(con)
    row = pd.DataFrame([asdict(entry)])
    con.begin()
    try:
        con.register("ledger_row", row)
        con.execute(
            f"""
            insert into {LEDGER_TABLE} by name
            select (select coalesce(max(sequence), 0) + 1 from {LEDGER_TABLE}) as sequence, *
            from ledger_row
            """
        )
        con.unregister("ledger_row")
        con.commit()
    except BaseException:
        con.rollback()
        raise


def read_ledger(con: duckdb.DuckDBPyConnection, model_name: str) -> pd.DataFrame:
    """Every row for `model_name`, oldest first (empty when nothing was decided yet).

    Works on a read-only connection: a missing table reads as an empty ledger.
    """
    if not table_exists(con, *LEDGER_TABLE.split(".")):
        return pd.DataFrame(columns=["sequence", *LedgerEntry.__dataclass_fields__])
    return con.execute(
        f"select * from {LEDGER_TABLE} where model_name = ? order by sequence", [model_name]
    ).df()


def incomplete_intents(con: duckdb.DuckDBPyConnection, model_name: str) -> list[LedgerEntry]:
    """Intents that no `done` or `recovered` row closes, oldest first."""
    ledger = read_ledger(con, model_name)
    closed = set(ledger.loc[ledger["status"] != INTENT, "decision_id"])
    open_rows = ledger[(ledger["status"] == INTENT) & ~ledger["decision_id"].isin(closed)]
    return [_entry_from_row(row) for row in open_rows.to_dict("records")]


def champion_history(con: duckdb.DuckDBPyConnection, model_name: str) -> list[str]:
    """The stack of champions the ledger vouches for, oldest at the bottom.

    A bootstrap or promotion pushes its new champion; a rollback pops back to the one below.
    Only completed decisions count.
    """
    ledger = read_ledger(con, model_name)
    completed = ledger[ledger["status"] != INTENT]
    stack: list[str] = []
    for row in completed.to_dict("records"):
        if row["action"] in (BOOTSTRAP, PROMOTE):
            stack.append(str(row["champion_after"]))
        elif row["action"] == ROLLBACK:
            if stack:
                stack.pop()
            if not stack or stack[-1] != str(row["champion_after"]):
                stack.append(str(row["champion_after"]))
    return stack


def _entry_from_row(row: dict) -> LedgerEntry:
    values = {k: v for k, v in row.items() if k != "sequence"}
    for name, value in values.items():
        if value is not None and not isinstance(value, str) and pd.isna(value):
            values[name] = None
    values["recorded_at"] = pd.Timestamp(values["recorded_at"])
    if values["holdout_rows"] is not None:
        values["holdout_rows"] = int(values["holdout_rows"])
    return LedgerEntry(**values)
