"""Scenarios as dynamic partitions: every YAML file in scenarios/ (and the baseline) is one.

The `scenario_files` sensor registers new files as partitions and launches the
`scenario_what_if` job for every new or changed file. A scenario can also be given in the
launchpad (config of `scenario_definition`) after adding its name as a partition.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg

from simulation.scenarios import BASELINE, SCENARIO_DIR, load_scenario

scenario_partitions = dg.DynamicPartitionsDefinition(name="scenario")

SCENARIO_TAG = {"twinops/partitioned_by": "scenario"}
"""Tag of every scenario-partitioned asset: select them with `AssetSelection.tag(...)`."""


def scenario_file_fingerprints(directory: Path = SCENARIO_DIR) -> dict[str, str]:
    """Scenario name -> hash of its validated content, for every YAML file in `directory`.

    A file that does not validate fails loudly, naming the file.
    """
    fingerprints: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            scenario = load_scenario(path)
        except Exception as error:
            raise ValueError(f"scenario file {path} is invalid: {error}") from error
        if scenario.name in fingerprints:
            raise ValueError(f"two scenario files are named {scenario.name!r}")
        content = scenario.model_dump_json().encode()
        fingerprints[scenario.name] = hashlib.sha256(content).hexdigest()[:16]
    return fingerprints


def new_and_changed_scenarios(
    current: dict[str, str], previous: dict[str, str]
) -> tuple[list[str], list[str]]:
    """Scenario names first seen, and names whose content changed, since `previous`."""
    new = sorted(set(current) - set(previous))
    changed = sorted(n for n in set(current) & set(previous) if current[n] != previous[n])
    return new, changed


def register_scenario_partitions(
    instance: dg.DagsterInstance, directory: Path = SCENARIO_DIR
) -> list[str]:
    """Add the baseline and every scenario file as a partition; return the ones added."""
    wanted = {BASELINE.name, *scenario_file_fingerprints(directory)}
    missing = sorted(wanted - set(instance.get_dynamic_partitions(scenario_partitions.name)))
    if missing:
        instance.add_dynamic_partitions(scenario_partitions.name, missing)
    return missing


@dg.sensor(
    job_name="scenario_what_if",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Registers scenarios/*.yaml as partitions and simulates new or changed ones.",
)
def scenario_files(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    current = scenario_file_fingerprints()
    previous: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    new, changed = new_and_changed_scenarios(current, previous)
    registered = set(context.instance.get_dynamic_partitions(scenario_partitions.name))
    to_add = sorted({BASELINE.name, *current} - registered)
    to_run = sorted(set(new) | set(changed) | ({BASELINE.name} & set(to_add)))
    fingerprint = {**current, BASELINE.name: "built-in"}
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(partition_key=name, run_key=f"{name}:{fingerprint[name]}")
            for name in to_run
        ],
        dynamic_partitions_requests=[scenario_partitions.build_add_request(to_add)]
        if to_add
        else [],
        cursor=json.dumps(current, sort_keys=True),
    )
