"""What every training asset records: its MLflow run tags, and the registered model in Dagster."""

import subprocess

import dagster as dg
import duckdb

from ml.tracking import RegisteredVersion, run_link
from orchestration.paths import REPO_ROOT
from orchestration.resources import MlflowResource
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


def registered_model_metadata(
    mlflow: MlflowResource, registered: RegisteredVersion
) -> dict[str, object]:
    """The MLflow run link, the registered version and its aliases, so that an asset in the
    Dagster UI leads to its run and model."""
    return {
        "mlflow_run": dg.MetadataValue.url(
            run_link(mlflow.ui_url, registered.experiment_id, registered.run_id)
        ),
        "mlflow_run_id": registered.run_id,
        "registered_model": f"{registered.name} v{registered.version}",
        "aliases": ", ".join(registered.aliases),
    }
