"""Per-series demand and revenue forecasting with sktime: candidates, temporal CV, selection.

For every series the candidates (seasonal naive, AutoETS and AutoARIMA on the statsforecast
backend, a LightGBM reduction forecaster with conformal intervals) are scored by temporal
cross-validation on an expanding window. The cutoffs are spread so that the longest horizon
has one complete fold and the shortest has ``cv_folds``; every fold forecasts as far as the
data allows, and a horizon's metrics use the first ``h`` steps of every fold that reaches
``h``. The candidate with the lowest mean MASE against seasonal naive over the horizons is
refitted on the whole series and forecasts the longest horizon with 80 % and 95 % intervals.

Inputs are plain long frames (``series_id``, ``date``, ``value``), so the raw world tables and
the dbt marts (``features.demand_series``) feed the same code.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from pydantic import BaseModel, ConfigDict, Field, model_validator

ModelName = Literal["seasonal_naive", "ets", "arima", "lightgbm"]
BASELINE: ModelName = "seasonal_naive"
SELECTED = "selected"
COVERAGES: tuple[float, float] = (0.8, 0.95)
DAILY_HORIZONS: tuple[int, ...] = (30, 90, 180, 365)
MONTHLY_HORIZONS: tuple[int, ...] = (1, 3, 6, 12)
METRIC_COLUMNS: tuple[str, ...] = (
    "mae",
    "rmse",
    "mase",
    "mase_vs_snaive",
    "coverage80",
    "coverage95",
    "width95",
    "noise_floor_ratio",
    "oracle_rmse_ratio",
)


class ForecastConfig(BaseModel):
    """Knobs of one forecasting run (logged to MLflow as params)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    frequency: Literal["D", "MS"] = Field(
        default="D", description="Daily ('D') or month-start ('MS') series."
    )
    horizons: tuple[int, ...] | None = Field(
        default=None,
        description="Horizons scored, in steps. None: 30/90/180/365 days or 1/3/6/12 months.",
    )
    season_length: int | None = Field(
        default=None, ge=1, description="Seasonal period. None: 7 for daily, 12 for monthly."
    )
    models: tuple[ModelName, ...] = Field(
        default=("seasonal_naive", "ets", "arima"),
        description="Candidates. Seasonal naive is always scored, as the MASE baseline.",
    )
    cv_folds: int = Field(
        default=3, ge=1, description="Expanding-window folds (the shortest horizon gets all)."
    )
    min_train_size: int | None = Field(
        default=None,
        ge=2,
        description="Shortest training window of a fold. None: 8 seasons daily, 18 months.",
    )
    lightgbm_window: int | None = Field(
        default=None, ge=1, description="Lags the LightGBM reduction sees. None: 2 seasons."
    )
    lightgbm_estimators: int = Field(default=40, ge=5, description="LightGBM boosting rounds.")
    conformal_refits: int = Field(
        default=6,
        ge=2,
        description="Refits ConformalIntervals uses to collect the LightGBM residuals.",
    )
    ets_model: str = Field(
        default="ZZA",
        description="statsforecast ETS spec (error, trend, season); additive seasons fit twice "
        "as fast as 'ZZZ' and suit demand whose weekly swing is a small share of the level.",
    )
    n_jobs: int = Field(default=1, ge=1, description="Processes over series (joblib, loky).")
    seed: int = Field(default=0, ge=0, description="Seed of LightGBM and the conformal sample.")

    @model_validator(mode="after")
    def _horizons_sorted(self) -> ForecastConfig:
        if self.horizons is not None and (
            not self.horizons or list(self.horizons) != sorted(set(self.horizons))
        ):
            raise ValueError(f"horizons must be increasing and unique, got {self.horizons}")
        if self.horizons is not None and self.horizons[0] < 1:
            raise ValueError("horizons are steps ahead and start at 1")
        return self

    @property
    def scored_horizons(self) -> tuple[int, ...]:
        if self.horizons is not None:
            return self.horizons
        return DAILY_HORIZONS if self.frequency == "D" else MONTHLY_HORIZONS

    @property
    def period(self) -> int:
        if self.season_length is not None:
            return self.season_length
        return 7 if self.frequency == "D" else 12

    @property
    def min_train(self) -> int:
        if self.min_train_size is not None:
            return self.min_train_size
        # Monthly: a season plus six months, so seasonal naive has residuals for its intervals.
        return 8 * self.period if self.frequency == "D" else self.period + 6

    @property
    def candidates(self) -> tuple[ModelName, ...]:
        """The configured models with the baseline first (it is needed for MASE)."""
        return (BASELINE, *[name for name in self.models if name != BASELINE])

    @property
    def unit(self) -> str:
        return "d" if self.frequency == "D" else "m"


@dataclass
class ForecastResult:
    """Cross-validated metrics, the model chosen per series and its forecast."""

    config: ForecastConfig
    # One row per series, model (candidates plus "selected") and horizon.
    metrics: pd.DataFrame
    # series_id, chosen_model, cv_score (mean MASE vs seasonal naive over the horizons).
    selection: pd.DataFrame
    # series_id, date, model, mean, lower_80, upper_80, lower_95, upper_95.
    forecasts: pd.DataFrame
    # The chosen forecaster of every series, refitted on the whole series.
    fitted_models: dict[str, Any] = field(repr=False)
    # series_id, date, value: the history the final models saw (for fan charts).
    history: pd.DataFrame = field(repr=False)

    def summary(self) -> pd.DataFrame:
        """Per model and horizon: ratios averaged over series, coverage pooled over points."""
        grouped = self.metrics.groupby(["model", "horizon"], sort=False)
        summary = grouped[list(METRIC_COLUMNS)].mean()
        summary["n_series"] = grouped["series_id"].nunique()
        summary["mase_vs_snaive_max_series"] = grouped["mase_vs_snaive"].max()
        return summary.reset_index()

    def flat_metrics(self) -> dict[str, float]:
        """MLflow metrics with stable names: `<model>_<metric>_<h><unit>` (e.g. ets_mase_h30d).

        The chosen-model figures carry no prefix, e.g. ``mase_vs_snaive_h30d``, plus the
        headline figures ``mase_vs_snaive_max`` and ``coverage95_min`` over horizons.
        """
        flat: dict[str, float] = {}
        summary = self.summary()
        for row in summary.itertuples(index=False):
            prefix = "" if row.model == SELECTED else f"{row.model}_"
            for name in METRIC_COLUMNS:
                value = float(getattr(row, name))
                if np.isfinite(value):
                    flat[f"{prefix}{name}_h{row.horizon}{self.config.unit}"] = value
        chosen = summary[summary["model"] == SELECTED]
        flat["mase_vs_snaive_max"] = float(chosen["mase_vs_snaive"].max())
        flat["coverage95_min"] = float(chosen["coverage95"].min())
        flat["coverage80_min"] = float(chosen["coverage80"].min())
        flat["n_series"] = float(self.selection.shape[0])
        return flat


@contextmanager
def quiet_sktime() -> Iterator[None]:
    """Silence sktime's FutureWarnings and adapter chatter around construction and fitting.

    sktime re-inserts a ``default`` filter for FutureWarning while it runs, which overrides a
    global ignore and even a local one (e.g. in the clones ConformalIntervals makes). So the
    warnings are recorded rather than printed, and only those from other code are re-issued.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=r".*copy.*keyword.*")
        yield
    for warning in caught:
        chatter = issubclass(warning.category, FutureWarning | DeprecationWarning) or any(
            f"{package}/" in warning.filename.replace("\\", "/")
            for package in ("sktime", "statsforecast")
        )
        if not chatter:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )


def demand_series_from_orders(demand_orders: pd.DataFrame) -> pd.DataFrame:
    """Daily orders per product and region as a long frame (series_id = ``P01|north``)."""
    _require_columns(demand_orders, ("date", "product_id", "region", "orders"), "demand_orders")
    frame = pd.DataFrame(
        {
            "series_id": demand_orders["product_id"].astype(str)
            + "|"
            + demand_orders["region"].astype(str),
            "date": pd.to_datetime(demand_orders["date"]),
            "value": demand_orders["orders"].astype(float),
        }
    )
    return frame.groupby(["series_id", "date"], as_index=False)["value"].sum()


def demand_truth_from_components(demand_components: pd.DataFrame) -> pd.DataFrame:
    """The world's expected orders and noise sd per series-day, keyed like the series."""
    _require_columns(
        demand_components,
        ("date", "product_id", "region", "expected_orders", "noise_sd"),
        "demand_components",
    )
    return pd.DataFrame(
        {
            "series_id": demand_components["product_id"].astype(str)
            + "|"
            + demand_components["region"].astype(str),
            "date": pd.to_datetime(demand_components["date"]),
            "expected": demand_components["expected_orders"].astype(float),
            "noise_sd": demand_components["noise_sd"].astype(float),
        }
    )


def _charges(subscription_events: pd.DataFrame) -> pd.DataFrame:
    """The charge events, which carry the revenue; an error when there are none."""
    _require_columns(
        subscription_events, ("event_date", "event_type", "amount"), "subscription_events"
    )
    charges = subscription_events[subscription_events["event_type"] == "charge"]
    if charges.empty:
        raise ValueError("subscription_events holds no charge events: no revenue to forecast")
    return charges


def daily_revenue_from_charges(
    subscription_events: pd.DataFrame, series_id: str = "subscription_revenue"
) -> pd.DataFrame:
    """Daily sum of charged amounts as one daily series, with zero on days without charges."""
    charges = _charges(subscription_events)
    revenue = (
        charges["amount"]
        .astype(float)
        .groupby(pd.to_datetime(charges["event_date"]).dt.normalize())
        .sum()
    )
    days = pd.date_range(revenue.index.min(), revenue.index.max(), freq="D")
    revenue = revenue.reindex(days, fill_value=0.0)
    return pd.DataFrame(
        {"series_id": series_id, "date": revenue.index, "value": revenue.to_numpy()}
    )


def monthly_revenue_from_charges(
    subscription_events: pd.DataFrame, series_id: str = "subscription_revenue"
) -> pd.DataFrame:
    """Monthly sum of charged amounts (event_type == 'charge') as one monthly series."""
    charges = _charges(subscription_events)
    month = pd.to_datetime(charges["event_date"]).dt.to_period("M").dt.to_timestamp()
    revenue = charges["amount"].astype(float).groupby(month).sum()
    return pd.DataFrame(
        {"series_id": series_id, "date": revenue.index, "value": revenue.to_numpy()}
    ).reset_index(drop=True)


def forecast_series(
    series: pd.DataFrame,
    config: ForecastConfig | None = None,
    truth: pd.DataFrame | None = None,
) -> ForecastResult:
    """Cross-validate every candidate on every series, pick one per series and forecast.

    ``series`` is long: ``series_id``, ``date``, ``value``; dates must be complete at the
    configured frequency. ``truth`` (optional) has ``series_id``, ``date``, ``expected`` and
    ``noise_sd``; it adds the noise-floor ratio (model RMSE over the RMS noise sd) and the
    oracle ratio (model RMSE over the RMSE of the true expectation) to the metrics.
    """
    config = config or ForecastConfig()
    panel = _validated_panel(series, config)
    truth_by_series = _truth_by_series(truth) if truth is not None else {}
    tasks = [
        (series_id, values, truth_by_series.get(series_id)) for series_id, values in panel.items()
    ]
    if config.n_jobs == 1:
        outcomes = [_forecast_one(series_id, y, t, config) for series_id, y, t in tasks]
    else:
        # One series per task: workers never share a random stream, and each model is seeded.
        outcomes = Parallel(n_jobs=config.n_jobs, backend="loky")(
            delayed(_forecast_one)(series_id, y, t, config) for series_id, y, t in tasks
        )
    metrics = pd.concat([outcome.metrics for outcome in outcomes], ignore_index=True)
    selection = pd.DataFrame(
        {
            "series_id": [outcome.series_id for outcome in outcomes],
            "chosen_model": [outcome.chosen_model for outcome in outcomes],
            "cv_score": [outcome.cv_score for outcome in outcomes],
        }
    )
    forecasts = pd.concat([outcome.forecast for outcome in outcomes], ignore_index=True)
    history = pd.concat(
        [
            pd.DataFrame({"series_id": sid, "date": _timestamps(y.index), "value": y.to_numpy()})
            for sid, y in panel.items()
        ],
        ignore_index=True,
    )
    return ForecastResult(
        config=config,
        metrics=metrics,
        selection=selection,
        forecasts=forecasts,
        fitted_models={outcome.series_id: outcome.model for outcome in outcomes},
        history=history,
    )


def make_forecaster(name: ModelName, config: ForecastConfig, n_train: int) -> Any:
    """A fresh sktime forecaster for candidate ``name`` on a training window of ``n_train``."""
    from lightgbm import LGBMRegressor
    from sktime.forecasting.compose import make_reduction
    from sktime.forecasting.conformal import ConformalIntervals
    from sktime.forecasting.naive import NaiveForecaster
    from sktime.forecasting.statsforecast import StatsForecastAutoARIMA, StatsForecastAutoETS

    period = config.period
    with quiet_sktime():
        if name == "seasonal_naive":
            return NaiveForecaster(strategy="last", sp=period)
        if name == "ets":
            # The statsforecast backend: sktime's statsmodels AutoETS cannot simulate intervals
            # for multiplicative models with statsmodels 0.15 (sktime#10968).
            return StatsForecastAutoETS(season_length=period, model=config.ets_model)
        if name == "arima":
            # Small seasonal orders keep the stepwise search well under a second per fit.
            return StatsForecastAutoARIMA(sp=period, max_p=3, max_q=3, max_P=1, max_Q=1)
        if name == "lightgbm":
            window = config.lightgbm_window or 2 * period
            regressor = LGBMRegressor(
                n_estimators=config.lightgbm_estimators,
                num_leaves=15,
                learning_rate=0.1,
                min_child_samples=10,
                random_state=config.seed,
                deterministic=True,
                n_jobs=1,  # parallelism is over series; threads would oversubscribe the cores
                verbose=-1,
            )
            reduction = make_reduction(regressor, window_length=window, strategy="recursive")
            # Residuals come from refits at a seeded sample of cutoffs in the second half of
            # the window; a reduction forecaster has no intervals of its own.
            initial = max(window + 2, n_train // 2)
            fraction = min(1.0, config.conformal_refits / max(1, n_train - initial))
            return ConformalIntervals(
                reduction, method="conformal", initial_window=initial, sample_frac=fraction
            )
    raise ValueError(f"unknown forecasting model {name!r}")


# --- internals -------------------------------------------------------------------------------


@dataclass
class _SeriesOutcome:
    series_id: str
    metrics: pd.DataFrame
    chosen_model: str
    cv_score: float
    forecast: pd.DataFrame
    model: Any


@dataclass
class _FoldForecasts:
    """Stacked CV forecasts of one model: one row per (fold, step)."""

    step: np.ndarray
    reach: np.ndarray  # how many steps the row's fold forecast
    actual: np.ndarray
    mean: np.ndarray
    lower: dict[float, np.ndarray]
    upper: dict[float, np.ndarray]
    scale: np.ndarray  # the fold's in-sample seasonal-naive MAE (the MASE denominator)
    expected: np.ndarray | None
    noise_sd: np.ndarray | None


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks columns {missing}; it has {list(frame.columns)}")


def _validated_panel(series: pd.DataFrame, config: ForecastConfig) -> dict[str, pd.Series]:
    """One regular, gap-free float series per id, long enough for the CV design."""
    _require_columns(series, ("series_id", "date", "value"), "series")
    if series.empty:
        raise ValueError("series is empty: nothing to forecast")
    needed = config.scored_horizons[-1] + config.min_train
    panel: dict[str, pd.Series] = {}
    for series_id, group in series.groupby("series_id", sort=True):
        dates = pd.DatetimeIndex(pd.to_datetime(group["date"])).as_unit("us")
        values = pd.Series(group["value"].to_numpy(dtype=float), index=dates).sort_index()
        if values.index.has_duplicates:
            raise ValueError(f"series {series_id!r} has duplicate dates")
        if not np.isfinite(values.to_numpy()).all():
            raise ValueError(f"series {series_id!r} has missing or infinite values")
        regular = values.asfreq(config.frequency)
        if len(regular) != len(values) or regular.isna().any():
            raise ValueError(
                f"series {series_id!r} is not a gap-free {config.frequency!r} series "
                f"({len(values)} values, {len(regular)} periods from first to last date)"
            )
        if len(regular) < needed:
            raise ValueError(
                f"series {series_id!r} is too short: {len(regular)} observations, need at least "
                f"{needed} (longest horizon {config.scored_horizons[-1]} + minimum training "
                f"window {config.min_train}); shorten the horizons or supply more history"
            )
        if config.frequency == "MS":
            # sktime's seasonal naive cannot turn month-start timestamps into periods
            # (pandas 3 MonthBegin has no period code), so monthly series use a PeriodIndex.
            regular.index = regular.index.to_period("M")
        panel[str(series_id)] = regular
    return panel


def _timestamps(index: pd.Index) -> pd.DatetimeIndex:
    """Dates of a daily DatetimeIndex or a monthly PeriodIndex (month starts)."""
    if isinstance(index, pd.PeriodIndex):
        return index.to_timestamp(how="start").as_unit("us")
    return pd.DatetimeIndex(index)


def _truth_by_series(truth: pd.DataFrame) -> dict[str, pd.DataFrame]:
    _require_columns(truth, ("series_id", "date", "expected", "noise_sd"), "truth")
    frame = truth.assign(date=pd.DatetimeIndex(pd.to_datetime(truth["date"])).as_unit("us"))
    return {
        str(series_id): group.set_index("date")[["expected", "noise_sd"]].sort_index()
        for series_id, group in frame.groupby("series_id", sort=False)
    }


def _cutoffs(n_obs: int, config: ForecastConfig) -> list[int]:
    """Training-window lengths of the CV folds, from an sktime ExpandingWindowSplitter.

    The first fold leaves exactly the longest horizon after it; the folds step so that the
    last one leaves the shortest horizon.
    """
    from sktime.forecasting.model_selection import ExpandingWindowSplitter

    shortest, longest = config.scored_horizons[0], config.scored_horizons[-1]
    step = max(1, (longest - shortest) // max(1, config.cv_folds - 1))
    splitter = ExpandingWindowSplitter(
        initial_window=n_obs - longest,
        step_length=step,
        fh=np.arange(1, shortest + 1),
    )
    positions = np.arange(n_obs)
    lengths = [len(train) for train, _ in splitter.split(positions)]
    return lengths[: config.cv_folds]


def _fit_predict(
    name: ModelName, config: ForecastConfig, y_train: pd.Series, steps: int
) -> tuple[np.ndarray, dict[float, np.ndarray], dict[float, np.ndarray], Any]:
    """Fit on ``y_train`` and forecast ``steps`` ahead with both interval levels."""
    from sktime.forecasting.base import ForecastingHorizon

    fh = ForecastingHorizon(np.arange(1, steps + 1), is_relative=True)
    forecaster = make_forecaster(name, config, len(y_train))
    with quiet_sktime():
        # ConformalIntervals samples its cutoffs from numpy's legacy global state: seed it
        # for this call only, so results are reproducible and the caller's state is kept.
        state = np.random.get_state()
        np.random.seed(config.seed)
        try:
            forecaster.fit(y_train, fh=fh)
            mean = forecaster.predict(fh).to_numpy(dtype=float)
            intervals = forecaster.predict_interval(fh, coverage=list(COVERAGES))
        finally:
            np.random.set_state(state)
    lower: dict[float, np.ndarray] = {}
    upper: dict[float, np.ndarray] = {}
    for coverage in COVERAGES:
        columns = [c for c in intervals.columns if np.isclose(float(c[1]), coverage)]
        block = intervals[columns]
        lower[coverage] = block.xs("lower", axis=1, level=2).iloc[:, 0].to_numpy(dtype=float)
        upper[coverage] = block.xs("upper", axis=1, level=2).iloc[:, 0].to_numpy(dtype=float)
    if not (np.isfinite(mean).all() and all(np.isfinite(v).all() for v in lower.values())):
        raise RuntimeError(f"{name} produced non-finite forecasts on a {len(y_train)}-step window")
    return mean, lower, upper, forecaster


def _cross_validate(
    name: ModelName,
    y: pd.Series,
    truth: pd.DataFrame | None,
    config: ForecastConfig,
) -> _FoldForecasts:
    period = config.period
    parts: dict[str, list[np.ndarray]] = {
        key: [] for key in ("step", "reach", "actual", "mean", "scale", "expected", "noise_sd")
    }
    lowers: dict[float, list[np.ndarray]] = {c: [] for c in COVERAGES}
    uppers: dict[float, list[np.ndarray]] = {c: [] for c in COVERAGES}
    values = y.to_numpy(dtype=float)
    for n_train in _cutoffs(len(y), config):
        reach = min(config.scored_horizons[-1], len(y) - n_train)
        mean, lower, upper, _ = _fit_predict(name, config, y.iloc[:n_train], reach)
        train = values[:n_train]
        scale = float(np.mean(np.abs(train[period:] - train[:-period])))
        parts["step"].append(np.arange(1, reach + 1))
        parts["reach"].append(np.full(reach, reach))
        parts["actual"].append(values[n_train : n_train + reach])
        parts["mean"].append(mean)
        parts["scale"].append(np.full(reach, scale if scale > 0 else np.nan))
        if truth is not None:
            window = truth.reindex(_timestamps(y.index[n_train : n_train + reach]))
            parts["expected"].append(window["expected"].to_numpy(dtype=float))
            parts["noise_sd"].append(window["noise_sd"].to_numpy(dtype=float))
        for coverage in COVERAGES:
            lowers[coverage].append(lower[coverage])
            uppers[coverage].append(upper[coverage])
    return _FoldForecasts(
        step=np.concatenate(parts["step"]),
        reach=np.concatenate(parts["reach"]),
        actual=np.concatenate(parts["actual"]),
        mean=np.concatenate(parts["mean"]),
        lower={c: np.concatenate(v) for c, v in lowers.items()},
        upper={c: np.concatenate(v) for c, v in uppers.items()},
        scale=np.concatenate(parts["scale"]),
        expected=np.concatenate(parts["expected"]) if truth is not None else None,
        noise_sd=np.concatenate(parts["noise_sd"]) if truth is not None else None,
    )


def _horizon_metrics(
    folds: _FoldForecasts, baseline: _FoldForecasts, horizon: int
) -> dict[str, float]:
    """Metrics over the first ``horizon`` steps of every fold that forecast that far."""
    rows = (folds.reach >= horizon) & (folds.step <= horizon)
    actual, mean = folds.actual[rows], folds.mean[rows]
    errors = mean - actual
    baseline_mae = float(np.mean(np.abs(baseline.mean[rows] - actual)))
    mae = float(np.mean(np.abs(errors)))
    rmse = float(np.sqrt(np.mean(errors**2)))
    metrics = {
        "mae": mae,
        "rmse": rmse,
        "mase": float(np.nanmean(np.abs(errors) / folds.scale[rows])),
        "mase_vs_snaive": mae / baseline_mae if baseline_mae > 0 else np.nan,
        "coverage80": float(
            np.mean((actual >= folds.lower[0.8][rows]) & (actual <= folds.upper[0.8][rows]))
        ),
        "coverage95": float(
            np.mean((actual >= folds.lower[0.95][rows]) & (actual <= folds.upper[0.95][rows]))
        ),
        "width95": float(np.mean(folds.upper[0.95][rows] - folds.lower[0.95][rows])),
        "noise_floor_ratio": np.nan,
        "oracle_rmse_ratio": np.nan,
    }
    if folds.expected is not None and folds.noise_sd is not None:
        noise_rms = float(np.sqrt(np.nanmean(folds.noise_sd[rows] ** 2)))
        oracle_rmse = float(np.sqrt(np.nanmean((folds.expected[rows] - actual) ** 2)))
        metrics["noise_floor_ratio"] = rmse / noise_rms if noise_rms > 0 else np.nan
        metrics["oracle_rmse_ratio"] = rmse / oracle_rmse if oracle_rmse > 0 else np.nan
    return metrics


def _forecast_one(
    series_id: str, y: pd.Series, truth: pd.DataFrame | None, config: ForecastConfig
) -> _SeriesOutcome:
    """CV every candidate on one series, choose by mean MASE vs seasonal naive, refit, forecast."""
    with quiet_sktime():
        folds = {name: _cross_validate(name, y, truth, config) for name in config.candidates}
    records: list[dict[str, Any]] = []
    for name, model_folds in folds.items():
        for horizon in config.scored_horizons:
            records.append(
                {"series_id": series_id, "model": name, "horizon": horizon}
                | _horizon_metrics(model_folds, folds[BASELINE], horizon)
            )
    metrics = pd.DataFrame.from_records(records)
    score = metrics.groupby("model", sort=False)["mase_vs_snaive"].mean()
    # Ties (and all-NaN scores) go to the earlier candidate, i.e. the baseline.
    chosen = str(score.fillna(np.inf).idxmin())
    chosen_rows = metrics[metrics["model"] == chosen].assign(model=SELECTED)
    metrics = pd.concat([metrics, chosen_rows], ignore_index=True)

    longest = config.scored_horizons[-1]
    mean, lower, upper, model = _fit_predict(chosen, config, y, longest)  # type: ignore[arg-type]
    last = _timestamps(y.index)[-1]
    future = pd.date_range(last, periods=longest + 1, freq=config.frequency)[1:]
    forecast = pd.DataFrame(
        {
            "series_id": series_id,
            "date": future,
            "model": chosen,
            "mean": mean,
            "lower_80": lower[0.8],
            "upper_80": upper[0.8],
            "lower_95": lower[0.95],
            "upper_95": upper[0.95],
        }
    )
    return _SeriesOutcome(series_id, metrics, chosen, float(score[chosen]), forecast, model)
