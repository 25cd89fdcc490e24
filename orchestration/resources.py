"""Resources: the seams between assets and the warehouse, MLflow and Ray.

Each has a local default under the state folder and a remote setting from the environment.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field, PrivateAttr

from ingestion.warehouse import connect
from ml.tracking import MlflowSettings


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse. Only one step writes at a time (the `warehouse` pool)."""

    path: str = Field(description="Path of the DuckDB file.")

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = connect(Path(self.path), read_only=read_only)
        try:
            yield con
        finally:
            con.close()


class MlflowResource(dg.ConfigurableResource):
    """MLflow tracking and registry: sqlite under the state folder, or a tracking server."""

    tracking_uri: str = Field(description="sqlite:///… file or http(s) tracking server.")
    artifact_root: str = Field(description="Where new experiments keep their artifacts.")
    ui_url: str = Field(
        default="http://127.0.0.1:5000", description="Base URL of the MLflow UI, for links."
    )

    @property
    def settings(self) -> MlflowSettings:
        return MlflowSettings(tracking_uri=self.tracking_uri, artifact_root=self.artifact_root)


class RayResource(dg.ConfigurableResource):
    """Ray for Monte Carlo: local (loopback, no dashboard) or the cluster at RAY_ADDRESS.

    A local Ray starts once per run, when the first step needs it, and stops at the run's end.
    """

    num_cpus: int | None = Field(default=None, description="CPUs of a local Ray; default: all.")
    temp_dir: str | None = Field(default=None, description="Session folder of a local Ray.")
    _started_here: bool = PrivateAttr(default=False)

    def ensure_started(self) -> None:
        # Ray is imported inside ensure_ray, after it sets the local defaults it needs.
        from simulation.parallel import ensure_ray

        if self.temp_dir and not os.environ.get("RAY_ADDRESS"):
            Path(self.temp_dir).mkdir(parents=True, exist_ok=True)
        self._started_here = (
            ensure_ray(num_cpus=self.num_cpus, temp_dir=self.temp_dir) or self._started_here
        )

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._started_here:
            import ray

            ray.shutdown()
