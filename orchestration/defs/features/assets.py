"""dbt models and their tests, as assets and asset checks."""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.defs.features.project import transforms_project


@dbt_assets(
    manifest=transforms_project().manifest_path, project=transforms_project(), pool="warehouse"
)
def transforms(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Build staging views and feature marts, then run their tests (asset checks)."""
    yield from dbt.cli(["build"], context=context).stream()
