"""Monte Carlo of the business, driven by the champion models, run on Ray."""

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

from ml.plots import fan_chart_png
from orchestration.defs.simulation.champion_revenue import champion_revenue_model
from orchestration.metadata import table_preview
from orchestration.paths import StatePaths
from orchestration.resources import MlflowResource, RayResource, WarehouseResource
from orchestration.warehouse_reads import CHURN_FEATURES_DEP, replace_results_table
from simulation.engines.finance import make_revenue_task, summarise_revenue_risk
from simulation.parallel import run_chunked


class RevenueForecastConfig(dg.Config):
    """Size and seed of the revenue Monte Carlo."""

    n_paths: int = Field(default=20_000, description="Simulated revenue paths.")
    horizon_months: int = Field(default=12, description="Months ahead.")
    paths_per_chunk: int = Field(default=5_000, description="Paths per Ray task (coarse tasks).")
    seed: int = Field(default=2024, description="Root seed; the same seed gives identical paths.")
    plan_growth_pct: float = Field(
        default=1.0, description="Planned monthly revenue growth, for P(miss plan)."
    )


@dg.asset(
    deps=["churn_model", CHURN_FEATURES_DEP, dg.AssetKey(["raw", "customers"])],
    group_name="simulation",
    kinds={"ray", "duckdb"},
    pool="warehouse",
)
def revenue_forecast(
    context: dg.AssetExecutionContext,
    config: RevenueForecastConfig,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
    ray: RayResource,
) -> dg.MaterializeResult:
    """Monthly revenue percentiles (P5/P50/P95) for the next months, in results.revenue_forecast.

    Churn per segment comes from `churn_lgbm@champion` scoring today's customers.
    """
    champion = champion_revenue_model(warehouse, mlflow)
    revenue_model, version, as_of = champion.model, champion.champion_version, champion.as_of
    ray.ensure_started()
    paths = run_chunked(
        make_revenue_task(revenue_model, config.horizon_months),
        n_total=config.n_paths,
        chunk_size=config.paths_per_chunk,
        seed=config.seed,
    )
    plan = champion.current_monthly_revenue * (1 + config.plan_growth_pct / 100) ** np.arange(
        1, config.horizon_months + 1
    )
    risk = summarise_revenue_risk(paths, plan)
    months = pd.date_range(as_of + pd.Timedelta(days=1), periods=config.horizon_months, freq="MS")
    p5, p50, p95 = risk.p5, risk.p50, risk.p95
    table = pd.DataFrame(
        {
            "month_start": months.astype("datetime64[s]"),
            "revenue_p5": p5,
            "revenue_p50": p50,
            "revenue_p95": p95,
            "revenue_mean": paths.mean(axis=0),
            "plan": plan,
            "champion_version": str(version),
            "n_paths": config.n_paths,
            "seed": config.seed,
        }
    )
    with warehouse.connect() as con:
        replace_results_table(con, "revenue_forecast", table)
    reports = StatePaths.from_env().reports
    reports.mkdir(parents=True, exist_ok=True)
    chart = fan_chart_png(
        months,
        p5,
        p50,
        p95,
        reports / "revenue_forecast.png",
        "Monthly revenue forecast (champion churn model)",
        "revenue",
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            "champion_version": str(version),
            "probability_of_missing_plan": risk.probability_of_missing_plan,
            "expected_total_revenue": risk.expected_total_revenue,
            "cvar_5pct_total_revenue": risk.cvar_5pct_total_revenue,
            "fan_chart": dg.MetadataValue.path(str(chart)),
            "preview": dg.MetadataValue.md(table_preview(table, rows=12)),
        }
    )
