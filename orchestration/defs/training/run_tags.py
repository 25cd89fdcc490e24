"""The tags every training run carries in MLflow, so runs compare across families and time."""

import subprocess

import dagster as dg
import duckdb

from orchestration.paths import REPO_ROOT
from orchestration.warehouse_reads import data_lineage


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"  # not a git checkout (e.g. an installed wheel)


def training_run_tags(
    context: dg.AssetExecutionContext, con: duckdb.DuckDBPyConnection
) -> dict[str, str]:
    """data_version and world_seed (from the load log), git_commit and dagster_run_id."""
    return data_lineage(con) | {"git_commit": git_commit(), "dagster_run_id": context.run_id}
