"""Demand and revenue forecasters and the marketing ROI model, tracked and registered in MLflow."""

from typing import Literal

import dagster as dg
from pydantic import Field

from ml.forecasting import (
    REVENUE_SETTINGS,
    ForecastConfig,
    demand_series_from_orders,
    demand_truth_from_components,
    forecast_series,
    recurring_revenue,
)
from ml.marketing_roi import MediaMixConfig, fit_media_mix
from ml.tracking_forecast import log_forecast_training, log_marketing_roi
from orchestration.defs.training.run_tags import registered_model_metadata, training_run_tags
from orchestration.metadata import table_preview
from orchestration.resources import MlflowResource, WarehouseResource

DEMAND_SERIES = dg.AssetKey(["features", "demand_series"])
MARKETING_CHANNEL_DAILY = dg.AssetKey(["features", "marketing_channel_daily"])


class ForecasterConfig(dg.Config):
    """Launchpad knobs of a forecaster (see ml.forecasting.ForecastConfig)."""

    horizons: list[int] | None = Field(
        default=None,
        description="Horizons in steps; default 30/90/180/365 days or 1/3/6/12 months.",
    )
    cv_folds: int = Field(default=3, description="Expanding-window folds.")
    n_jobs: int = Field(default=2, description="Processes over series.")


class RevenueForecasterConfig(ForecasterConfig):
    frequency: Literal["D", "MS"] = Field(
        default="MS", description="Monthly ('MS') or daily ('D') recurring revenue."
    )
    # None scores 1, 3, 6 and 12 months: two years of months give 12 months ahead one fold,
    # trained on the first year (seasons need two years, so the fits drop them; see
    # ml.forecasting.make_forecaster).
    horizons: list[int] | None = Field(
        default=None,
        description="Horizons in steps; default 1/3/6/12 months (30/90/180/365 days if daily).",
    )


def _forecast_config(config: ForecasterConfig, frequency: str, **settings) -> ForecastConfig:
    horizons = tuple(config.horizons) if config.horizons else None
    return ForecastConfig(
        frequency=frequency,
        horizons=horizons,
        cv_folds=config.cv_folds,
        n_jobs=config.n_jobs,
        **settings,
    )


def _forecast_metadata(result, registered, mlflow: MlflowResource) -> dict:
    metrics = result.flat_metrics()
    headline = {k: metrics[k] for k in ("mase_vs_snaive_max", "coverage95_min", "coverage80_min")}
    return {
        **registered_model_metadata(mlflow, registered),
        "series": len(result.selection),
        "metrics": dg.MetadataValue.json(headline),
        "summary": dg.MetadataValue.md(table_preview(result.summary(), rows=20)),
    }


@dg.asset(
    deps=[DEMAND_SERIES, "world_ground_truth"],
    group_name="training",
    kinds={"sktime", "mlflow"},
    pool="warehouse",
)
def demand_forecaster(
    context: dg.AssetExecutionContext,
    config: ForecasterConfig,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    """Per product and region: seasonal naive, ETS and ARIMA (promo and price effects divided out) by temporal CV, best by MASE, with 80/95 % intervals."""
    with warehouse.connect(read_only=True) as con:
        # Promotions and prices are planned, so they are known-in-advance covariates.
        orders = con.execute(
            "select order_date as date, product_id, region, orders, unit_price, is_promo "
            "from features.demand_series"
        ).df()
        truth = con.execute("select * from truth.demand_components").df()
        tags = training_run_tags(context, con)
    result = forecast_series(
        demand_series_from_orders(orders),
        _forecast_config(config, "D"),
        truth=demand_truth_from_components(truth),
    )
    registered = log_forecast_training(mlflow.settings, result, "demand", tags)
    return dg.MaterializeResult(metadata=_forecast_metadata(result, registered, mlflow))


@dg.asset(
    deps=[dg.AssetKey(["raw", "subscription_events"]), dg.AssetKey(["raw", "customers"])],
    group_name="training",
    kinds={"sktime", "mlflow"},
    pool="warehouse",
)
def revenue_forecaster(
    context: dg.AssetExecutionContext,
    config: RevenueForecasterConfig,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    """Monthly recurring revenue (MRR: the monthly-equivalent prices of the active customers; the
    month's daily mean, i.e. the revenue recognised in it), monthly by default.

    Same candidates and CV as demand; ETS and ARIMA intervals are widened to their backtests'
    errors, and the model is chosen by the 95 % interval score (ml.forecasting.ForecastConfig).
    """
    with warehouse.connect(read_only=True) as con:
        customers = con.execute(
            "select customer_id, signup_date, monthly_price from raw.customers"
        ).df()
        events = con.execute(
            "select customer_id, event_date, event_type, monthly_price from raw.subscription_events"
        ).df()
        tags = training_run_tags(context, con)
    series = recurring_revenue(customers, events, frequency=config.frequency)
    result = forecast_series(series, _forecast_config(config, config.frequency, **REVENUE_SETTINGS))
    registered = log_forecast_training(mlflow.settings, result, "revenue", tags)
    return dg.MaterializeResult(metadata=_forecast_metadata(result, registered, mlflow))


@dg.asset(
    deps=[MARKETING_CHANNEL_DAILY, "world_ground_truth"],
    group_name="training",
    kinds={"mlflow"},
    pool="warehouse",
)
def marketing_roi(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource
) -> dg.MaterializeResult:
    """Media-mix model per channel (adstock, saturation): ROI by channel, against the world's truth."""
    with warehouse.connect(read_only=True) as con:
        channel_daily = con.execute(
            "select spend_date as date, channel, spend, conversions from features.marketing_channel_daily"
        ).df()
        truth = con.execute("select * from truth.marketing_channels").df()
        tags = training_run_tags(context, con)
    result = fit_media_mix(channel_daily, MediaMixConfig(), truth=truth)
    registered = log_marketing_roi(mlflow.settings, result, tags)
    return dg.MaterializeResult(
        metadata={
            **registered_model_metadata(mlflow, registered),
            "max_abs_rel_error_vs_truth": result.max_abs_rel_error,
            "roi_by_channel": dg.MetadataValue.md(table_preview(result.channels, rows=10)),
        }
    )
