"""The whole twin, end to end, as one job with a nightly schedule."""

import dagster as dg

from orchestration.defs.simulation.partitions import SCENARIO_TAG

# A job has one partitions definition: the daily one. What-if scenarios are partitioned by
# scenario instead and run in their own job (scenario_what_if), as does what depends on them.
_scenario_assets = dg.AssetSelection.tag(*next(iter(SCENARIO_TAG.items())))
twinops_pipeline = dg.define_asset_job(
    "twinops_pipeline",
    selection=dg.AssetSelection.all() - _scenario_assets.downstream(),
    description=(
        "Load the business (entities whole, events for the run's days), build features, train, "
        "simulate and monitor. Run it over a window of days as a single-run backfill."
    ),
)

# Every night at 02:00 UTC, the previous day's events and everything downstream of them.
nightly_refresh = dg.build_schedule_from_partitioned_job(
    twinops_pipeline,
    hour_of_day=2,
    name="nightly_refresh",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)

# Compares every simulated scenario with the baseline (after scenario_what_if runs).
compare_scenarios = dg.define_asset_job(
    "compare_scenarios",
    selection=dg.AssetSelection.assets("scenario_comparison"),
    description="Compare every simulated what-if scenario with the baseline (common random numbers).",
)
