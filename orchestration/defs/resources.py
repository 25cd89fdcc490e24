"""Resources for every asset, with local defaults under the state folder."""

import os

import dagster as dg
from dagster_dbt import DbtCliResource

from ml.tracking import MlflowSettings
from orchestration.defs.features.project import dbt_executable, transforms_project
from orchestration.defs.ingestion.world import SyntheticBusinessResource
from orchestration.paths import StatePaths
from orchestration.resources import MlflowResource, RayResource, WarehouseResource


@dg.definitions
def resources() -> dg.Definitions:
    paths = StatePaths.from_env()
    local_mlflow = MlflowSettings.local(paths.home)
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(path=str(paths.warehouse)),
            "business": SyntheticBusinessResource(),
            "mlflow": MlflowResource(
                # A tracking server, when one is configured, replaces the local sqlite store.
                tracking_uri=os.environ.get("MLFLOW_TRACKING_URI", local_mlflow.tracking_uri),
                artifact_root=os.environ.get(
                    "TWINOPS_MLFLOW_ARTIFACT_ROOT", local_mlflow.artifact_root
                ),
                ui_url=os.environ.get("TWINOPS_MLFLOW_UI", "http://127.0.0.1:5000"),
            ),
            "ray": RayResource(temp_dir=str(paths.ray)),
            "dbt": DbtCliResource(
                project_dir=transforms_project(), dbt_executable=dbt_executable()
            ),
        }
    )
