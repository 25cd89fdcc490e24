"""Scenario results in the warehouse: each scenario's rows are replaced, others kept."""

from __future__ import annotations

import duckdb
import pandas as pd

from ingestion.warehouse import table_exists

SCENARIO_DEFINITIONS_TABLE = "scenario_definitions"


def replace_scenario_rows(
    con: duckdb.DuckDBPyConnection, table: str, scenario: str, frame: pd.DataFrame
) -> None:
    """Replace `scenario`'s rows of results.<table> with `frame` (one transaction).

    `frame` gets a leading `scenario` column. A table left by an older column layout is
    dropped and recreated: its rows could not be compared with new ones anyway.
    """
    frame = frame.assign(scenario=scenario)[["scenario", *[c for c in frame if c != "scenario"]]]
    con.execute("create schema if not exists results")
    con.begin()
    try:
        con.register("scenario_frame", frame)
        con.execute(
            f'create table if not exists results."{table}" as select * from scenario_frame limit 0'
        )
        columns = [r[0] for r in con.execute(f'describe results."{table}"').fetchall()]
        if columns != list(frame.columns):
            con.execute(f'drop table results."{table}"')
            con.execute(f'create table results."{table}" as select * from scenario_frame limit 0')
        con.execute(f'delete from results."{table}" where scenario = ?', [scenario])
        con.execute(f'insert into results."{table}" by name select * from scenario_frame')
        con.unregister("scenario_frame")
        con.commit()
    except BaseException:
        con.rollback()
        raise


def has_results_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return table_exists(con, "results", table)
