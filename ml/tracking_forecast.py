"""MLflow logging for the forecasting and marketing-ROI models (mirrors ``log_churn_training``).

One experiment per family (``demand_forecast``, ``revenue_forecast``, ``marketing_roi``);
metric names are stable across runs (see ``ForecastResult.flat_metrics`` and
``MediaMixResult.flat_metrics``). Models are logged as pyfunc with a signature, pinned
requirements and an input example, registered, and given the ``challenger`` alias (the first
version also becomes ``champion``). Only the driver process calls these functions.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers and CI

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature

from ml.forecasting import SELECTED, ForecastResult
from ml.marketing_roi import MediaMixResult
from ml.tracking import MlflowSettings, RegisteredVersion, assign_new_version_aliases

ForecastFamily = Literal["demand", "revenue"]
EXPERIMENTS: dict[str, str] = {
    "demand": "demand_forecast",
    "revenue": "revenue_forecast",
    "marketing_roi": "marketing_roi",
}
MODEL_NAMES: dict[str, str] = {
    "demand": "demand_forecaster",
    "revenue": "revenue_forecaster",
    "marketing_roi": "marketing_mmm",
}
# Pinned so that log_model does not infer requirements in a subprocess (7–9 s each).
FORECAST_REQUIREMENTS = [
    "sktime==1.2.0",
    "statsforecast==2.0.3",
    "lightgbm==4.7.0",
    "scikit-learn==1.9.1",
    "pandas==3.0.6",
    "numpy==2.4.6",
]
ROI_REQUIREMENTS = ["pandas==3.0.6", "numpy==2.4.6"]
FAN_CHART_SERIES = 4


class ForecastBundle(mlflow.pyfunc.PythonModel):
    """The chosen, fully refitted forecaster of every series behind one pyfunc.

    Input: ``series_id`` (str) and ``horizon`` (steps, int) per row. Output: one row per
    series and step with the mean and the 80 % and 95 % interval bounds.
    """

    def __init__(self, forecasters: dict[str, Any], frequency: str) -> None:
        self.forecasters = forecasters
        self.frequency = frequency

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        from sktime.forecasting.base import ForecastingHorizon

        from ml.forecasting import quiet_sktime

        frames = []
        for row in model_input.itertuples(index=False):
            series_id, horizon = str(row.series_id), int(row.horizon)
            if series_id not in self.forecasters:
                raise KeyError(f"no forecaster for series {series_id!r}")
            forecaster = self.forecasters[series_id]
            fh = ForecastingHorizon(np.arange(1, horizon + 1), is_relative=True)
            with quiet_sktime():
                mean = forecaster.predict(fh)
                bounds = forecaster.predict_interval(fh, coverage=[0.8, 0.95])
            dates = mean.index
            if isinstance(dates, pd.PeriodIndex):
                dates = dates.to_timestamp(how="start")
            frame = pd.DataFrame(
                {
                    "series_id": series_id,
                    "date": pd.DatetimeIndex(dates).as_unit("us"),
                    "mean": mean.to_numpy(dtype=float),
                }
            )
            for coverage, label in ((0.8, "80"), (0.95, "95")):
                for side in ("lower", "upper"):
                    column = [
                        c for c in bounds.columns if np.isclose(c[1], coverage) and c[2] == side
                    ]
                    frame[f"{side}_{label}"] = bounds[column[0]].to_numpy(dtype=float)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


class ChannelResponseModel(mlflow.pyfunc.PythonModel):
    """Expected daily incremental conversions of a channel at a given adstock level."""

    def __init__(self, channels: pd.DataFrame) -> None:
        self.response = channels.set_index("channel")[
            ["max_daily_conversions", "half_saturation_adstock", "adstock_decay"]
        ].copy()

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        unknown = set(model_input["channel"].astype(str)) - set(self.response.index)
        if unknown:
            raise KeyError(f"no response fitted for channels {sorted(unknown)}")
        fitted = self.response.loc[model_input["channel"].astype(str)].to_numpy()
        adstock = model_input["adstock"].to_numpy(dtype=float)
        incremental = fitted[:, 0] * adstock / (adstock + fitted[:, 1])
        return pd.DataFrame({"incremental_conversions": incremental})


def forecast_fan_chart_png(
    result: ForecastResult, series_id: str, path: Path, history_steps: int = 120
) -> Path:
    """History tail, the forecast and its 80 % and 95 % bands for one series."""
    history = result.history[result.history["series_id"] == series_id].tail(history_steps)
    forecast = result.forecasts[result.forecasts["series_id"] == series_id]
    if forecast.empty:
        raise KeyError(f"no forecast for series {series_id!r}")
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.plot(history["date"], history["value"], color="black", linewidth=0.8, label="observed")
    ax.fill_between(
        forecast["date"], forecast["lower_95"], forecast["upper_95"], alpha=0.2, label="95 %"
    )
    ax.fill_between(
        forecast["date"], forecast["lower_80"], forecast["upper_80"], alpha=0.35, label="80 %"
    )
    ax.plot(forecast["date"], forecast["mean"], label=f"forecast ({forecast['model'].iloc[0]})")
    ax.set_title(f"Forecast of {series_id}")
    ax.legend(loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def roi_by_channel_png(result: MediaMixResult, path: Path) -> Path:
    """Recovered ROI per channel, next to the true ROI when the world's truth was given."""
    channels = result.channels.sort_values("roi", ascending=False)
    x = np.arange(len(channels))
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.4 if result.comparison is not None else 0.8
    ax.bar(x, channels["roi"], width=width, label="model")
    if result.comparison is not None:
        true_roi = result.comparison.set_index("channel").loc[channels["channel"], "true_roi"]
        ax.bar(x + width, true_roi.to_numpy(), width=width, label="truth")
        ax.legend()
    ax.set_xticks(x + (width / 2 if result.comparison is not None else 0), channels["channel"])
    ax.set_ylabel("revenue per unit of spend")
    ax.set_title("Marketing ROI by channel")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _params(config: Any) -> dict[str, str]:
    """Pydantic config as MLflow params (tuples joined so they stay readable)."""
    params = {}
    for key, value in config.model_dump().items():
        params[key] = ",".join(map(str, value)) if isinstance(value, tuple | list) else str(value)
    return params


def _forecast_model_card(result: ForecastResult, family: str, tags: dict[str, str]) -> str:
    summary = result.summary()
    chosen = summary[summary["model"] == SELECTED]
    unit = "days" if result.config.frequency == "D" else "months"
    lines = [
        f"# Model card: {MODEL_NAMES[family]}",
        "",
        f"Per-series {family} forecasts; the model of each series is chosen by expanding-window CV.",
        "",
        "## Data",
        f"- Series: {result.selection.shape[0]}; frequency `{result.config.frequency}`.",
        f"- Candidates: {', '.join(result.config.candidates)}.",
        f"- Chosen: {result.selection['chosen_model'].value_counts().to_dict()}.",
        f"- Data version: `{tags.get('data_version', 'unknown')}`; world seed: `{tags.get('world_seed', 'unknown')}`.",
        "",
        "## Cross-validated quality of the chosen models (mean over series)",
        f"| horizon ({unit}) | MASE vs seasonal naive | coverage 80 % | coverage 95 % | noise-floor ratio |",
        "|---|---|---|---|---|",
    ]
    for row in chosen.itertuples(index=False):
        lines.append(
            f"| {row.horizon} | {row.mase_vs_snaive:.3f} | {row.coverage80:.3f} | "
            f"{row.coverage95:.3f} | {row.noise_floor_ratio:.3f} |"
        )
    lines += [
        "",
        "## Limits",
        "- Promotions and prices enter as known-in-advance covariates (log-linear effects "
        "divided out before ETS/ARIMA); without a plan the forecast assumes the last regular "
        "price and promotions at the historical rate. Market regimes are not inputs.",
        "- The chosen model's CV figures are slightly optimistic (chosen on the same folds).",
    ]
    return "\n".join(lines) + "\n"


def _roi_model_card(result: MediaMixResult, tags: dict[str, str]) -> str:
    lines = [
        f"# Model card: {MODEL_NAMES['marketing_roi']}",
        "",
        "Adstock (geometric) and saturation (x / (x + K)) response per channel; ROI = value per "
        "conversion x incremental conversions / spend.",
        "",
        f"- Value per conversion: {result.config.value_per_conversion}; base rate: `{result.config.base}`.",
        f"- Data version: `{tags.get('data_version', 'unknown')}`; world seed: `{tags.get('world_seed', 'unknown')}`.",
        "",
        "| channel | decay | half-saturation | ROI | true ROI |",
        "|---|---|---|---|---|",
    ]
    truth = (
        result.comparison.set_index("channel")["true_roi"]
        if result.comparison is not None
        else pd.Series(dtype=float)
    )
    for row in result.channels.itertuples(index=False):
        true_roi = f"{truth[row.channel]:.3f}" if row.channel in truth.index else "–"
        lines.append(
            f"| {row.channel} | {row.adstock_decay:.2f} | {row.half_saturation_adstock:.1f} | "
            f"{row.roi:.3f} | {true_roi} |"
        )
    lines += ["", "## Limits", "- Channels are fitted independently; no cross-channel effects."]
    return "\n".join(lines) + "\n"


def _register(
    settings: MlflowSettings, name: str, version: str, run_id: str, experiment_id: str
) -> RegisteredVersion:
    aliases = assign_new_version_aliases(settings, name, version)
    return RegisteredVersion(
        name=name,
        version=version,
        run_id=run_id,
        experiment_id=experiment_id,
        model_uri=f"models:/{name}/{version}",
        aliases=aliases,
    )


def log_forecast_training(
    settings: MlflowSettings,
    result: ForecastResult,
    family: ForecastFamily,
    tags: dict[str, str],
) -> RegisteredVersion:
    """Log a forecasting run: params, metrics, fan charts, CV tables, card, pyfunc model."""
    experiment_id = settings.experiment_id(EXPERIMENTS[family])
    model_name = MODEL_NAMES[family]
    with mlflow.start_run(experiment_id=experiment_id, run_name=model_name, tags=tags) as run:
        mlflow.log_params(_params(result.config) | {"n_series": str(result.selection.shape[0])})
        mlflow.log_metrics(result.flat_metrics())
        with tempfile.TemporaryDirectory() as tmp:
            tmp_dir = Path(tmp)
            for series_id in result.selection["series_id"].head(FAN_CHART_SERIES):
                safe = "".join(ch if ch.isalnum() else "_" for ch in str(series_id))
                forecast_fan_chart_png(result, series_id, tmp_dir / f"fan_chart_{safe}.png")
            result.metrics.to_csv(tmp_dir / "cv_metrics.csv", index=False)
            result.summary().to_csv(tmp_dir / "cv_summary.csv", index=False)
            result.selection.to_csv(tmp_dir / "selection.csv", index=False)
            (tmp_dir / "model_card.md").write_text(_forecast_model_card(result, family, tags))
            mlflow.log_artifacts(str(tmp_dir), artifact_path="reports")
        bundle = ForecastBundle(result.fitted_models, result.config.frequency)
        example = pd.DataFrame(
            {"series_id": result.selection["series_id"].head(2).astype(str), "horizon": 3}
        )
        signature = infer_signature(example, bundle.predict(None, example))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=bundle,
            signature=signature,
            input_example=example,
            pip_requirements=FORECAST_REQUIREMENTS,
            registered_model_name=model_name,
        )
    return _register(
        settings, model_name, str(info.registered_model_version), run.info.run_id, experiment_id
    )


def log_marketing_roi(
    settings: MlflowSettings, result: MediaMixResult, tags: dict[str, str]
) -> RegisteredVersion:
    """Log a media-mix run: params, ROI metrics, ROI bar chart, card, pyfunc response model."""
    experiment_id = settings.experiment_id(EXPERIMENTS["marketing_roi"])
    model_name = MODEL_NAMES["marketing_roi"]
    with mlflow.start_run(experiment_id=experiment_id, run_name=model_name, tags=tags) as run:
        mlflow.log_params(_params(result.config))
        mlflow.log_metrics(result.flat_metrics())
        with tempfile.TemporaryDirectory() as tmp:
            tmp_dir = Path(tmp)
            roi_by_channel_png(result, tmp_dir / "roi_by_channel.png")
            result.channels.to_csv(tmp_dir / "channels.csv", index=False)
            (tmp_dir / "model_card.md").write_text(_roi_model_card(result, tags))
            mlflow.log_artifacts(str(tmp_dir), artifact_path="reports")
        model = ChannelResponseModel(result.channels)
        example = pd.DataFrame(
            {
                "channel": result.channels["channel"].astype(str),
                "adstock": result.channels["half_saturation_adstock"].astype(float),
            }
        )
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=model,
            signature=infer_signature(example, model.predict(None, example)),
            input_example=example,
            pip_requirements=ROI_REQUIREMENTS,
            registered_model_name=model_name,
        )
    return _register(
        settings, model_name, str(info.registered_model_version), run.info.run_id, experiment_id
    )
