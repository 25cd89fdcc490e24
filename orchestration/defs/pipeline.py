"""The whole twin, end to end, as one job with a nightly schedule."""

import dagster as dg

twinops_pipeline = dg.define_asset_job(
    "twinops_pipeline",
    selection=dg.AssetSelection.all(),
    description="Generate and load the business, build features, train, simulate and monitor.",
)

nightly_refresh = dg.ScheduleDefinition(
    name="nightly_refresh",
    job=twinops_pipeline,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    description="Refresh the whole twin every night at 02:00 UTC.",
)
