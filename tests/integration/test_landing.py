"""User files dropped into landing/<table>/: the sensor finds them, the job upserts them."""

from __future__ import annotations

import os

import dagster as dg
import pytest

from ingestion.contracts import CONTRACTS
from ingestion.load import load_frame
from ingestion.warehouse import connect
from orchestration.defs.ingestion.landing import ingest_landing_file_job, landing_files
from orchestration.resources import WarehouseResource
from simulation.world import WorldConfig, generate_world


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("TWINOPS_HOME", str(tmp_path))
    (tmp_path / "landing").mkdir()
    return tmp_path


@pytest.fixture
def warehouse(home):
    world = generate_world(WorldConfig.tiny())
    with connect(home / "warehouse.duckdb") as con:
        load_frame(con, CONTRACTS["customers"], world.tables["customers"], source="generator")
    return WarehouseResource(path=str(home / "warehouse.duckdb"))


def drop(home, table: str, name: str, text: str | bytes):
    folder = home / "landing" / table
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def run(table: str, name: str, warehouse: WarehouseResource):
    return ingest_landing_file_job.execute_in_process(
        run_config={
            "ops": {"ingest_landing_file_op": {"config": {"table": table, "relative_path": name}}}
        },
        resources={"warehouse": warehouse},
        raise_on_error=False,
    )


USAGE_HEADER = "session_id,customer_id,session_date,minutes\n"


def test_sensor_requests_one_run_per_file_and_again_when_a_file_changes(home):
    path = drop(home, "usage_events", "day1.csv", USAGE_HEADER + "1,1,2025-01-05,12.5\n")
    drop(home, "not_a_table", "x.csv", "a\n1\n")
    first = landing_files(dg.build_sensor_context())
    assert [r.run_key.split("@")[0] for r in first] == ["usage_events/day1.csv"]
    assert first[0].run_config["ops"]["ingest_landing_file_op"]["config"] == {
        "table": "usage_events",
        "relative_path": "day1.csv",
    }
    path.write_text(USAGE_HEADER + "1,1,2025-01-05,13.0\n2,1,2025-01-06,1.0\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    second = landing_files(dg.build_sensor_context())
    assert second[0].run_key != first[0].run_key


def test_sensor_skips_when_nothing_landed(home):
    assert isinstance(landing_files(dg.build_sensor_context()), dg.SkipReason)


def test_good_rows_load_and_bad_rows_are_quarantined_with_file_row_and_column(home, warehouse):
    drop(
        home,
        "usage_events",
        "sessions.csv",
        USAGE_HEADER
        + "1,1,2025-01-05,12.5\n2,999999,2025-01-05,3.0\n3,2,2025-01-06,-4\n4,3,2025-01-07,20\n",
    )
    result = run("usage_events", "sessions.csv", warehouse)
    assert result.success
    materialization = result.asset_materializations_for_node("ingest_landing_file_op")[0]
    assert materialization.asset_key == dg.AssetKey(["raw", "usage_events"])
    meta = {k: v.value for k, v in materialization.metadata.items()}
    assert (meta["input_rows"], meta["loaded_rows"], meta["quarantined_rows"]) == (4, 2, 2)
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        quarantined = con.execute(
            "select source, source_row, column_name, reason_code from ops.quarantine order by source_row"
        ).fetchall()
        loaded = con.execute("select session_id from raw.usage_events order by 1").fetchall()
    assert quarantined == [
        ("landing/usage_events/sessions.csv", 2, "customer_id", "orphan_foreign_key"),
        ("landing/usage_events/sessions.csv", 3, "minutes", "out_of_range"),
    ]
    assert loaded == [(1,), (4,)]


def test_loading_the_same_file_twice_changes_nothing(home, warehouse):
    drop(
        home,
        "usage_events",
        "sessions.csv",
        USAGE_HEADER + "1,1,2025-01-05,12.5\n2,2,2025-01-06,3.0\n",
    )
    assert run("usage_events", "sessions.csv", warehouse).success
    assert run("usage_events", "sessions.csv", warehouse).success
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        assert con.execute("select count(*) from raw.usage_events").fetchone()[0] == 2


def test_an_unreadable_file_fails_the_run_naming_the_file_and_loads_nothing(home, warehouse):
    drop(
        home,
        "usage_events",
        "latin1.csv",
        USAGE_HEADER.encode() + "1,1,2025-01-05,caf\xe9\n".encode("latin-1"),
    )
    result = run("usage_events", "latin1.csv", warehouse)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.event_specific_data.error.to_string())
    assert "latin1.csv" in message and "UTF-8" in message
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        exists = con.execute(
            "select count(*) from duckdb_tables() where table_name = 'usage_events'"
        ).fetchone()[0]
    assert exists == 0


def test_a_path_outside_the_landing_folder_is_refused(home, warehouse):
    (home / "secret.csv").write_text(USAGE_HEADER + "1,1,2025-01-05,1\n")
    result = run("usage_events", "../../secret.csv", warehouse)
    assert not result.success
