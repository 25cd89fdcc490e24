"""dbt models and their tests, as assets and asset checks, in three steps that run in order.

1. ``staging``: the views over the raw tables (unpartitioned; a view has no rows to partition).
2. ``daily_features``: the models keyed on a day or month. They are incremental
   (transforms/macros/rebuild_window.sql) and daily-partitioned: a run passes its partition
   window to dbt as vars, and dbt rebuilds the rows from the window's first day on.
3. ``whole_history_features``: tables computed from every day at once (seasonality tests).

Tests run with dbt's ``buildable`` indirect selection: a test runs in the step that builds the
last of its parents, so a relationship test between a mart and a staging view never runs before
the mart exists.
"""

import json

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets
from pydantic import Field

from orchestration.defs.features.project import transforms_project
from orchestration.partitions import daily_partitions, dbt_vars_for_window

STAGING_MODELS = "path:models/staging"
INCREMENTAL_MODELS = "config.materialized:incremental"
WHOLE_HISTORY_MODELS = "config.materialized:table"
BUILD = ["build", "--indirect-selection", "buildable"]
# Every step runs the one dbt project, and takes its turn at the warehouse (the pool).
TRANSFORMS = {
    "manifest": transforms_project().manifest_path,
    "project": transforms_project(),
    "pool": "warehouse",
}


@dbt_assets(
    **TRANSFORMS,
    select=STAGING_MODELS,
)
def staging(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Create the staging views and test them."""
    yield from dbt.cli(BUILD, context=context).stream()


class DailyFeaturesConfig(dg.Config):
    """Knobs of the incremental feature build."""

    full_refresh: bool = Field(
        default=False,
        description="Drop and rebuild the incremental tables from all loaded data (dbt "
        "--full-refresh), for example after a mart's columns changed. Select every partition "
        "or one: the rebuild covers all days either way.",
    )


@dbt_assets(
    **TRANSFORMS,
    select=INCREMENTAL_MODELS,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def daily_features(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DailyFeaturesConfig
):
    """Rebuild the feature rows of the run's days (and the later rows that read them); test them."""
    window = context.partition_time_window
    dbt_vars = dbt_vars_for_window(window.start, window.end)
    context.log.info(f"dbt vars: {dbt_vars}")
    args = [*BUILD, "--vars", json.dumps(dbt_vars)]
    if config.full_refresh:
        args.append("--full-refresh")
    yield from dbt.cli(args, context=context).stream()


@dbt_assets(
    **TRANSFORMS,
    select=WHOLE_HISTORY_MODELS,
)
def whole_history_features(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Rebuild the tables that read every day at once, and test them."""
    yield from dbt.cli(BUILD, context=context).stream()
