"""What-if scenarios of the twin, one dynamic partition per scenario.

`scenario_definition` fixes what the scenario is (a file in scenarios/, or launchpad config);
the engine assets run it on Ray with parameters estimated from the warehouse
(simulation/twin_parameters.py) and replace that scenario's rows in their results tables.
"""

from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

from ml.plots import fan_chart_png
from orchestration.defs.simulation.champion_effects import current_effects, effects_metadata
from orchestration.defs.simulation.champion_revenue import champion_revenue_model
from orchestration.defs.simulation.partitions import SCENARIO_TAG, scenario_partitions
from orchestration.defs.simulation.results import (
    SCENARIO_DEFINITIONS_TABLE,
    replace_scenario_rows,
)
from orchestration.defs.simulation.scenario_source import resolve_scenario, scenario_from_results
from orchestration.metadata import table_preview
from orchestration.paths import StatePaths
from orchestration.resources import MlflowResource, RayResource, WarehouseResource
from orchestration.warehouse_reads import CHURN_FEATURES_DEP
from simulation.engines.finance import make_revenue_task, summarise_revenue_risk
from simulation.parallel import run_chunked
from simulation.scenario_plots import binned_histogram_png, highlighted_bar_chart_png
from simulation.scenarios import apply_to_revenue_model
from simulation.twin_parameters import TwinParameters, read_twin_parameters
from simulation.twin_scenarios import (
    CYCLE_HISTOGRAM_EDGES_HOURS,
    WAIT_HISTOGRAM_EDGES,
    TwinEngine,
    engines_for_scenario,
    histogram_from_replications,
    onboarding_stage_table,
    planned_revenue,
    primary_bottleneck,
    replications_long,
    run_replications,
    summarise_replications,
    t_interval,
)


def raw(table: str) -> dg.AssetDep:
    """A raw table; a scenario reads all of it, whatever day partitions it has."""
    return dg.AssetDep(dg.AssetKey(["raw", table]), partition_mapping=dg.AllPartitionMapping())


TWIN_INPUTS = ["scenario_definition", "world_ground_truth"]
SCENARIO_ASSET = {
    "partitions_def": scenario_partitions,
    "group_name": "simulation",
    "pool": "warehouse",
    "tags": SCENARIO_TAG,
}


class ScenarioDefinitionConfig(dg.Config):
    """Give the scenario here instead of in scenarios/<partition>.yaml."""

    scenario: dict[str, Any] | None = Field(
        default=None,
        description="The same fields as a scenario file, validated by simulation.scenarios."
        "Scenario; `name` must be the partition key. Empty: read scenarios/<partition>.yaml.",
    )


class ScenarioReplicationConfig(dg.Config):
    """How many replications and which seed; the same seed across scenarios pairs them."""

    n_replications: int = Field(default=20, ge=2, description="Independent replications.")
    seed: int = Field(default=2024, description="Root seed: replication r is spawn r of it.")


class ScenarioRevenueConfig(dg.Config):
    """Size and seed of the scenario's revenue Monte Carlo."""

    n_paths: int = Field(default=20_000, description="Simulated revenue paths.")
    horizon_months: int = Field(default=12, description="Months ahead.")
    paths_per_chunk: int = Field(default=5_000, description="Paths per Ray task (coarse tasks).")
    seed: int = Field(default=2024, description="Root seed; every scenario uses the same paths.")
    plan_growth_pct: float = Field(default=1.0, description="Planned monthly revenue growth.")


@dg.asset(deps=[], kinds={"duckdb"}, **SCENARIO_ASSET)
def scenario_definition(
    context: dg.AssetExecutionContext,
    config: ScenarioDefinitionConfig,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """The what-if scenario of this partition, validated, in results.scenario_definitions."""
    scenario, source = resolve_scenario(context.partition_key, config.scenario)
    row = pd.DataFrame(
        {
            "source": [source],
            "description": [scenario.description],
            "definition_json": [scenario.model_dump_json()],
            "defined_at": [pd.Timestamp.now(tz="UTC").tz_localize(None)],
        }
    )
    with warehouse.connect() as con:
        replace_scenario_rows(con, SCENARIO_DEFINITIONS_TABLE, scenario.name, row)
    changes = scenario.model_dump(mode="json", exclude_defaults=True, exclude={"name"})
    return dg.MaterializeResult(
        metadata={
            "source": source,
            "description": scenario.description,
            "changes": dg.MetadataValue.json(changes),
        }
    )


def _twin(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    engine: str,
    mlflow: MlflowResource | None = None,
) -> tuple[str, TwinParameters, TwinEngine]:
    """The scenario's engine; with `mlflow`, the effects measured on today's champions."""
    with warehouse.connect(read_only=True) as con:
        scenario = scenario_from_results(con, context.partition_key)
        effects = current_effects(con, mlflow) if mlflow is not None else None
        parameters = read_twin_parameters(con, effects)
    engines = engines_for_scenario(scenario, parameters, None, only=(engine,))
    return scenario.name, parameters, engines[engine]


def _replicate(
    context: dg.AssetExecutionContext,
    engine: TwinEngine,
    config: ScenarioReplicationConfig,
    ray: RayResource,
    warehouse: WarehouseResource,
) -> pd.DataFrame:
    """Run the replications on Ray; keep every replication's KPIs for pairing."""
    ray.ensure_started()
    replications = run_replications(engine, config.n_replications, config.seed)
    with warehouse.connect() as con:
        replace_scenario_rows(
            con,
            f"scenario_replications_{engine.engine}",
            context.partition_key,
            replications_long(replications, engine.engine, config.seed),
        )
    return replications


def _report(name: str) -> str:
    reports = StatePaths.from_env().reports
    reports.mkdir(parents=True, exist_ok=True)
    return str(reports / name)


def _ci(summary: pd.DataFrame, kpi: str) -> str:
    row = summary.set_index("kpi").loc[kpi]
    return f"{row['mean']:.4g} ± {row['half_width']:.2g}"


@dg.asset(
    deps=[*TWIN_INPUTS, "twin_effects", "churn_model", CHURN_FEATURES_DEP, raw("customers")],
    kinds={"ray", "duckdb"},
    **SCENARIO_ASSET,
)
def scenario_revenue(
    context: dg.AssetExecutionContext,
    config: ScenarioRevenueConfig,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
    ray: RayResource,
) -> dg.MaterializeResult:
    """Monthly revenue P5/P50/P95 under the scenario (champion churn, learned price effects).

    Rows in results.scenario_revenue; every scenario draws the same paths (same seed).
    """
    champion = champion_revenue_model(warehouse, mlflow)
    with warehouse.connect(read_only=True) as con:
        scenario = scenario_from_results(con, context.partition_key)
        parameters = read_twin_parameters(
            con, current_effects(con, mlflow), horizon_months=config.horizon_months
        )
    effects = parameters.effects
    model = apply_to_revenue_model(scenario, champion.model, effects)
    ray.ensure_started()
    paths = run_chunked(
        make_revenue_task(model, config.horizon_months),
        n_total=config.n_paths,
        chunk_size=config.paths_per_chunk,
        seed=config.seed,
    )
    plan = planned_revenue(champion.model, config.horizon_months, config.plan_growth_pct)
    risk = summarise_revenue_risk(paths, plan)
    total, half_width = t_interval(paths.sum(axis=1))
    months = pd.date_range(
        champion.as_of + pd.Timedelta(days=1), periods=config.horizon_months, freq="MS"
    )
    table = pd.DataFrame(
        {
            "month_start": months.astype("datetime64[s]"),
            "revenue_p5": risk.p5,
            "revenue_p50": risk.p50,
            "revenue_p95": risk.p95,
            "revenue_mean": paths.mean(axis=0),
            "plan": plan,
            "champion_version": champion.champion_version,
            "churn_price_elasticity": effects.churn_price_elasticity,
            "n_paths": config.n_paths,
            "seed": config.seed,
        }
    )
    with warehouse.connect() as con:
        replace_scenario_rows(con, "scenario_revenue", scenario.name, table)
    chart = fan_chart_png(
        months, risk.p5, risk.p50, risk.p95,
        _report(f"scenario_revenue_{scenario.name}.png"),
        f"Monthly revenue under '{scenario.name}'", "revenue",
    )  # fmt: skip
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            "champion_version": champion.champion_version,
            "expected_total_revenue": total,
            "expected_total_revenue_ci_half_width": half_width,
            "probability_of_missing_plan": risk.probability_of_missing_plan,
            "cvar_5pct_total_revenue": risk.cvar_5pct_total_revenue,
            **effects_metadata(parameters.recorded_effects),
            "fan_chart": dg.MetadataValue.path(str(chart)),
            "preview": dg.MetadataValue.md(table_preview(table, rows=12)),
        }
    )


@dg.asset(
    deps=[*TWIN_INPUTS, raw("support_tickets"), raw("employees")],
    kinds={"ray", "duckdb"},
    **SCENARIO_ASSET,
)
def scenario_service_queue(
    context: dg.AssetExecutionContext,
    config: ScenarioReplicationConfig,
    warehouse: WarehouseResource,
    ray: RayResource,
) -> dg.MaterializeResult:
    """Support waits, service level, abandonment and satisfaction under the scenario.

    Each replication simulates two weeks of contacts and deletes the first day (warm-up).
    KPI means with 95 % confidence intervals in results.scenario_service_queue.
    """
    name, _, queue = _twin(context, warehouse, "service_queue")
    replications = _replicate(context, queue, config, ray, warehouse)
    summary = summarise_replications(replications, queue.summary_names).assign(
        horizon_days=queue.horizon_days, warm_up_days=queue.warm_up_days, seed=config.seed
    )
    with warehouse.connect() as con:
        replace_scenario_rows(con, "scenario_service_queue", name, summary)
    histogram = histogram_from_replications(replications, "wait_bin_", WAIT_HISTOGRAM_EDGES)
    chart = binned_histogram_png(
        histogram, _report(f"scenario_service_queue_{name}.png"),
        f"First-line waits under '{name}'", "wait", "minutes",
    )  # fmt: skip
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(summary),
            "service_level": _ci(summary, "service_level"),
            "mean_first_line_wait_minutes": _ci(summary, "mean_first_line_wait_minutes"),
            "first_line_agents": queue.config.first_line_agents,
            "wait_histogram": dg.MetadataValue.path(str(chart)),
            "preview": dg.MetadataValue.md(table_preview(summary, rows=len(summary))),
        }
    )


@dg.asset(
    deps=[*TWIN_INPUTS, raw("onboarding_stage_runs"), "twin_effects"],
    kinds={"ray", "duckdb"},
    **SCENARIO_ASSET,
)
def scenario_onboarding_process(
    context: dg.AssetExecutionContext,
    config: ScenarioReplicationConfig,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
    ray: RayResource,
) -> dg.MaterializeResult:
    """Onboarding cycle time, throughput and the bottleneck stage under the scenario.

    KPIs with confidence intervals in results.scenario_onboarding_process; utilisation,
    queue time and bottleneck share per stage in results.scenario_onboarding_stages.
    """
    name, parameters, onboarding = _twin(context, warehouse, "onboarding_process", mlflow)
    replications = _replicate(context, onboarding, config, ray, warehouse)
    kpis = ["mean_cycle_time_hours", "cycle_time_p50_hours", "cycle_time_p90_hours"]
    summary = summarise_replications(replications, [*kpis, "throughput_per_day"]).assign(
        seed=config.seed
    )
    stages = onboarding_stage_table(replications, onboarding.stage_names)
    bottleneck = primary_bottleneck(stages)
    stages = stages.assign(is_primary_bottleneck=stages["stage"] == bottleneck)
    with warehouse.connect() as con:
        replace_scenario_rows(con, "scenario_onboarding_process", name, summary)
        replace_scenario_rows(con, "scenario_onboarding_stages", name, stages)
    histogram = binned_histogram_png(
        histogram_from_replications(replications, "cycle_bin_", CYCLE_HISTOGRAM_EDGES_HOURS),
        _report(f"scenario_onboarding_cycle_time_{name}.png"),
        f"Onboarding cycle time under '{name}'", "cycle time", "hours",
    )  # fmt: skip
    chart = highlighted_bar_chart_png(
        stages["stage"], stages["utilisation"], bottleneck,
        _report(f"scenario_onboarding_bottleneck_{name}.png"),
        f"Stage utilisation under '{name}' (bottleneck in red)", "utilisation", reference=1.0,
    )  # fmt: skip
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(summary) + len(stages),
            "primary_bottleneck": bottleneck,
            "cycle_time_p90_hours": _ci(summary, "cycle_time_p90_hours"),
            "arrivals_per_day": onboarding.arrivals_per_day,
            **effects_metadata(parameters.recorded_effects),
            "cycle_time_histogram": dg.MetadataValue.path(str(histogram)),
            "bottleneck_chart": dg.MetadataValue.path(str(chart)),
            "preview": dg.MetadataValue.md(table_preview(stages, rows=len(stages))),
        }
    )


@dg.asset(
    deps=[
        *TWIN_INPUTS,
        raw("suppliers"),
        raw("purchase_orders"),
        raw("demand_orders"),
        raw("inventory_levels"),
        "twin_effects",
    ],
    kinds={"ray", "duckdb"},
    **SCENARIO_ASSET,
)
def scenario_supply_chain(
    context: dg.AssetExecutionContext,
    config: ScenarioReplicationConfig,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
    ray: RayResource,
) -> dg.MaterializeResult:
    """Fill rate, stockout days and inventory cost, and each supplier's shortfall risk.

    Long-format KPIs (overall, per product, per supplier) with confidence intervals in
    results.scenario_supply_chain.
    """
    # With the champions: product demand answers price changes with the demand champion's
    # elasticity.
    name, parameters, supply = _twin(context, warehouse, "supply_chain", mlflow)
    replications = _replicate(context, supply, config, ray, warehouse)
    summary = summarise_replications(replications, supply.kpi_names).assign(seed=config.seed)
    with warehouse.connect() as con:
        replace_scenario_rows(con, "scenario_supply_chain", name, summary)
    risk = summary[summary["kpi"].str.startswith("probability_of_shortfall:")]
    suppliers = risk["kpi"].str.removeprefix("probability_of_shortfall:")
    riskiest = str(suppliers.iloc[int(np.argmax(risk["mean"]))])
    chart = highlighted_bar_chart_png(
        suppliers, risk["mean"], riskiest, _report(f"scenario_supply_chain_{name}.png"),
        f"Probability of a supply shortfall under '{name}'", "probability",
    )  # fmt: skip
    overall = summary[~summary["kpi"].str.contains(":")]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(summary),
            "fill_rate": _ci(summary, "fill_rate"),
            "stockout_days": _ci(summary, "stockout_days"),
            "demand_factor": supply.demand_factor,
            **effects_metadata(parameters.recorded_effects),
            "riskiest_supplier": riskiest,
            "supplier_risk_chart": dg.MetadataValue.path(str(chart)),
            "preview": dg.MetadataValue.md(table_preview(overall, rows=len(overall))),
        }
    )


scenario_what_if = dg.define_asset_job(
    "scenario_what_if",
    selection=dg.AssetSelection.assets(
        scenario_definition,
        scenario_revenue,
        scenario_service_queue,
        scenario_onboarding_process,
        scenario_supply_chain,
    ),
    description="Simulate one scenario (a partition) on every engine.",
)
