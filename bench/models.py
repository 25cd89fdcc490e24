"""Benchmark the forecasting and marketing-ROI models on worlds with known truth.

Run as ``uv run python -m bench.models``. Forecasting: 200 daily demand series (the 32
product-region series of worlds seeded 42, 43, ...) with three models each (seasonal naive,
AutoETS, AutoARIMA; the last two with the planned promotions and prices as known covariates)
including expanding-window cross-validation and the final refit, on two processes; the one-process throughput is measured on a 30-series subset and the speed-up
compares series per second. Quality figures are the chosen model's, averaged over series.
Revenue: the monthly recurring revenue (MRR) of 60 default-size worlds (seeds 42-101), one
24-month series each, forecast 1/3/6/12 months ahead as the ``revenue_forecaster`` asset does
(``REVENUE_CONFIG``); figures pool the worlds' CV points per horizon. A world's folds share its
market regimes, so the worlds, not the points, are the independent samples: with 20 the
coverage of one horizon moved by 0.05 between sets of seeds.
ROI: the media-mix model on the default world against the true channel ROI.
``--only revenue`` runs the revenue part alone.
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

from bench.results import machine_description, record
from ml.forecasting import (
    REVENUE_SETTINGS,
    ForecastConfig,
    ForecastResult,
    demand_series_from_orders,
    demand_truth_from_components,
    forecast_series,
    recurring_revenue,
)
from ml.marketing_roi import channel_daily_from_marketing_spend, fit_media_mix
from simulation.world import WorldConfig, generate_world

N_SERIES = 200
ONE_CORE_SUBSET = 30
DEMAND_MODELS = ("seasonal_naive", "ets", "arima")
REVENUE_WORLDS = 60
# The revenue_forecaster asset's settings (orchestration/defs/training/forecasting.py).
REVENUE_CONFIG = ForecastConfig(frequency="MS", models=DEMAND_MODELS, n_jobs=2, **REVENUE_SETTINGS)


def revenue_panel(n_worlds: int, first_seed: int = 42) -> pd.DataFrame:
    """The monthly MRR series of ``n_worlds`` default-size worlds, one series per world."""
    parts = []
    for seed in range(first_seed, first_seed + n_worlds):
        world = generate_world(WorldConfig(seed=seed))
        parts.append(
            recurring_revenue(
                world.tables["customers"],
                world.tables["subscription_events"],
                frequency="MS",
                series_id=f"w{seed}",
            )
        )
    return pd.concat(parts, ignore_index=True)


def revenue_benchmark(n_worlds: int = REVENUE_WORLDS, first_seed: int = 42) -> dict[str, float]:
    """Forecast the worlds' MRR with the asset's settings; figures pooled over the worlds."""
    started = time.perf_counter()
    series = revenue_panel(n_worlds, first_seed)
    generated = time.perf_counter() - started
    result, seconds = _timed(series, None, REVENUE_CONFIG)
    _print_summary(
        f"monthly recurring revenue: {n_worlds} worlds (generated in {generated:.1f} s), "
        f"forecast in {seconds:.1f} s",
        result,
    )
    flat = result.flat_metrics()
    chosen = result.summary()
    chosen = chosen[chosen["model"] == "selected"]
    return {
        "forecast.revenue.worlds": float(n_worlds),
        "forecast.revenue.seconds": generated + seconds,
        "forecast.revenue.mase_vs_snaive.max": flat["mase_vs_snaive_max"],
        "forecast.revenue.mase_vs_snaive_12m": flat["mase_vs_snaive_h12m"],
        "forecast.revenue.coverage95.min": flat["coverage95_min"],
        "forecast.revenue.coverage95.max": float(chosen["coverage95"].max()),
        "forecast.revenue.coverage80.min": flat["coverage80_min"],
    }


def demand_panel(n_series: int, first_seed: int = 42) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n_series`` daily demand series and their truth, from as many seeded worlds as needed."""
    series_parts, truth_parts = [], []
    seed, count = first_seed, 0
    while count < n_series:
        world = generate_world(WorldConfig(seed=seed, n_customers=2_000))
        series = demand_series_from_orders(world.tables["demand_orders"])
        truth = demand_truth_from_components(world.truth["demand_components"])
        prefix = f"w{seed}|"
        series_parts.append(series.assign(series_id=prefix + series["series_id"]))
        truth_parts.append(truth.assign(series_id=prefix + truth["series_id"]))
        count += series["series_id"].nunique()
        seed += 1
    series = pd.concat(series_parts, ignore_index=True)
    keep = sorted(series["series_id"].unique())[:n_series]
    truth = pd.concat(truth_parts, ignore_index=True)
    return series[series["series_id"].isin(keep)], truth[truth["series_id"].isin(keep)]


def _subset(frame: pd.DataFrame, n_series: int) -> pd.DataFrame:
    keep = sorted(frame["series_id"].unique())[:n_series]
    return frame[frame["series_id"].isin(keep)]


def _timed(
    series: pd.DataFrame, truth: pd.DataFrame | None, config: ForecastConfig
) -> tuple[ForecastResult, float]:
    started = time.perf_counter()
    result = forecast_series(series, config, truth)
    return result, time.perf_counter() - started


def _print_summary(title: str, result: ForecastResult) -> None:
    columns = ["model", "horizon", "mase_vs_snaive", "coverage80", "coverage95"]
    columns += ["noise_floor_ratio", "oracle_rmse_ratio", "n_series"]
    print(f"\n{title}")
    print(result.summary()[columns].round(3).to_string(index=False))
    print("chosen:", result.selection["chosen_model"].value_counts().to_dict())


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=N_SERIES, help="demand series to forecast")
    parser.add_argument("--no-record", action="store_true", help="print only")
    parser.add_argument(
        "--only", choices=("revenue",), help="run one part alone (the demand part takes minutes)"
    )
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # progress shows when piped to a log
    print(f"models benchmark on {machine_description()}")
    if args.only == "revenue":
        figures = revenue_benchmark()
    else:
        figures = _demand_and_roi(args.series) | revenue_benchmark()
    print()
    for name, value in figures.items():
        print(f"{name}: {value:.4f}")
    if not args.no_record:
        record(figures)
    return figures


def _demand_and_roi(n_series: int) -> dict[str, float]:
    series, truth = demand_panel(n_series)
    two_cores = ForecastConfig(models=DEMAND_MODELS, n_jobs=2)
    one_core = two_cores.model_copy(update={"n_jobs": 1})
    # Warm-up: statsforecast compiles its numba kernels on first use in every process.
    _timed(_subset(series, 2), None, two_cores)
    _timed(_subset(series, 1), None, one_core)

    subset = _subset(series, ONE_CORE_SUBSET)
    n_subset = subset["series_id"].nunique()
    _, one_core_seconds = _timed(subset, None, one_core)
    result, two_core_seconds = _timed(series, truth, two_cores)
    n_total = series["series_id"].nunique()
    speedup = (one_core_seconds / n_subset) / (two_core_seconds / n_total)
    _print_summary(f"demand: {n_total} series, 2 processes, {two_core_seconds:.1f} s", result)
    print(
        f"1 process: {n_subset} series in {one_core_seconds:.1f} s; "
        f"speed-up of 2 processes: {speedup:.2f}x"
    )
    flat = result.flat_metrics()

    # The LightGBM reduction (with ConformalIntervals) is the slow candidate: a small sample.
    lightgbm_config = ForecastConfig(models=("seasonal_naive", "lightgbm"), n_jobs=2)
    lightgbm_series = _subset(series, 10)
    lightgbm, lightgbm_seconds = _timed(lightgbm_series, truth, lightgbm_config)
    _print_summary(f"LightGBM reduction: 10 series, {lightgbm_seconds:.1f} s", lightgbm)

    world = generate_world(WorldConfig())
    started = time.perf_counter()
    roi = fit_media_mix(
        channel_daily_from_marketing_spend(world.tables["marketing_spend"]),
        truth=world.truth["marketing_channels"],
    )
    roi_seconds = time.perf_counter() - started
    print(f"\nROI ({roi_seconds:.2f} s):")
    print(roi.comparison.round(3).to_string(index=False))

    figures = {
        "forecast.200_series.seconds": two_core_seconds,
        "forecast.200_series.speedup_vs_1core": speedup,
        "forecast.1core_30_series.seconds": one_core_seconds,
        "forecast.mase_vs_snaive.max": flat["mase_vs_snaive_max"],
        "forecast.coverage95.min": flat["coverage95_min"],
        "forecast.coverage80.min": flat["coverage80_min"],
        "forecast.noise_floor_ratio_30d": flat["noise_floor_ratio_h30d"],
        "forecast.oracle_rmse_ratio_30d": flat["oracle_rmse_ratio_h30d"],
        "forecast.lightgbm_10_series.seconds": lightgbm_seconds,
        "roi.max_abs_rel_error": roi.max_abs_rel_error,
        "roi.seconds": roi_seconds,
    }
    if n_series != N_SERIES:  # the headline figures are defined at 200 series
        figures = {k: v for k, v in figures.items() if not k.startswith("forecast.200_series")}
    return figures


if __name__ == "__main__":
    main()
