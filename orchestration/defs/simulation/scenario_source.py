"""Where a partition's scenario comes from: launchpad config, a YAML file, or the baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from orchestration.defs.simulation.results import SCENARIO_DEFINITIONS_TABLE, has_results_table
from simulation.scenarios import BASELINE, SCENARIO_DIR, Scenario, load_scenario


def resolve_scenario(
    partition_key: str, given: dict[str, Any] | None, directory: Path = SCENARIO_DIR
) -> tuple[Scenario, str]:
    """The scenario of `partition_key` and its source.

    Launchpad config wins, then `<directory>/<partition_key>.yaml`, then the built-in
    baseline. Anything else fails with what to do.
    """
    if given is not None:
        scenario = Scenario.model_validate(given)
        if scenario.name != partition_key:
            raise ValueError(
                f"the scenario in the config is named {scenario.name!r} but the partition is "
                f"{partition_key!r}: use the partition key as the scenario name"
            )
        return scenario, "launchpad"
    path = directory / f"{partition_key}.yaml"
    if path.exists():
        scenario = load_scenario(path)
        if scenario.name != partition_key:
            raise ValueError(f"{path} names its scenario {scenario.name!r}, not {partition_key!r}")
        return scenario, str(path.relative_to(directory.parent))
    if partition_key == BASELINE.name:
        return BASELINE, "built-in"
    raise LookupError(
        f"no scenario {partition_key!r}: add {path} or give the scenario in the launchpad "
        "config of scenario_definition"
    )


def scenario_from_results(con: duckdb.DuckDBPyConnection, name: str) -> Scenario:
    """The scenario as `scenario_definition` recorded it for this partition."""
    row = None
    if has_results_table(con, SCENARIO_DEFINITIONS_TABLE):
        row = con.execute(
            f"select definition_json from results.{SCENARIO_DEFINITIONS_TABLE} where scenario = ?",
            [name],
        ).fetchone()
    if row is None:
        raise LookupError(
            f"scenario {name!r} has no definition yet: materialize scenario_definition for "
            "this partition first (the scenario_what_if job does both)"
        )
    return Scenario.model_validate_json(row[0])


def recorded_scenarios(con: duckdb.DuckDBPyConnection) -> dict[str, Scenario]:
    """Every scenario `scenario_definition` has recorded, by name."""
    if not has_results_table(con, SCENARIO_DEFINITIONS_TABLE):
        return {}
    rows = con.execute(
        f"select scenario, definition_json from results.{SCENARIO_DEFINITIONS_TABLE}"
    ).fetchall()
    return {name: Scenario.model_validate_json(definition) for name, definition in rows}
