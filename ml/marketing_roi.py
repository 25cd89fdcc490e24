"""Marketing ROI: a media-mix model per channel with geometric adstock and Hill saturation.

For each channel, daily conversions are modelled as

    conversions_t ~ Poisson(base + beta * adstock_t / (adstock_t + half_saturation))
    adstock_t = spend_t + decay * adstock_{t-1}

``decay`` and ``half_saturation`` are found on a grid; for each grid point ``base`` and
``beta`` are fitted by non-negative least squares (a conversion count can be neither negative
nor caused by negative spend), and the grid point with the lowest Poisson deviance wins.
The base and the saturation curve trade off against each other when spend stays in the
curve's near-linear part, so by default the base is kept only if BIC prefers it (deviance
lower by more than ``log(n_days)``). A base hidden in the attributed conversions is not
identified from spend variation alone (a strongly saturated curve mimics it), so when one is
known from outside (a holdout test), pass it as ``known_base_daily``.
Incremental conversions are what the spend term predicts (the model's conversions minus the
``base`` it predicts with zero spend), and

    ROI = value_per_conversion * incremental conversions / spend.

In the synthetic world the ``conversions`` column of ``marketing_spend`` holds only the
conversions the channel's spend caused (organic acquisitions are not attributed to any
channel), so ``base`` should come out near zero there; it is kept for real data, where
attributed conversions include some that would have happened anyway.

The input is a plain channel-day frame (``date``, ``channel``, ``spend``, ``conversions``),
so the raw table and the dbt mart ``features.marketing_channel_daily`` both work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator
from scipy.optimize import nnls
from scipy.special import xlogy

DEFAULT_DECAYS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(19))  # 0 .. 0.9
# Half-saturation as a multiple of the channel's mean adstock: from strongly saturated to
# almost linear over the observed range.
DEFAULT_HALF_SATURATION_MULTIPLES: tuple[float, ...] = tuple(
    round(float(x), 4) for x in np.geomspace(0.2, 5.0, 25)
)


class MediaMixConfig(BaseModel):
    """Knobs of one media-mix fit (logged to MLflow as params)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value_per_conversion: float = Field(
        default=420.0, gt=0, description="Revenue a conversion brings (12-month customer value)."
    )
    decays: tuple[float, ...] = Field(
        default=DEFAULT_DECAYS, description="Adstock decays tried (share carried to the next day)."
    )
    half_saturation_multiples: tuple[float, ...] = Field(
        default=DEFAULT_HALF_SATURATION_MULTIPLES,
        description="Half-saturation levels tried, as multiples of the channel's mean adstock.",
    )
    base: Literal["auto", "always", "never"] = Field(
        default="auto",
        description=(
            "Spend-independent base rate (conversions that need no spend): 'auto' keeps it only "
            "when it lowers the Poisson deviance by more than BIC's price of one parameter."
        ),
    )
    known_base_daily: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "Daily conversions per channel that happen without spend, when known from outside "
            "the spend data (a holdout or geo test, organic attribution). The base and the "
            "saturation curve are weakly identified from spend variation alone."
        ),
    )
    min_days: int = Field(default=90, ge=14, description="Fewest days a channel needs.")

    @field_validator("decays")
    @classmethod
    def _decays_in_unit_interval(cls, decays: tuple[float, ...]) -> tuple[float, ...]:
        if not decays or any(not 0 <= d < 1 for d in decays):
            raise ValueError(f"adstock decays must lie in [0, 1), got {decays}")
        return decays

    @field_validator("known_base_daily")
    @classmethod
    def _non_negative_base(cls, base: dict[str, float]) -> dict[str, float]:
        negative = {channel: value for channel, value in base.items() if value < 0}
        if negative:
            raise ValueError(f"known base conversions must be non-negative, got {negative}")
        return base

    @field_validator("half_saturation_multiples")
    @classmethod
    def _positive_multiples(cls, multiples: tuple[float, ...]) -> tuple[float, ...]:
        if not multiples or any(m <= 0 for m in multiples):
            raise ValueError(f"half-saturation multiples must be positive, got {multiples}")
        return multiples


@dataclass(frozen=True)
class ChannelResponse:
    """The fitted response of one channel."""

    channel: str
    adstock_decay: float
    half_saturation_adstock: float
    base_daily_conversions: float
    max_daily_conversions: float  # beta: the response as adstock grows without bound
    total_spend: float
    total_conversions: float
    incremental_conversions: float
    roi: float
    deviance: float
    n_days: int


@dataclass
class MediaMixResult:
    """Per-channel responses, ROI and (when truth is given) the error against the truth."""

    config: MediaMixConfig
    channels: pd.DataFrame  # one row per channel: the ChannelResponse fields
    comparison: pd.DataFrame | None = None  # channel, roi, true_roi, rel_error

    @property
    def max_abs_rel_error(self) -> float:
        if self.comparison is None:
            raise ValueError("no truth was given, so there is no ROI error to report")
        return float(self.comparison["rel_error"].abs().max())

    def flat_metrics(self) -> dict[str, float]:
        """MLflow metrics with stable names: ``roi_<channel>``, ``roi_max_abs_rel_error``."""
        metrics: dict[str, float] = {}
        for row in self.channels.itertuples(index=False):
            metrics[f"roi_{row.channel}"] = float(row.roi)
            metrics[f"adstock_decay_{row.channel}"] = float(row.adstock_decay)
            metrics[f"incremental_conversions_{row.channel}"] = float(row.incremental_conversions)
        if self.comparison is not None:
            for row in self.comparison.itertuples(index=False):
                metrics[f"roi_rel_error_{row.channel}"] = float(row.rel_error)
            metrics["roi_max_abs_rel_error"] = self.max_abs_rel_error
        return metrics


def geometric_adstock(spend: np.ndarray, decay: float) -> np.ndarray:
    """Carry-over of spend: ``a_t = spend_t + decay * a_{t-1}`` (starts from zero)."""
    carried = np.empty(len(spend), dtype=float)
    level = 0.0
    for day, amount in enumerate(spend):  # sequential by definition; channels are short
        level = amount + decay * level
        carried[day] = level
    return carried


def fit_media_mix(
    channel_daily: pd.DataFrame,
    config: MediaMixConfig | None = None,
    truth: pd.DataFrame | None = None,
) -> MediaMixResult:
    """Fit one adstock-saturation response per channel and compute its ROI.

    ``channel_daily`` has one row per date and channel with ``spend`` and ``conversions``
    (the conversions attributed to the channel). ``truth`` (optional) has ``channel`` and
    ``true_roi``; the result then compares the recovered ROI with it.
    """
    config = config or MediaMixConfig()
    frame = _validated_channel_daily(channel_daily, config)
    responses = [
        _fit_channel(str(channel), group.sort_values("date"), config)
        for channel, group in frame.groupby("channel", sort=True)
    ]
    channels = pd.DataFrame([response.__dict__ for response in responses])
    comparison = None
    if truth is not None:
        missing = {"channel", "true_roi"} - set(truth.columns)
        if missing:
            raise ValueError(f"truth lacks columns {sorted(missing)}")
        comparison = channels[["channel", "roi"]].merge(
            truth[["channel", "true_roi"]].astype({"channel": str}), on="channel", how="left"
        )
        if comparison["true_roi"].isna().any():
            unknown = comparison.loc[comparison["true_roi"].isna(), "channel"].tolist()
            raise ValueError(f"truth has no ROI for channels {unknown}")
        comparison["rel_error"] = comparison["roi"] / comparison["true_roi"] - 1
    return MediaMixResult(config=config, channels=channels, comparison=comparison)


def channel_daily_from_marketing_spend(marketing_spend: pd.DataFrame) -> pd.DataFrame:
    """The model's input from the raw ``marketing_spend`` table (a plain column selection)."""
    return marketing_spend[["date", "channel", "spend", "conversions"]].copy()


# --- internals -------------------------------------------------------------------------------


def _validated_channel_daily(channel_daily: pd.DataFrame, config: MediaMixConfig) -> pd.DataFrame:
    required = ("date", "channel", "spend", "conversions")
    missing = [column for column in required if column not in channel_daily.columns]
    if missing:
        raise ValueError(f"channel_daily lacks columns {missing}")
    frame = channel_daily[list(required)].copy()
    frame["date"] = pd.to_datetime(frame["date"])
    frame["channel"] = frame["channel"].astype(str)
    frame["spend"] = frame["spend"].astype(float)
    frame["conversions"] = frame["conversions"].astype(float)
    if frame[["spend", "conversions"]].isna().any().any():
        raise ValueError("spend and conversions must not be missing")
    negative = frame[(frame["spend"] < 0) | (frame["conversions"] < 0)]
    if not negative.empty:
        first = negative.iloc[0]
        raise ValueError(
            f"{len(negative)} channel-days have negative spend or conversions "
            f"(first: {first['channel']} on {first['date'].date()}, spend {first['spend']}, "
            f"conversions {first['conversions']}); refunds must be netted before modelling"
        )
    if frame.duplicated(["date", "channel"]).any():
        raise ValueError("channel_daily has more than one row per date and channel")
    for channel, group in frame.groupby("channel"):
        days = pd.DatetimeIndex(group["date"]).sort_values()
        if len(days) < config.min_days:
            raise ValueError(
                f"channel {channel!r} has {len(days)} days of data; the model needs at least "
                f"{config.min_days} to separate carry-over from saturation"
            )
        if (days[-1] - days[0]).days + 1 != len(days):
            raise ValueError(f"channel {channel!r} has missing days; adstock needs every day")
        if group["spend"].sum() <= 0:
            raise ValueError(f"channel {channel!r} has no spend: its ROI is undefined")
    return frame


def _poisson_deviance(observed: np.ndarray, fitted: np.ndarray) -> float:
    fitted = np.maximum(fitted, 1e-9)
    return float(2 * np.sum(xlogy(observed, observed / fitted) - (observed - fitted)))


def _fit_channel(channel: str, group: pd.DataFrame, config: MediaMixConfig) -> ChannelResponse:
    """The fit with or without a base, as configured; 'auto' lets BIC choose."""
    spend = group["spend"].to_numpy(dtype=float)
    conversions = group["conversions"].to_numpy(dtype=float)
    if channel in config.known_base_daily:
        return _fit_channel_grid(
            channel, spend, conversions, config, False, config.known_base_daily[channel]
        )
    if config.base != "auto":
        return _fit_channel_grid(channel, spend, conversions, config, config.base == "always")
    without_base = _fit_channel_grid(channel, spend, conversions, config, False)
    with_base = _fit_channel_grid(channel, spend, conversions, config, True)
    # Nested models: BIC charges log(n) of deviance for the extra parameter.
    if without_base.deviance - with_base.deviance > np.log(len(spend)):
        return with_base
    return without_base


def _fit_channel_grid(
    channel: str,
    spend: np.ndarray,
    conversions: np.ndarray,
    config: MediaMixConfig,
    fit_base: bool,
    known_base: float = 0.0,
) -> ChannelResponse:
    """Grid over decay x half-saturation; NNLS for base and beta; lowest deviance wins.

    A ``known_base`` is an offset: the spend term is fitted to the conversions above it.
    """
    best: tuple[float, float, float, float, float, np.ndarray] | None = None
    for decay in config.decays:
        carried = geometric_adstock(spend, decay)
        mean_carried = float(carried.mean())
        for multiple in config.half_saturation_multiples:
            half_saturation = multiple * mean_carried
            response = carried / (carried + half_saturation)
            design = (
                np.column_stack([np.ones_like(response), response])
                if fit_base
                else response[:, None]
            )
            coefficients, _ = nnls(design, conversions - known_base)
            fitted = known_base + design @ coefficients
            deviance = _poisson_deviance(conversions, fitted)
            if best is None or deviance < best[0]:
                base = float(coefficients[0]) if fit_base else known_base
                beta = float(coefficients[-1])
                best = (deviance, decay, half_saturation, base, beta, response)
    if best is None:  # unreachable: the validators forbid empty grids
        raise RuntimeError(f"no grid point was fitted for channel {channel!r}")
    deviance, decay, half_saturation, base, beta, response = best
    incremental = beta * float(response.sum())
    total_spend = float(spend.sum())
    return ChannelResponse(
        channel=channel,
        adstock_decay=decay,
        half_saturation_adstock=half_saturation,
        base_daily_conversions=base,
        max_daily_conversions=beta,
        total_spend=total_spend,
        total_conversions=float(conversions.sum()),
        incremental_conversions=incremental,
        roi=config.value_per_conversion * incremental / total_spend,
        deviance=deviance,
        n_days=len(spend),
    )
