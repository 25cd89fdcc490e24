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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
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
# How recurring revenue is forecast (the revenue_forecaster asset and bench.models): its growth
# moves with the market regime and the acquisition season, which the ETS/ARIMA intervals assume
# away, so they are widened to their backtests' errors and the model is chosen by its intervals.
REVENUE_SETTINGS: dict[str, Any] = {"backtest_intervals": True, "selection_metric": "msis95"}
# Known-in-advance covariates of demand (planned promotions, list prices), optional columns.
COVARIATES: tuple[str, str] = ("promo", "unit_price")
METRIC_COLUMNS: tuple[str, ...] = (
    "mae",
    "rmse",
    "mase",
    "mase_vs_snaive",
    "coverage80",
    "coverage95",
    "width95",
    "msis95",
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
    use_covariates: bool = Field(
        default=True,
        description="When the series frame has 'promo' and 'unit_price', ETS, ARIMA and "
        "LightGBM forecast demand with the promo and price effects divided out and "
        "multiplied back for the future plan (seasonal naive stays univariate: the baseline).",
    )
    covariate_knot_days: int = Field(
        default=56,
        ge=7,
        description="Knot spacing (steps) of the trend that the promo/price regression controls for.",
    )
    pool_price_elasticity: bool = Field(
        default=True,
        description="Shrink each series' price elasticity towards the mean over the series "
        "(empirical Bayes); one series alone estimates it with a standard error near 1.",
    )
    ets_model: str = Field(
        default="ZZA",
        description="statsforecast ETS spec (error, trend, season); additive seasons fit twice "
        "as fast as 'ZZZ' and suit demand whose weekly swing is a small share of the level.",
    )
    ets_damped: bool | None = Field(
        default=True,
        description="ETS trends are damped (True), undamped (False) or either by AICc (None). "
        "An undamped trend fitted on the rising half of a yearly swing runs away over a year.",
    )
    backtest_intervals: bool = Field(
        default=False,
        description="Widen the ETS and ARIMA intervals to conformal ones from backtests inside "
        "each training window (BacktestIntervals): their own intervals assume the fitted trend "
        "holds, and on monthly recurring revenue, whose growth changes with the market regime "
        "and the season, they covered half the points a year ahead.",
    )
    backtest_refits: int = Field(
        default=12,
        ge=2,
        description="Most backtest cutoffs BacktestIntervals fits, evenly spaced over the second "
        "half of the training window.",
    )
    selection_metric: Literal["mase_vs_snaive", "msis95"] = Field(
        default="mase_vs_snaive",
        description="What the chosen model minimises, averaged over the horizons: MASE against "
        "seasonal naive, or the scaled interval score of the 95 % intervals (M4's MSIS: width "
        "plus 40 times the miss, over the MASE scale), for forecasts used with their intervals.",
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
        # Monthly: one season, so two years of months can be scored 12 months ahead (in one
        # fold); windows shorter than two seasons are modelled without a season (see
        # `_seasonal_fits`).
        return 8 * self.period if self.frequency == "D" else self.period

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
    # series_id, chosen_model, cv_score (the selection metric's mean over the horizons).
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
    """Daily orders per product and region as a long frame (series_id = ``P01|north``).

    When the orders carry the promo flag (``promo`` in the raw table, ``is_promo`` in
    ``features.demand_series``) and ``unit_price``, the frame keeps them as the known-in-advance
    covariates ``promo`` (0/1) and ``unit_price``.
    """
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
    promo_column = next((c for c in ("promo", "is_promo") if c in demand_orders.columns), None)
    if promo_column is None or "unit_price" not in demand_orders.columns:
        return frame.groupby(["series_id", "date"], as_index=False)["value"].sum()
    frame["promo"] = demand_orders[promo_column].astype(float).to_numpy()
    frame["unit_price"] = demand_orders["unit_price"].astype(float).to_numpy()
    return frame.groupby(["series_id", "date"], as_index=False).agg(
        value=("value", "sum"), promo=("promo", "max"), unit_price=("unit_price", "mean")
    )


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


# Subscription states that a customer's events record: the monthly-equivalent price it moves to.
# A cancellation moves it to zero; charges repeat the price billed (see recurring_revenue).
_PRICE_EVENT_ORDER: dict[str, int] = {"signup": 0, "charge": 1, "price_change": 2, "cancel": 3}


def recurring_revenue(
    customers: pd.DataFrame,
    subscription_events: pd.DataFrame,
    frequency: Literal["D", "MS"] = "MS",
    series_id: str = "mrr",
) -> pd.DataFrame:
    """Monthly recurring revenue (MRR) as one daily or monthly series (``series_id, date, value``).

    MRR on a day is the sum of the monthly-equivalent prices (``monthly_price``; for annual
    plans the discounted twelfth of the annual fee) of the customers active that day: signed up
    on or before it (``customers.signup_date``) and not yet cancelled (a ``cancel`` event ends
    the subscription on its day). A customer's price starts at ``customers.monthly_price`` and
    follows the ``monthly_price`` of its ``signup``, ``price_change`` and ``charge`` events in
    date order: charges record the price billed, so a price set without a ``price_change``
    event still shows from its first charge on.

    ``frequency="D"`` gives MRR per day; ``"MS"`` gives the mean of the daily MRR over each
    month's days, which is the revenue recognised in the month when each day earns a
    ``1 / days in month`` share of the monthly price. Unlike cash billings (annual plans pay 12
    months at once; the first payment is a ``signup`` event), it moves only when customers
    join, leave or change price. The series covers the days from the first to the last event
    date; customers who signed up before it (they have no ``signup`` event) count from its first
    day, so ``customers`` must hold every customer the events name.
    """
    _require_columns(customers, ("customer_id", "signup_date", "monthly_price"), "customers")
    _require_columns(
        subscription_events,
        ("customer_id", "event_date", "event_type", "monthly_price"),
        "subscription_events",
    )
    if subscription_events.empty:
        raise ValueError("subscription_events is empty: no window to measure revenue over")
    unknown = sorted(set(subscription_events["event_type"].astype(str)) - set(_PRICE_EVENT_ORDER))
    if unknown:
        raise ValueError(
            f"subscription_events.event_type has unknown values {unknown}; "
            f"expected {list(_PRICE_EVENT_ORDER)}"
        )
    if frequency not in ("D", "MS"):
        raise ValueError(f"frequency must be 'D' or 'MS', got {frequency!r}")
    unknown_customers = subscription_events.loc[
        ~subscription_events["customer_id"].isin(customers["customer_id"]), "customer_id"
    ]
    if not unknown_customers.empty:
        raise ValueError(
            f"subscription_events.customer_id names {unknown_customers.nunique()} customers "
            f"missing from customers.customer_id (e.g. {unknown_customers.tolist()[0]!r}); "
            "their signup dates and prices are needed"
        )
    starts = pd.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy(),
            "date": _dates(customers["signup_date"], "customers.signup_date"),
            "order": 0,
            "price": _prices(customers["monthly_price"], "customers.monthly_price"),
        }
    )
    kind = subscription_events["event_type"].astype(str)
    changes = pd.DataFrame(
        {
            "customer_id": subscription_events["customer_id"].to_numpy(),
            "date": _dates(subscription_events["event_date"], "subscription_events.event_date"),
            "order": kind.map(_PRICE_EVENT_ORDER).to_numpy(),
            # A cancellation's own price is not validated: it moves the customer to zero.
            "price": _prices(
                subscription_events["monthly_price"].where(kind != "cancel", 0.0),
                "subscription_events.monthly_price",
            ),
        }
    )
    first, last = changes["date"].min(), changes["date"].max()
    states = pd.concat([starts, changes], ignore_index=True)
    # Nothing after a cancellation counts (a customer is cancelled once).
    cancelled = (
        changes[changes["order"] == _PRICE_EVENT_ORDER["cancel"]]
        .groupby("customer_id")["date"]
        .min()
    )
    ends = states["customer_id"].map(cancelled)
    states = states[(states["date"] <= last) & ~(states["date"] > ends)]
    states = states.sort_values(["customer_id", "date", "order"], kind="stable")
    # Each state adds the change in its customer's price on its day; before the window, the
    # changes add up on its first day, i.e. the price in force when the window opens.
    step = states["price"] - states.groupby("customer_id")["price"].shift(fill_value=0.0)
    days = pd.date_range(first, last, freq="D")
    offset = ((states["date"] - first) // pd.Timedelta(days=1)).clip(lower=0).to_numpy()
    daily = np.round(np.bincount(offset, weights=step.to_numpy(), minlength=len(days)).cumsum(), 2)
    mrr = pd.Series(daily, index=days)
    if frequency == "MS":
        mrr = mrr.groupby(mrr.index.to_period("M")).mean()
        mrr.index = mrr.index.to_timestamp(how="start")
    return pd.DataFrame({"series_id": series_id, "date": mrr.index, "value": mrr.to_numpy()})


def _dates(values: pd.Series, name: str) -> np.ndarray:
    """Calendar days of a date column; an error naming the column when one is missing."""
    dates = pd.to_datetime(values, errors="coerce")
    if dates.isna().any():
        raise ValueError(f"{name} has {int(dates.isna().sum())} missing or unparsable dates")
    return dates.dt.normalize().to_numpy()


def _prices(values: pd.Series, name: str) -> np.ndarray:
    """Non-negative finite prices; an error naming the column otherwise."""
    prices = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(prices) | (prices < 0)
    if bad.any():
        raise ValueError(f"{name} has {int(bad.sum())} missing, non-numeric or negative prices")
    return prices


def forecast_series(
    series: pd.DataFrame,
    config: ForecastConfig | None = None,
    truth: pd.DataFrame | None = None,
    future_covariates: pd.DataFrame | None = None,
) -> ForecastResult:
    """Cross-validate every candidate on every series, pick one per series and forecast.

    ``series`` is long: ``series_id``, ``date``, ``value``; dates must be complete at the
    configured frequency. Optional columns ``promo`` and ``unit_price`` are known-in-advance
    covariates: cross-validation forecasts with their actual values after each cutoff (the
    promo calendar and prices are planned), and the final forecast uses ``future_covariates``
    (``series_id``, ``date``, ``promo``, ``unit_price`` for the dates after the history) when
    given, else the default plan of :class:`PromoPriceAdjustedForecaster` (last regular price,
    promotions at the historical rate). ``truth`` (optional) has ``series_id``, ``date``,
    ``expected`` and ``noise_sd``; it adds the noise-floor ratio (model RMSE over the RMS noise
    sd) and the oracle ratio (model RMSE over the RMSE of the true expectation) to the metrics.
    """
    config = config or ForecastConfig()
    panel = _validated_panel(series, config)
    covariates = _covariates_by_series(series, panel, config)
    if future_covariates is not None and not covariates:
        raise ValueError(
            "future_covariates were given but the series have no 'promo' and 'unit_price' "
            "columns (or use_covariates is off): the plan would be ignored"
        )
    plans = _covariates_by_series(future_covariates, None, config) if covariates else {}
    elasticities = _pooled_elasticities(panel, covariates, config) if covariates else {}
    truth_by_series = _truth_by_series(truth) if truth is not None else {}
    tasks = [
        _SeriesTask(
            series_id,
            values,
            truth_by_series.get(series_id),
            covariates.get(series_id),
            plans.get(series_id),
            elasticities.get(series_id, {}),
        )
        for series_id, values in panel.items()
    ]
    if config.n_jobs == 1:
        outcomes = [_forecast_one(task, config) for task in tasks]
    else:
        # One series per task: workers never share a random stream, and each model is seeded.
        outcomes = Parallel(n_jobs=config.n_jobs, backend="loky")(
            delayed(_forecast_one)(task, config) for task in tasks
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


def make_forecaster(
    name: ModelName, config: ForecastConfig, n_train: int, seasonal: bool = True
) -> Any:
    """A fresh sktime forecaster for candidate ``name`` on a training window of ``n_train``.

    ``seasonal=False`` is the fallback for series whose CV windows hold fewer than two seasons
    (two years of months): ETS, ARIMA and LightGBM then fit without a season. Seasonal naive
    keeps its season, since it is the baseline that MASE is measured against.
    """
    from lightgbm import LGBMRegressor
    from sktime.forecasting.compose import make_reduction
    from sktime.forecasting.conformal import ConformalIntervals
    from sktime.forecasting.naive import NaiveForecaster
    from sktime.forecasting.statsforecast import StatsForecastAutoARIMA, StatsForecastAutoETS

    period = config.period if seasonal or name == BASELINE else 1
    with quiet_sktime():
        if name == "seasonal_naive":
            return NaiveForecaster(strategy="last", sp=period)
        if name == "ets":
            # The statsforecast backend: sktime's statsmodels AutoETS cannot simulate intervals
            # for multiplicative models with statsmodels 0.15 (sktime#10968).
            model = config.ets_model if period > 1 else config.ets_model[:2] + "N"
            ets = StatsForecastAutoETS(season_length=period, model=model, damped=config.ets_damped)
            return _with_backtest_intervals(ets, name, config, seasonal)
        if name == "arima":
            # Small seasonal orders keep the stepwise search well under a second per fit.
            arima = StatsForecastAutoARIMA(
                sp=period, seasonal=period > 1, max_p=3, max_q=3, max_P=1, max_Q=1
            )
            return _with_backtest_intervals(arima, name, config, seasonal)
        if name == "lightgbm":
            window = config.lightgbm_window or 2 * period
            window = min(window, max(1, n_train // 3))
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
            return PooledConformalIntervals(
                ConformalIntervals(
                    reduction, method="conformal", initial_window=initial, sample_frac=fraction
                )
            )
    raise ValueError(f"unknown forecasting model {name!r}")


# Shortest backtest window per candidate: statsforecast's ETS refuses fewer than 8 observations
# ("tiny datasets"); ARIMA fits from 3.
_BACKTEST_MIN_WINDOW: dict[str, int] = {"ets": 8, "arima": 3}


def _with_backtest_intervals(
    forecaster: Any, name: ModelName, config: ForecastConfig, seasonal: bool
) -> Any:
    if not config.backtest_intervals:
        return forecaster
    return BacktestIntervals(
        forecaster,
        partial(_backtest_forecaster, name, config, seasonal),
        _BACKTEST_MIN_WINDOW[name],
        config.backtest_refits,
    )


def _backtest_forecaster(
    name: ModelName, config: ForecastConfig, seasonal: bool, n_train: int
) -> Any:
    """The plain candidate for a backtest window of ``n_train``: seasonal only when the window
    holds two seasons (the rule `_seasonal_fits` applies to the CV windows)."""
    plain = config.model_copy(update={"backtest_intervals": False})
    return make_forecaster(name, plain, n_train, seasonal and n_train >= 2 * config.period)


def forecast_under_price_change(
    result: ForecastResult | Mapping[str, Any],
    series_id: str,
    price_factor: float | np.ndarray | pd.Series,
    horizon: int | None = None,
) -> pd.DataFrame:
    """The chosen model's forecast of one series with its planned prices scaled by a factor.

    ``price_factor`` multiplies every planned price (promo prices too): a number (``1.1`` is
    a 10 % increase over the whole horizon) or one factor per step (e.g. 1.0 for a month, then
    1.1), as an array or a Series indexed by the forecast dates. The plan is the one the model
    was fitted with (``future_covariates``), else the default plan (last regular price,
    promotions at the historical rate). Returns ``date``, ``price_factor``, ``baseline_mean``
    (the forecast under the plan), ``mean`` and the 80 % / 95 % bounds under the changed
    prices. Because the model is log-linear in price, ``mean / baseline_mean`` equals
    ``price_factor ** price_elasticity`` (see :func:`demand_price_elasticities`).

    ``result`` is a :class:`ForecastResult` or the fitted forecasters by series id, e.g. those
    of the registered champion: ``mlflow.pyfunc.load_model(uri).unwrap_python_model()
    .forecasters`` (then ``horizon`` is required).

    Raises ``ValueError`` when the series' chosen model does not use prices (seasonal naive, or
    a series forecast without the ``promo``/``unit_price`` columns).
    """
    from sktime.forecasting.base import ForecastingHorizon

    models = result.fitted_models if isinstance(result, ForecastResult) else result
    if series_id not in models:
        raise KeyError(f"no forecaster for series {series_id!r}")
    model = models[series_id]
    if not isinstance(model, PromoPriceAdjustedForecaster):
        raise ValueError(
            f"series {series_id!r} is forecast by {type(model).__name__} without prices: no "
            "price response (forecast it with 'promo' and 'unit_price' columns and "
            "use_covariates=True)"
        )
    if horizon is None and not isinstance(result, ForecastResult):
        raise ValueError("horizon is required when passing fitted forecasters")
    steps = horizon or result.config.scored_horizons[-1]  # type: ignore[union-attr]
    fh = ForecastingHorizon(np.arange(1, steps + 1), is_relative=True)
    with quiet_sktime():
        base_mean = model.base.predict(fh)
        bounds = model.base.predict_interval(fh, coverage=list(COVERAGES))
    index = base_mean.index
    if isinstance(price_factor, pd.Series):
        dates = _timestamps(index)
        factors = pd.Series(
            price_factor.to_numpy(dtype=float),
            index=pd.DatetimeIndex(price_factor.index).as_unit("us"),
        )
        factor = factors.reindex(dates.as_unit("us")).to_numpy(dtype=float)
        if not np.isfinite(factor).all():
            raise ValueError(f"price_factor does not cover the dates {dates[0]}..{dates[-1]}")
    else:
        factor = np.broadcast_to(np.asarray(price_factor, dtype=float), (steps,)).copy()
    if (factor <= 0).any():
        raise ValueError("price factors must be positive")
    planned = model.multiplier(index)
    changed = model.multiplier(index, price_factor=factor)
    frame = pd.DataFrame(
        {
            "series_id": series_id,
            "date": _timestamps(index),
            "price_factor": factor,
            "baseline_mean": base_mean.to_numpy(dtype=float) * planned,
            "mean": base_mean.to_numpy(dtype=float) * changed,
        }
    )
    for coverage, label in ((0.8, "80"), (0.95, "95")):
        for side in ("lower", "upper"):
            column = [c for c in bounds.columns if np.isclose(c[1], coverage) and c[2] == side]
            frame[f"{side}_{label}"] = bounds[column[0]].to_numpy(dtype=float) * changed
    return frame.reset_index(drop=True)


def demand_price_elasticities(result: ForecastResult) -> pd.DataFrame:
    """Per series: the chosen model and the promo and price effects it was refitted with.

    ``price_elasticity`` is d log(expected demand) / d log(price) of the final model (NaN when
    the chosen model does not use prices); ``promo_lift`` is the log lift of a promotion beyond
    its discount; ``promo_rate`` the historical share of promo days.
    """
    rows = []
    for series_id, chosen in result.selection[["series_id", "chosen_model"]].itertuples(
        index=False
    ):
        model = result.fitted_models[series_id]
        effects = getattr(model, "effects_", None)
        rows.append(
            {
                "series_id": series_id,
                "chosen_model": chosen,
                "price_elasticity": effects.price_elasticity if effects else np.nan,
                "promo_lift": effects.promo_lift if effects else np.nan,
                "promo_rate": effects.promo_rate if effects else np.nan,
                "reference_price": effects.reference_price if effects else np.nan,
            }
        )
    return pd.DataFrame.from_records(rows)


# --- known-in-advance covariates: promotions and prices -------------------------------------


@dataclass(frozen=True)
class PromoPriceEffects:
    """Log-linear effects of a promotion and of the unit price on expected demand.

    ``log E[y_t] = base_t + promo_lift * promo_t + price_elasticity * log(unit_price_t / ref)``,
    estimated by a Poisson regression that controls for the weekly profile and a piecewise-linear
    trend (knots every ``knot_days``), so slow level moves do not pass for price effects.
    ``promo_lift`` is the lift beyond the promotion's own discount, which the elasticity prices.
    """

    promo_lift: float
    price_elasticity: float
    reference_price: float  # the last regular (non-promo) price of the training window
    promo_rate: float  # share of promo days in the training window
    promo_price_ratio: float  # median promo price over the regular price before it
    price_elasticity_se: float = np.nan  # NaN when the elasticity was given, not estimated

    def log_multiplier(self, promo: np.ndarray, unit_price: np.ndarray) -> np.ndarray:
        """Log demand multiplier of a promo flag and price path, relative to the reference."""
        return self.promo_lift * np.asarray(promo, dtype=float) + self.price_elasticity * np.log(
            np.asarray(unit_price, dtype=float) / self.reference_price
        )

    def expected_plan_multiplier(self, unit_price: np.ndarray) -> np.ndarray:
        """Expected multiplier when the promo calendar is unknown: promotions at the historical
        rate with the historical discount, on top of the planned regular ``unit_price``."""
        promo_factor = np.exp(
            self.promo_lift + self.price_elasticity * np.log(self.promo_price_ratio)
        )
        regular = np.exp(self.log_multiplier(np.zeros_like(unit_price), unit_price))
        return regular * (1 - self.promo_rate + self.promo_rate * promo_factor)


def regular_price(promo: np.ndarray, unit_price: np.ndarray) -> np.ndarray:
    """The regular price on every day: the last non-promo price (the first one before it)."""
    regular = pd.Series(np.where(np.asarray(promo) > 0, np.nan, unit_price), dtype=float)
    regular = regular.ffill().bfill()
    return regular.fillna(pd.Series(unit_price, dtype=float)).to_numpy()


def estimate_promo_price_effects(
    values: np.ndarray,
    promo: np.ndarray,
    unit_price: np.ndarray,
    period: int,
    knot_days: int = 56,
    price_elasticity: float | None = None,
) -> PromoPriceEffects:
    """Fit :class:`PromoPriceEffects` to one training window by Poisson IRLS (numpy only).

    Columns: intercept, linear trend, hinges every ``knot_days`` (a piecewise-linear trend that
    follows yearly swings and regime shifts), ``period - 1`` season dummies, the promo flag and
    ``log(unit_price)``. A given ``price_elasticity`` is held fixed (an offset), e.g. one pooled
    over series by :func:`pooled_price_elasticities`. An effect whose regressor does not vary
    in the window is zero. The elasticity's standard error is the Poisson one scaled by the
    Pearson dispersion (demand is overdispersed).
    """
    y = np.asarray(values, dtype=float)
    promo = np.asarray(promo, dtype=float)
    price = np.asarray(unit_price, dtype=float)
    n = len(y)
    regular = regular_price(promo, price)
    reference = float(regular[-1])
    promo_days = promo > 0
    ratio = float(np.median(price[promo_days] / regular[promo_days])) if promo_days.any() else 1.0
    t = np.arange(n, dtype=float)
    knots = np.arange(knot_days, n - knot_days // 2, knot_days, dtype=float)
    columns = [np.ones(n), t / n, *(np.maximum(0.0, t - k) / n for k in knots)]
    columns += [(np.arange(n) % period == s).astype(float) for s in range(1, period)]
    log_price = np.log(price / reference)
    has_promo = bool(0 < promo_days.sum() < n)
    # The elasticity is identified by regular-price changes; promo discounts load on the lift.
    estimate_price = bool(price_elasticity is None and np.ptp(np.log(regular)) > 1e-9)
    offset = np.zeros(n) if price_elasticity is None else price_elasticity * log_price
    if has_promo:
        columns.append(promo)
    if estimate_price:
        columns.append(log_price)
    coef, covariance = _poisson_irls(np.column_stack(columns), y, offset)
    lift = float(coef[-1 - estimate_price]) if has_promo else 0.0
    elasticity, se = (price_elasticity or 0.0), np.nan
    if estimate_price:
        elasticity, se = float(coef[-1]), float(np.sqrt(covariance[-1, -1]))
    return PromoPriceEffects(
        promo_lift=lift,
        price_elasticity=elasticity,
        reference_price=reference,
        promo_rate=float(promo_days.mean()),
        promo_price_ratio=ratio,
        price_elasticity_se=se,
    )


def _poisson_irls(
    design: np.ndarray, y: np.ndarray, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson regression coefficients and their (dispersion-scaled) covariance."""
    coef = np.zeros(design.shape[1])
    coef[0] = np.log(max(y.mean(), 1e-3))
    # A tiny ridge keeps the normal equations solvable when a hinge or dummy is all zeros.
    ridge = 1e-6 * np.eye(design.shape[1])
    gram = np.eye(design.shape[1])
    mu = np.exp(offset + design @ coef)
    for _ in range(50):
        eta = np.clip(design @ coef, -30.0, 30.0)
        mu = np.exp(offset + eta)
        working = eta + (y - mu) / mu
        weighted = design * mu[:, None]
        gram = design.T @ weighted + ridge * np.trace(design.T @ weighted) / len(coef)
        updated = np.linalg.solve(gram, weighted.T @ working)
        converged = np.max(np.abs(updated - coef)) < 1e-8
        coef = updated
        if converged:
            break
    mu = np.exp(offset + np.clip(design @ coef, -30.0, 30.0))
    dispersion = float(np.sum((y - mu) ** 2 / mu) / max(1, len(y) - design.shape[1]))
    return coef, np.linalg.inv(gram) * dispersion


def pooled_price_elasticities(
    estimates: np.ndarray, standard_errors: np.ndarray
) -> tuple[np.ndarray, float, float]:
    """Empirical-Bayes shrinkage of per-series elasticities towards their precision-weighted mean.

    One series' two years carry eight quarterly price moves of a few per cent, so its own
    elasticity has a standard error near 1; pooling borrows strength across series:
    ``shrunk_i = w_i * estimate_i + (1 - w_i) * mean`` with ``w_i = tau^2 / (tau^2 + se_i^2)``
    and the between-series variance ``tau^2`` by the method of moments. Returns the shrunk
    estimates, the pooled mean and ``tau^2``. Non-finite estimates get the pooled mean.
    """
    estimates = np.asarray(estimates, dtype=float)
    se = np.asarray(standard_errors, dtype=float)
    valid = np.isfinite(estimates) & np.isfinite(se) & (se > 0)
    if not valid.any():
        return np.zeros_like(estimates), 0.0, 0.0
    precision = 1.0 / se[valid] ** 2
    mean = float(np.sum(precision * estimates[valid]) / np.sum(precision))
    tau2 = 0.0
    if valid.sum() > 1:
        tau2 = max(0.0, float(np.var(estimates[valid], ddof=1) - np.mean(se[valid] ** 2)))
    weight = np.where(valid, tau2 / (tau2 + np.where(valid, se, 1.0) ** 2), 0.0)
    shrunk = np.where(valid, weight * np.nan_to_num(estimates) + (1 - weight) * mean, mean)
    return shrunk, mean, tau2


class PromoPriceAdjustedForecaster:
    """A univariate sktime forecaster on demand with the promo and price effects divided out.

    ``fit`` estimates :class:`PromoPriceEffects` on the training window, divides them out of
    ``y`` and fits ``base`` on what is left (trend, seasons, regime). ``predict`` and
    ``predict_interval`` multiply the base forecast (and its bounds) back by the effects of the
    future promo flags and prices: ``X`` when given (columns ``promo``, ``unit_price``, indexed
    by the forecast dates), else the plan given to ``fit``, else the default plan: the last
    regular price holds and promotions run at the historical rate (as an expected lift, so
    intervals do not widen for an unknown promo calendar).
    """

    def __init__(
        self,
        base: Any,
        period: int,
        knot_days: int = 56,
        price_elasticity: float | None = None,
    ) -> None:
        self.base = base
        self.period = period
        self.knot_days = knot_days
        self.price_elasticity = price_elasticity  # None: estimated on the training window

    def fit(
        self,
        y: pd.Series,
        X: pd.DataFrame,
        fh: Any = None,
        plan: pd.DataFrame | None = None,
    ) -> PromoPriceAdjustedForecaster:
        _require_columns(X, COVARIATES, "covariates")
        X = X.reindex(y.index)
        if X[list(COVARIATES)].isna().any().any():
            raise ValueError("covariates must cover every date of the training series")
        self.effects_ = estimate_promo_price_effects(
            y.to_numpy(dtype=float),
            X["promo"].to_numpy(dtype=float),
            X["unit_price"].to_numpy(dtype=float),
            self.period,
            self.knot_days,
            self.price_elasticity,
        )
        adjusted = y / np.exp(self.effects_.log_multiplier(X["promo"], X["unit_price"]))
        self.base.fit(adjusted, fh=fh)
        self.plan_ = plan
        return self

    def multiplier(
        self, index: pd.Index, X: pd.DataFrame | None = None, price_factor: Any = 1.0
    ) -> np.ndarray:
        """Demand multiplier on ``index`` (X, else the plan, else the default plan), with the
        prices scaled by ``price_factor`` (a number or one factor per date)."""
        factor = np.broadcast_to(np.asarray(price_factor, dtype=float), (len(index),))
        known = X if X is not None else self.plan_
        if known is not None:
            window = known.reindex(index)
            if window[list(COVARIATES)].isna().any().any():
                raise ValueError(
                    f"promo/unit_price plan does not cover the forecast dates {index[0]}..{index[-1]}"
                )
            return np.exp(
                self.effects_.log_multiplier(
                    window["promo"].to_numpy(), window["unit_price"].to_numpy() * factor
                )
            )
        return self.effects_.expected_plan_multiplier(self.effects_.reference_price * factor)

    def predict(self, fh: Any = None, X: pd.DataFrame | None = None) -> pd.Series:
        mean = self.base.predict(fh)
        return mean * self.multiplier(mean.index, X)

    def predict_interval(
        self, fh: Any = None, X: pd.DataFrame | None = None, coverage: Any = 0.9
    ) -> pd.DataFrame:
        bounds = self.base.predict_interval(fh, coverage=coverage)
        return bounds.mul(self.multiplier(bounds.index, X), axis=0)


class PooledConformalIntervals:
    """The LightGBM reduction's intervals from its conformal residuals, pooled over steps.

    ``ConformalIntervals`` sizes each step's interval from that step's residuals alone: a
    handful of refits give a handful of residuals per step (too few for a 95 % quantile), and
    steps beyond the refits' reach get none, which sktime turns into zero-width intervals. Here
    the absolute residuals of all steps are pooled after dividing by ``step ** growth``, with
    ``growth`` the slope of log |residual| on log step (clipped to [0, 0.5]: from stationary
    errors to a random walk's), and each step's half-width is the pooled quantile times
    ``step ** growth``, so every step, including those beyond the refits, gets a width.
    """

    def __init__(self, conformal: Any) -> None:
        self.conformal = conformal

    def fit(self, y: pd.Series, X: Any = None, fh: Any = None) -> PooledConformalIntervals:
        self.conformal.fit(y, fh=fh)
        matrix = self.conformal.residuals_matrix_.to_numpy(dtype=float)
        steps, residuals = [], []
        for step in range(1, matrix.shape[1]):
            diagonal = np.diagonal(matrix, offset=step)
            diagonal = np.abs(diagonal[np.isfinite(diagonal)])
            steps.append(np.full(len(diagonal), step, dtype=float))
            residuals.append(diagonal)
        step_of, residual = np.concatenate(steps), np.concatenate(residuals)
        if len(residual) < 2:
            raise RuntimeError("the LightGBM conformal refits produced no residuals")
        self.growth_, self.scaled_residuals_ = _step_scaled_residuals(step_of, residual, 0.5)
        return self

    def predict(self, fh: Any = None, X: Any = None) -> pd.Series:
        return self.conformal.predict(fh)

    def predict_interval(self, fh: Any = None, X: Any = None, coverage: Any = 0.9) -> pd.DataFrame:
        mean = self.predict(fh)
        steps = np.arange(1, len(mean) + 1, dtype=float)
        if fh is not None:
            steps = np.asarray(fh.to_relative(self.conformal.cutoff).to_numpy(), dtype=float)
        coverages = [coverage] if np.isscalar(coverage) else list(coverage)
        name = mean.name if mean.name is not None else 0
        columns = pd.MultiIndex.from_product([[name], coverages, ["lower", "upper"]])
        bounds = pd.DataFrame(index=mean.index, columns=columns, dtype=float)
        for level in coverages:
            half = np.quantile(self.scaled_residuals_, level) * steps**self.growth_
            bounds[(name, level, "lower")] = mean.to_numpy(dtype=float) - half
            bounds[(name, level, "upper")] = mean.to_numpy(dtype=float) + half
        return bounds


class BacktestIntervals:
    """ETS or ARIMA with intervals at least as wide as the errors of its own backtests.

    ETS and ARIMA size their intervals from the fitted model's one-step errors, as if its form
    held: a damped trend fitted on a year of monthly recurring revenue, whose growth moves with
    the market regime and the acquisition season, gave 95 % intervals that covered 45 % of the
    points 12 months ahead. Here ``fit`` also backtests the model inside the training window:
    at up to ``refits`` evenly spaced cutoffs in its second half (the shortest window at least
    ``min_window``), the same candidate fitted on the data before the cutoff (without its season
    when that window holds fewer than two) forecasts to the window's end.
    Their absolute errors are pooled over steps after dividing by ``step ** growth`` (``growth``:
    the slope of log |error| on log step, clipped to [0, 1]; a wrong level's errors stay flat, a
    wrong slope's grow linearly), and step ``h`` gets the conformal quantile of the pooled errors
    (the ``ceil((m + 1) * coverage)``-th smallest of ``m``, the largest when ``m`` is too small)
    times ``h ** growth``. The interval is the union of this one and the model's own, so the
    backtests only ever widen it. Everything uses the training window alone, so in a CV fold the
    intervals are sized without the fold's test data.
    """

    def __init__(
        self,
        forecaster: Any,
        backtest_forecaster: Callable[[int], Any],
        min_window: int,
        refits: int = 12,
    ) -> None:
        self.forecaster = forecaster
        # A fresh forecaster for a backtest window of the given length.
        self.backtest_forecaster = backtest_forecaster
        self.min_window = min_window
        self.refits = refits

    def fit(self, y: pd.Series, X: Any = None, fh: Any = None) -> BacktestIntervals:
        from sktime.forecasting.base import ForecastingHorizon

        values = y.to_numpy(dtype=float)
        first = max(self.min_window, len(y) // 2)
        if len(y) - first < 2:
            raise ValueError(
                f"a {len(y)}-step window leaves fewer than 2 backtests after the shortest "
                f"window the model fits ({self.min_window}); supply more history"
            )
        cutoffs = np.unique(np.linspace(first, len(y) - 1, self.refits).round().astype(int))
        steps, residuals = [], []
        for cutoff in cutoffs:
            ahead = len(y) - cutoff
            backtest = self.backtest_forecaster(int(cutoff))
            backtest.fit(y.iloc[:cutoff], fh=ForecastingHorizon(np.arange(1, ahead + 1)))
            mean = backtest.predict().to_numpy(dtype=float)
            steps.append(np.arange(1, ahead + 1, dtype=float))
            residuals.append(np.abs(values[cutoff:] - mean))
        self.growth_, self.scaled_residuals_ = _step_scaled_residuals(
            np.concatenate(steps), np.concatenate(residuals), 1.0
        )
        self.forecaster_ = self.forecaster.clone().fit(y, fh=fh)
        return self

    @property
    def cutoff(self) -> Any:
        return self.forecaster_.cutoff

    def predict(self, fh: Any = None, X: Any = None) -> pd.Series:
        return self.forecaster_.predict(fh)

    def predict_interval(self, fh: Any = None, X: Any = None, coverage: Any = 0.9) -> pd.DataFrame:
        bounds = self.forecaster_.predict_interval(fh, coverage=coverage)
        mean = self.forecaster_.predict(fh).to_numpy(dtype=float)
        steps = np.arange(1, len(mean) + 1, dtype=float)
        if fh is not None:
            steps = np.asarray(fh.to_relative(self.cutoff).to_numpy(), dtype=float)
        for column in bounds.columns:
            level, side = float(column[1]), column[2]
            half = _conformal_quantile(self.scaled_residuals_, level) * steps**self.growth_
            if side == "lower":
                bounds[column] = np.minimum(bounds[column].to_numpy(dtype=float), mean - half)
            else:
                bounds[column] = np.maximum(bounds[column].to_numpy(dtype=float), mean + half)
        return bounds


def _step_scaled_residuals(
    steps: np.ndarray, residuals: np.ndarray, max_growth: float
) -> tuple[float, np.ndarray]:
    """The growth of absolute errors with the step (slope of log error on log step, clipped to
    [0, max_growth]) and the errors divided by ``step ** growth``."""
    floor = 1e-6 * max(float(np.mean(residuals)), 1e-12)
    slope = np.polyfit(np.log(steps), np.log(residuals + floor), 1)[0] if np.ptp(steps) else 0.0
    growth = float(np.clip(slope, 0.0, max_growth))
    return growth, residuals / steps**growth


def _conformal_quantile(scores: np.ndarray, coverage: float) -> float:
    """The split-conformal quantile: the ceil((m + 1) * coverage)-th smallest of m scores (the
    largest when there are too few for that rank)."""
    ordered = np.sort(scores)
    rank = int(np.ceil((len(ordered) + 1) * coverage))
    return float(ordered[min(rank, len(ordered)) - 1])


# --- internals -------------------------------------------------------------------------------


@dataclass
class _SeriesTask:
    """One series and what it is forecast with (truth only scores; it never trains)."""

    series_id: str
    y: pd.Series
    truth: pd.DataFrame | None
    covariates: pd.DataFrame | None  # promo, unit_price on y's index
    plan: pd.DataFrame | None  # promo, unit_price on future dates (a DatetimeIndex)
    # Pooled price elasticity per training-window length (empty: estimated per fit).
    elasticities: dict[int, float] = field(default_factory=dict)


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


def _covariates_by_series(
    frame: pd.DataFrame | None, panel: dict[str, pd.Series] | None, config: ForecastConfig
) -> dict[str, pd.DataFrame]:
    """Promo flags and unit prices per series (on the series' index when ``panel`` is given,
    else on dates: a future plan); empty when the frame lacks them or covariates are off."""
    if frame is None or not config.use_covariates:
        return {}
    if not set(COVARIATES) <= set(frame.columns):
        if panel is None:
            _require_columns(frame, ("series_id", "date", *COVARIATES), "future_covariates")
        return {}
    covariates: dict[str, pd.DataFrame] = {}
    for series_id, group in frame.groupby("series_id", sort=True):
        dates = pd.DatetimeIndex(pd.to_datetime(group["date"])).as_unit("us")
        values = pd.DataFrame(
            {
                "promo": group["promo"].to_numpy(dtype=float),
                "unit_price": group["unit_price"].to_numpy(dtype=float),
            },
            index=dates,
        ).sort_index()
        if not (np.isfinite(values.to_numpy()).all() and (values["unit_price"] > 0).all()):
            raise ValueError(
                f"series {series_id!r} has missing promo flags or non-positive unit prices"
            )
        if config.frequency == "MS":
            values.index = values.index.to_period("M")  # like the monthly series themselves
        if panel is not None:
            values = values.reindex(panel[str(series_id)].index)
        covariates[str(series_id)] = values
    return covariates


def _pooled_elasticities(
    panel: dict[str, pd.Series], covariates: dict[str, pd.DataFrame], config: ForecastConfig
) -> dict[str, dict[int, float]]:
    """Per series and training-window length (CV folds and the final refit): the price
    elasticity shrunk across the series with the same window length. Each estimate sees only
    its own window, so no fold borrows from after its cutoff."""
    if not config.pool_price_elasticity:
        return {}
    raw: dict[int, list[tuple[str, float, float]]] = {}
    for series_id, X in covariates.items():
        y = panel[series_id]
        for n_train in {*_cutoffs(len(y), config), len(y)}:
            effects = estimate_promo_price_effects(
                y.to_numpy(dtype=float)[:n_train],
                X["promo"].to_numpy()[:n_train],
                X["unit_price"].to_numpy()[:n_train],
                config.period,
                config.covariate_knot_days,
            )
            raw.setdefault(n_train, []).append(
                (series_id, effects.price_elasticity, effects.price_elasticity_se)
            )
    pooled: dict[str, dict[int, float]] = {}
    for n_train, rows in raw.items():
        shrunk, _, _ = pooled_price_elasticities(
            np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
        )
        for (series_id, _, _), value in zip(rows, shrunk, strict=True):
            pooled.setdefault(series_id, {})[n_train] = float(value)
    return pooled


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


def _seasonal_fits(n_obs: int, config: ForecastConfig) -> bool:
    """Whether the series' shortest CV window holds two seasons; if not, every fit of the
    series (CV and final refit alike, so the chosen form is the validated one) drops the season."""
    return min(_cutoffs(n_obs, config)) >= 2 * config.period


def _fit_predict(
    name: ModelName,
    config: ForecastConfig,
    y_train: pd.Series,
    steps: int,
    covariates: pd.DataFrame | None = None,
    future: pd.DataFrame | None = None,
    seasonal: bool = True,
    price_elasticity: float | None = None,
) -> tuple[np.ndarray, dict[float, np.ndarray], dict[float, np.ndarray], Any]:
    """Fit on ``y_train`` and forecast ``steps`` ahead with both interval levels.

    With ``covariates`` (promo and unit price over the training window) every candidate but the
    baseline is a :class:`PromoPriceAdjustedForecaster`; ``future`` holds the covariates of the
    forecast dates (None: the default plan).
    """
    from sktime.forecasting.base import ForecastingHorizon

    fh = ForecastingHorizon(np.arange(1, steps + 1), is_relative=True)
    forecaster = make_forecaster(name, config, len(y_train), seasonal)
    if covariates is not None and name != BASELINE:
        forecaster = PromoPriceAdjustedForecaster(
            forecaster, config.period, config.covariate_knot_days, price_elasticity
        )
    with quiet_sktime():
        # ConformalIntervals samples its cutoffs from numpy's legacy global state: seed it
        # for this call only, so results are reproducible and the caller's state is kept.
        state = np.random.get_state()
        np.random.seed(config.seed)
        try:
            if isinstance(forecaster, PromoPriceAdjustedForecaster):
                forecaster.fit(y_train, covariates, fh=fh, plan=future)
            else:
                forecaster.fit(y_train, fh=fh)
            mean = forecaster.predict(fh).to_numpy(dtype=float)
            intervals = forecaster.predict_interval(fh, coverage=list(COVERAGES))
            if name == BASELINE and not np.isfinite(intervals.to_numpy(dtype=float)).all():
                intervals = _naive_width_intervals(y_train, fh, mean)
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


def _naive_width_intervals(y_train: pd.Series, fh: Any, mean: np.ndarray) -> pd.DataFrame:
    """Bounds around the seasonal-naive mean with the widths of the naive (last value)
    forecaster's intervals: a window of one season has no seasonal residuals to size them."""
    from sktime.forecasting.naive import NaiveForecaster

    naive = NaiveForecaster(strategy="last").fit(y_train)
    intervals = naive.predict_interval(fh, coverage=list(COVERAGES))
    centre = naive.predict(fh).to_numpy(dtype=float)
    return intervals.sub(centre, axis=0).add(mean, axis=0)


def _cross_validate(
    name: ModelName,
    task: _SeriesTask,
    config: ForecastConfig,
    seasonal: bool,
) -> _FoldForecasts:
    y, truth, covariates = task.y, task.truth, task.covariates
    period = config.period
    parts: dict[str, list[np.ndarray]] = {
        key: [] for key in ("step", "reach", "actual", "mean", "scale", "expected", "noise_sd")
    }
    lowers: dict[float, list[np.ndarray]] = {c: [] for c in COVERAGES}
    uppers: dict[float, list[np.ndarray]] = {c: [] for c in COVERAGES}
    values = y.to_numpy(dtype=float)
    for n_train in _cutoffs(len(y), config):
        reach = min(config.scored_horizons[-1], len(y) - n_train)
        # Promotions and prices are planned: each fold sees the actual ones after its cutoff.
        mean, lower, upper, _ = _fit_predict(
            name,
            config,
            y.iloc[:n_train],
            reach,
            covariates.iloc[:n_train] if covariates is not None else None,
            covariates.iloc[n_train : n_train + reach] if covariates is not None else None,
            seasonal,
            task.elasticities.get(n_train),
        )
        train = values[:n_train]
        # A window of one season or less has no seasonal differences: scale by the lag-1 MAE.
        lag = period if n_train > period else 1
        scale = float(np.mean(np.abs(train[lag:] - train[:-lag])))
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
        "msis95": _scaled_interval_score(
            actual, folds.lower[0.95][rows], folds.upper[0.95][rows], folds.scale[rows], 0.95
        ),
        "noise_floor_ratio": np.nan,
        "oracle_rmse_ratio": np.nan,
    }
    if folds.expected is not None and folds.noise_sd is not None:
        noise_rms = float(np.sqrt(np.nanmean(folds.noise_sd[rows] ** 2)))
        oracle_rmse = float(np.sqrt(np.nanmean((folds.expected[rows] - actual) ** 2)))
        metrics["noise_floor_ratio"] = rmse / noise_rms if noise_rms > 0 else np.nan
        metrics["oracle_rmse_ratio"] = rmse / oracle_rmse if oracle_rmse > 0 else np.nan
    return metrics


def _scaled_interval_score(
    actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, scale: np.ndarray, coverage: float
) -> float:
    """M4's mean scaled interval score: the interval's width plus ``2 / (1 - coverage)`` times
    how far the actual falls outside it, over the MASE scale (lower is better)."""
    alpha = 1.0 - coverage
    score = (
        (upper - lower)
        + 2.0 / alpha * np.maximum(lower - actual, 0.0)
        + 2.0 / alpha * np.maximum(actual - upper, 0.0)
    )
    return float(np.nanmean(score / scale))


def _forecast_one(task: _SeriesTask, config: ForecastConfig) -> _SeriesOutcome:
    """CV every candidate on one series, choose by the selection metric, refit, forecast."""
    series_id, y = task.series_id, task.y
    seasonal = _seasonal_fits(len(y), config)
    with quiet_sktime():
        folds = {name: _cross_validate(name, task, config, seasonal) for name in config.candidates}
    records: list[dict[str, Any]] = []
    for name, model_folds in folds.items():
        for horizon in config.scored_horizons:
            records.append(
                {"series_id": series_id, "model": name, "horizon": horizon}
                | _horizon_metrics(model_folds, folds[BASELINE], horizon)
            )
    metrics = pd.DataFrame.from_records(records)
    score = metrics.groupby("model", sort=False)[config.selection_metric].mean()
    # Ties (and all-NaN scores) go to the earlier candidate, i.e. the baseline.
    chosen = str(score.fillna(np.inf).idxmin())
    chosen_rows = metrics[metrics["model"] == chosen].assign(model=SELECTED)
    metrics = pd.concat([metrics, chosen_rows], ignore_index=True)

    longest = config.scored_horizons[-1]
    last = _timestamps(y.index)[-1]
    future = pd.date_range(last, periods=longest + 1, freq=config.frequency)[1:]
    plan = None
    if task.plan is not None:
        steps = pd.DatetimeIndex(future).as_unit("us")
        plan = task.plan.reindex(steps.to_period("M") if config.frequency == "MS" else steps)
        if plan.isna().any().any():
            raise ValueError(
                f"future_covariates of series {series_id!r} do not cover the {longest} "
                f"steps after {last.date()}"
            )
    mean, lower, upper, model = _fit_predict(
        chosen,  # type: ignore[arg-type]
        config,
        y,
        longest,
        task.covariates,
        plan,
        seasonal,
        task.elasticities.get(len(y)),
    )
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
