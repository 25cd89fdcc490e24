"""Every scenario against the baseline, paired by replication (common random numbers)."""

import dagster as dg
from pydantic import Field

from orchestration.defs.simulation.champion_effects import current_effects, effects_metadata
from orchestration.defs.simulation.champion_revenue import champion_revenue_model
from orchestration.defs.simulation.partitions import scenario_partitions
from orchestration.defs.simulation.scenario_source import recorded_scenarios
from orchestration.metadata import table_preview
from orchestration.paths import StatePaths
from orchestration.resources import MlflowResource, RayResource, WarehouseResource
from orchestration.warehouse_reads import CHURN_FEATURES_DEP, replace_results_table
from simulation.scenario_plots import comparison_chart_png
from simulation.scenarios import BASELINE, load_scenarios
from simulation.twin_parameters import read_twin_parameters
from simulation.twin_scenarios import (
    ComparisonSettings,
    ReplicationCache,
    compare_with_baseline,
    engines_for_scenario,
    run_replications,
)


class ScenarioComparisonConfig(dg.Config):
    """Precision of the comparison."""

    seed: int = Field(default=2024, description="Root seed shared by baseline and scenarios.")
    pilot_replications: int = Field(default=10, ge=2, description="Replications before the rule.")
    max_replications: int = Field(default=60, description="Most replications per comparison.")
    target_relative_half_width: float = Field(
        default=0.01, gt=0, description="Target CI half-width as a share of the baseline mean."
    )


@dg.asset(
    deps=[
        "scenario_definition",
        "twin_effects",
        "churn_model",
        CHURN_FEATURES_DEP,
        "world_ground_truth",
        *(
            dg.AssetKey(["raw", t])
            for t in (
                "customers",
                "support_tickets",
                "employees",
                "onboarding_stage_runs",
                "suppliers",
                "purchase_orders",
                "demand_orders",
            )
        ),
    ],
    group_name="simulation",
    kinds={"ray", "duckdb"},
    pool="warehouse",
)
def scenario_comparison(
    context: dg.AssetExecutionContext,
    config: ScenarioComparisonConfig,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
    ray: RayResource,
) -> dg.MaterializeResult:
    """Each scenario minus the baseline on every engine's KPIs, with confidence intervals.

    Scenarios are the registered `scenario` partitions (as scenario_definition recorded them,
    else their YAML file), or every file in scenarios/ when none is registered. Replication r
    of both sides shares its random numbers; replications are added until the interval is
    as narrow as the target. Rows in results.scenario_comparison.
    """
    registered = set(context.instance.get_dynamic_partitions(scenario_partitions.name))
    champion = champion_revenue_model(warehouse, mlflow)
    with warehouse.connect(read_only=True) as con:
        parameters = read_twin_parameters(con, current_effects(con, mlflow))
        recorded = recorded_scenarios(con)
    files = load_scenarios()
    known = {**files, **recorded}  # a recorded definition is what the partition ran
    names = sorted(registered or files)
    missing = [n for n in names if n not in known and n != BASELINE.name]
    if missing:
        raise LookupError(
            f"scenarios {missing} have neither a file in scenarios/ nor a recorded definition: "
            "materialize scenario_definition for them"
        )
    baseline = known.get(BASELINE.name, BASELINE)
    scenarios = {n: known[n] for n in names if n != BASELINE.name}
    if not scenarios:
        raise LookupError("no scenarios to compare: add YAML files to scenarios/")
    engines = {
        s.name: engines_for_scenario(s, parameters, champion.model)
        for s in [baseline, *scenarios.values()]
    }
    settings = ComparisonSettings(**config.model_dump())
    # The pilots of every distinct engine input run on Ray; top-ups run here, from the cache.
    cache = ReplicationCache()
    ray.ensure_started()
    distinct = {e.cache_key(): e for per in engines.values() for e in per.values()}
    for engine in distinct.values():
        pilot = run_replications(engine, settings.pilot_replications, settings.seed)
        cache.prefill(engine, pilot, settings.seed)
    table = compare_with_baseline(baseline, list(scenarios.values()), engines, settings, cache)
    table = table.assign(champion_version=champion.champion_version)
    with warehouse.connect() as con:
        replace_results_table(con, "scenario_comparison", table)
    reports = StatePaths.from_env().reports
    reports.mkdir(parents=True, exist_ok=True)
    chart = comparison_chart_png(
        table, reports / "scenario_comparison.png", "Scenarios against the baseline"
    )
    significant = table[table["is_significant"]]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            "scenarios": ", ".join(sorted(scenarios)),
            "significant_differences": len(significant),
            "all_targets_met": bool(table["target_met"].all()),
            **effects_metadata(parameters.recorded_effects),
            "comparison_chart": dg.MetadataValue.path(str(chart)),
            "preview": dg.MetadataValue.md(
                table_preview(
                    significant[
                        ["scenario", "kpi", "baseline_mean", "difference", "ci_low", "ci_high"]
                    ],
                    rows=30,
                )
            ),
        }
    )
