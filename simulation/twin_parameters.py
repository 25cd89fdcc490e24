"""The twin's engine parameters, estimated from the warehouse's raw tables.

Each engine gets its inputs from what the business recorded, not from hand-set numbers:

- **support** (:func:`service_centre_from_tickets`): the hourly arrival profile, priority mix,
  first- and second-line handling times, their variability and the escalation share come
  from ``raw.support_tickets``; the first-line headcount from ``raw.employees``;
- **onboarding** (:func:`onboarding_from_stage_runs`): the stage order, empirical duration
  distributions, pass (no-rework) probabilities, rework durations and the case arrival rate
  come from ``raw.onboarding_stage_runs``;
- **supply chain** (:func:`supplier_nodes_from_purchase_orders`,
  :func:`product_stocking_from_demand`): the supplier DAG from ``raw.suppliers``, tier-1
  lead times and disruption delays from ``raw.purchase_orders``, daily demand and its
  forecast errors from ``raw.demand_orders``;
- **effects of price and marketing** (:func:`learned_effects`): measured on the champion
  models, which the caller loads and passes in (:class:`EffectChampions`): the churn price
  elasticity from the churn champion scoring today's customers with price rises, the
  marketing elasticity from the marketing-ROI champion's response curves times the paid share
  of signups in ``raw.marketing_spend`` and ``raw.customers`` (see ``ml/elasticity.py``). The
  world's truth-based values are reported beside them when ``truth.*`` is loaded, never used
  instead. The effect of price on signups is only measured when the offered price varied;
  in the synthetic world it never does, so it is 0 and reported as not identified. The
  effect of product prices on product demand comes from the demand forecaster champion,
  which forecasts with prices and promotions as known inputs.

Some quantities are not observable in those tables. Until the models that will measure them
exist, they are read from the synthetic world's ground truth (``truth.*``) **behind the same
interface**, and each reader says so:

- staff capacity of the onboarding stages (the attempt log shows who worked, not how many
  hours they had): ``truth.process_stage_truth``, else the mean number of people seen per day;
- lead times and disruption probabilities of tier-2/3 suppliers, whom we never order from:
  ``truth.supplier_truth``, else their promised lead times and no disruption of their own;
- the inventory policy (s, S): ``truth.inventory_policy`` (it is ERP configuration).

The forecast errors that size safety stock are those of a 28-day moving average, until a
demand forecaster champion is registered (``ml/forecasting.py``).

Pure functions take frames; :func:`read_twin_parameters` does the reading from DuckDB.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from ingestion.warehouse import table_exists
from ml.elasticity import (
    DEFAULT_SPEND_WINDOW_DAYS,
    PRICE_FEATURE_WINDOW_MONTHS,
    AcquisitionPriceElasticity,
    ChurnPriceElasticity,
    ChurnScorer,
    ProductDemandElasticity,
    acquisition_price_elasticity,
    churn_price_elasticity,
    horizon_average,
    paid_conversion_spend_elasticity,
    paid_share_of_signups,
    product_demand_price_elasticity,
    product_demand_price_elasticity_from_truth,
)
from simulation.engines.process import StageDuration, StageShift, Workflow, WorkflowStage
from simulation.engines.queueing import ServiceCentreConfig
from simulation.engines.supply_chain import InventoryPolicy, SupplierNode
from simulation.scenarios import LearnedEffects

PRIORITY_ORDER: tuple[str, ...] = ("urgent", "high", "normal", "low")
"""Ticket priorities, most urgent first (the queue serves class 0 first)."""

SUPPORT_TEAM = "support"
MAX_EMPIRICAL_OBSERVATIONS = 5_000
FORECAST_WINDOW_DAYS = 28
WORKDAY_START_HOUR = 9.0


# --------------------------------------------------------------------------------------
# Support: the service centre
# --------------------------------------------------------------------------------------
def observed_days(timestamps: pd.Series) -> int:
    """Calendar days from the first to the last timestamp, inclusive."""
    days = pd.to_datetime(timestamps).dt.normalize()
    return int((days.max() - days.min()).days) + 1


def support_agents_on(employees: pd.DataFrame, day: pd.Timestamp, team: str = SUPPORT_TEAM) -> int:
    """Members of ``team`` employed on ``day`` (hired on or before it, not yet left)."""
    hired = pd.to_datetime(employees["hire_date"]) <= day
    left = pd.to_datetime(employees["termination_date"])
    staying = left.isna() | (left > day)
    return int(((employees["team"] == team) & hired & staying).sum())


def service_centre_from_tickets(
    tickets: pd.DataFrame,
    first_line_agents: int,
    *,
    service_level_threshold_minutes: float = 2.0,
) -> ServiceCentreConfig:
    """The support centre as the tickets show it.

    Arrivals per hour of day are tickets opened in that hour divided by the observed days.
    Handling times of tickets that stayed in first line give the first-line mean and its
    coefficient of variation; escalated tickets' extra handling time gives the second line's
    mean. The second-line headcount is not recorded anywhere, so it stays at one agent, and
    no ticket is recorded as abandoned, so customers wait without giving up.
    """
    if tickets.empty:
        raise ValueError("raw.support_tickets is empty: nothing to estimate the queue from")
    if first_line_agents < 1:
        raise ValueError("no support agents are employed: the queue would never be served")
    opened = pd.to_datetime(tickets["opened_at"])
    per_hour = opened.dt.hour.value_counts().reindex(range(24), fill_value=0) / observed_days(
        opened
    )
    seen = set(tickets["priority"].astype(str))
    classes = [p for p in PRIORITY_ORDER if p in seen] + sorted(seen - set(PRIORITY_ORDER))
    shares = tickets["priority"].astype(str).value_counts(normalize=True).reindex(classes)
    escalated = tickets["escalated"].astype(bool).to_numpy()
    handle = tickets["handle_minutes"].astype(float).to_numpy()
    first_line = handle[~escalated] if (~escalated).any() else handle
    first_mean = float(first_line.mean())
    second_extra = float(handle[escalated].mean() - first_mean) if escalated.any() else first_mean
    return ServiceCentreConfig(
        arrivals_per_hour=[float(x) for x in per_hour],
        priority_shares=[float(x) for x in shares / shares.sum()],
        first_line_agents=first_line_agents,
        first_line_mean_service_minutes=first_mean,
        service_time_cv=float(np.std(first_line, ddof=1) / first_mean)
        if first_line.size > 1
        else 1.0,
        escalation_probability=float(escalated.mean()),
        second_line_agents=1,
        # Escalated tickets' extra time; at least a minute when escalations are quick.
        second_line_mean_service_minutes=max(1.0, second_extra),
        mean_patience_minutes=None,
        service_level_threshold_minutes=service_level_threshold_minutes,
    )


# --------------------------------------------------------------------------------------
# Operations: the onboarding workflow
# --------------------------------------------------------------------------------------
class StageCapacity(BaseModel):
    """People on a stage and the productive hours each has a day."""

    model_config = ConfigDict(frozen=True)

    stage: str
    staff: int = Field(ge=1)
    hours_per_day: float = Field(gt=0, le=24)


@dataclass(frozen=True)
class OnboardingParameters:
    """The onboarding workflow and how many new cases arrive a day."""

    workflow: Workflow
    arrivals_per_day: float


def stage_order(stage_runs: pd.DataFrame) -> list[str]:
    """Stages in the order cases go through them (mean position of first attempts)."""
    first = stage_runs[stage_runs["attempt"] == 1].sort_values(["case_id", "queued_at"])
    position = first.groupby("case_id").cumcount()
    return list(position.groupby(first["stage"]).mean().sort_values().index.astype(str))


def stage_capacity_from_truth(process_stage_truth: pd.DataFrame) -> list[StageCapacity]:
    """Ground truth capacity: mean staff and productive minutes a day per stage."""
    return [
        StageCapacity(
            stage=str(row.stage),
            staff=max(1, round(float(row.mean_staff))),
            hours_per_day=float(row.staff_minutes_per_day) / 60.0,
        )
        for row in process_stage_truth.itertuples()
    ]


def stage_capacity_from_runs(stage_runs: pd.DataFrame) -> list[StageCapacity]:
    """Without ground truth: the mean number of people who worked a stage on a day, all day."""
    day = pd.to_datetime(stage_runs["started_at"]).dt.normalize()
    people = stage_runs.groupby([day, stage_runs["stage"]])["handled_by"].nunique()
    return [
        StageCapacity(stage=str(stage), staff=max(1, math.ceil(mean)), hours_per_day=24.0)
        for stage, mean in people.groupby(level=1).mean().items()
    ]


def onboarding_from_stage_runs(
    stage_runs: pd.DataFrame, capacity: list[StageCapacity], *, seed: int = 0
) -> OnboardingParameters:
    """The onboarding workflow as the attempt log shows it.

    Each stage is a step of a chain in the observed order. Its duration is the empirical
    distribution of first-attempt hours (a seeded subsample when there are many), its pass
    probability is the share of attempts not sent to rework, and a rework takes the ratio of
    the mean rework-attempt to the mean first-attempt duration. Capacity (``capacity``)
    becomes the stage's staff and a daily shift of that many productive hours.
    """
    if stage_runs.empty:
        raise ValueError(
            "raw.onboarding_stage_runs is empty: nothing to estimate the workflow from"
        )
    runs = stage_runs.assign(
        hours=(
            pd.to_datetime(stage_runs["ended_at"]) - pd.to_datetime(stage_runs["started_at"])
        ).dt.total_seconds()
        / 3600.0
    )
    by_stage = {c.stage: c for c in capacity}
    order = stage_order(runs)
    missing = set(order) - set(by_stage)
    if missing:
        raise ValueError(f"no capacity known for onboarding stages {sorted(missing)}")
    rng = np.random.default_rng(seed)
    stages = []
    for i, name in enumerate(order):
        stage = runs[runs["stage"] == name]
        first = stage.loc[stage["attempt"] == 1, "hours"].to_numpy()
        again = stage.loc[stage["attempt"] > 1, "hours"].to_numpy()
        if first.size > MAX_EMPIRICAL_OBSERVATIONS:
            first = rng.choice(first, MAX_EMPIRICAL_OBSERVATIONS, replace=False)
        pass_probability = 1.0 - float((stage["outcome"] == "rework").mean())
        cap = by_stage[name]
        stages.append(
            WorkflowStage(
                name=name,
                duration=StageDuration(
                    kind="empirical", observed_hours=[float(h) for h in np.maximum(first, 0)]
                ),
                pass_probability=max(pass_probability, 1e-3),
                rework_fraction=float(again.mean() / first.mean()) if again.size else 1.0,
                depends_on=[order[i - 1]] if i else [],
                staff=cap.staff,
                shift=None
                if cap.hours_per_day >= 24
                else StageShift(
                    start_hour=WORKDAY_START_HOUR,
                    end_hour=min(24.0, WORKDAY_START_HOUR + cap.hours_per_day),
                ),
            )
        )
    first_stage = runs[(runs["stage"] == order[0]) & (runs["attempt"] == 1)]
    arrivals = first_stage["case_id"].nunique() / observed_days(first_stage["queued_at"])
    return OnboardingParameters(
        workflow=Workflow(name="customer_onboarding", stages=stages),
        arrivals_per_day=float(arrivals),
    )


# --------------------------------------------------------------------------------------
# Supply chain: the supplier DAG and the stocking policy per product
# --------------------------------------------------------------------------------------
def _lognormal_mean_cv(log_mean: float, log_sd: float) -> tuple[float, float]:
    return math.exp(log_mean + log_sd**2 / 2), math.sqrt(math.expm1(log_sd**2))


def supplier_nodes_from_purchase_orders(
    suppliers: pd.DataFrame,
    purchase_orders: pd.DataFrame,
    supplier_truth: pd.DataFrame | None = None,
) -> list[SupplierNode]:
    """The supplier network: the DAG from ``raw.suppliers``, parameters from our orders.

    Suppliers we order from (tier 1) get the mean and CV of their undisrupted order-to-
    delivery days, and the share of disrupted orders as their disruption probability (it
    includes disruptions passed down from their suppliers). The recovery delay is the mean
    extra lateness of disrupted orders. Capacity share is capacity over the volume we order.
    Upstream suppliers are invisible in our orders: their lead times and own disruption
    probability come from ``supplier_truth`` when given, else from their promised lead time
    (CV 0.3) with no disruption of their own. Their volume is what they pass downstream.
    """
    if purchase_orders.empty:
        raise ValueError("raw.purchase_orders is empty: nothing to estimate lead times from")
    orders = purchase_orders.assign(
        lead_days=(
            pd.to_datetime(purchase_orders["delivered_date"])
            - pd.to_datetime(purchase_orders["order_date"])
        ).dt.days,
        late_days=(
            pd.to_datetime(purchase_orders["delivered_date"])
            - pd.to_datetime(purchase_orders["promised_date"])
        ).dt.days,
    ).dropna(subset=["lead_days"])
    disrupted = orders["disrupted"].astype(bool)
    extra = orders.loc[disrupted, "late_days"].mean() - orders.loc[~disrupted, "late_days"].mean()
    delay = float(extra) if disrupted.any() and extra > 0 else 14.0
    days = observed_days(orders["order_date"])
    volume = (orders.groupby("supplier_id")["quantity"].sum() / days).to_dict()
    truth = supplier_truth.set_index("supplier_id") if supplier_truth is not None else None

    upstream: dict[str, list[str]] = {str(s): [] for s in suppliers["supplier_id"]}
    for row in suppliers.dropna(subset=["supplies_to"]).itertuples():
        upstream[str(row.supplies_to)].append(str(row.supplier_id))
    # Volume flows up the tiers, split equally between a node's suppliers.
    for row in suppliers.sort_values("tier").itertuples():
        sid = str(row.supplier_id)
        for parent in upstream[sid]:
            volume[parent] = volume.get(parent, 0.0) + volume.get(sid, 0.0) / len(upstream[sid])

    nodes = []
    for row in suppliers.sort_values(["tier", "supplier_id"]).itertuples():
        sid = str(row.supplier_id)
        own = orders[(orders["supplier_id"] == sid) & ~disrupted]
        if len(own) >= 2:
            mean = float(own["lead_days"].mean())
            cv = float(own["lead_days"].std(ddof=1) / mean)
            probability = float(disrupted[orders["supplier_id"] == sid].mean())
        elif truth is not None and sid in truth.index:
            mean, cv = _lognormal_mean_cv(
                float(truth.at[sid, "lead_time_log_mean"]), float(truth.at[sid, "lead_time_log_sd"])
            )
            probability = float(truth.at[sid, "base_disruption_probability"])
        else:
            mean, cv, probability = float(row.promised_lead_time_days), 0.3, 0.0
        shipped = volume.get(sid, 0.0)
        nodes.append(
            SupplierNode(
                name=sid,
                suppliers=upstream[sid],
                lead_time_mean_days=max(mean, 0.5),
                lead_time_cv=cv,
                capacity_share=float(row.capacity_units_per_day) / shipped if shipped else 10.0,
                disruption_probability=probability,
                disruption_delay_days=delay,
            )
        )
    return nodes


class ProductStocking(BaseModel):
    """One stocked product: its (s, S) policy, supplier and demand as the forecaster sees it."""

    model_config = ConfigDict(frozen=True)

    product_id: str
    supplier: str = Field(description="Primary supplier the product is reordered from.")
    policy: InventoryPolicy
    daily_forecast: float = Field(ge=0, description="Forecast daily demand in units.")
    forecast_errors: list[float] = Field(
        description="Out-of-sample daily errors (actual - forecast)."
    )


def moving_average_forecast_errors(
    daily_demand: pd.Series, window: int = FORECAST_WINDOW_DAYS
) -> tuple[float, np.ndarray]:
    """Forecast (mean of the last ``window`` days) and the rule's one-step-ahead errors."""
    values = daily_demand.to_numpy(dtype=float)
    if values.size <= window:
        raise ValueError(f"need more than {window} days of demand, got {values.size}")
    trailing = np.convolve(values, np.ones(window) / window, mode="valid")[:-1]
    errors = values[window:] - trailing
    return float(values[-window:].mean()), errors


def product_stocking_from_demand(
    demand_orders: pd.DataFrame, inventory_policy: pd.DataFrame
) -> list[ProductStocking]:
    """Every product with a reorder policy, its demand forecast and forecast errors.

    Demand is orders per day over all regions, one unit per order (as the inventory is run).
    """
    daily = demand_orders.groupby(["product_id", "date"])["orders"].sum()
    stocked = []
    for row in inventory_policy.sort_values("product_id").itertuples():
        forecast, errors = moving_average_forecast_errors(daily.loc[row.product_id])
        stocked.append(
            ProductStocking(
                product_id=str(row.product_id),
                supplier=str(row.primary_supplier_id),
                policy=InventoryPolicy(
                    reorder_point=float(row.reorder_point), order_up_to=float(row.order_up_to)
                ),
                daily_forecast=forecast,
                forecast_errors=[float(e) for e in errors],
            )
        )
    return stocked


# --------------------------------------------------------------------------------------
# Effects of price and marketing, measured on the champion models
# --------------------------------------------------------------------------------------
PRICE_SHOCK_FADE_MONTHS = 3.0
CHURN_FEATURES_TABLE = "features.customer_month_churn_features"
EFFECTS_TABLE = "twin_effects"
"""The measured effects' table in the ``results`` schema (the twin_effects asset writes it)."""
EFFECT_COLUMNS = ("figure", "measured", "truth", "model", "model_version", "note", "horizon_months")
CHURN_MONTH_FIGURE = "churn_price_elasticity_month_"


@dataclass(frozen=True)
class ModelVersion:
    """A registered model's name and version."""

    name: str
    version: str


@dataclass(frozen=True)
class EffectChampions:
    """The champion models the elasticities are measured on, loaded by the caller.

    ``churn_scorer`` returns churn probabilities of churn-feature rows (the churn champion's
    ``predict_proba``); ``marketing_responses`` are the marketing-ROI champion's fitted
    response curves (``channel``, ``adstock_decay``, ``half_saturation_adstock``,
    ``max_daily_conversions``). The registered names and versions are what the results cite.
    """

    churn_scorer: ChurnScorer
    churn: ModelVersion
    marketing_responses: pd.DataFrame
    marketing: ModelVersion
    demand_forecasters: Mapping[str, Any]  # the demand champion's fitted forecasters by series
    demand: ModelVersion


@dataclass(frozen=True)
class MeasuredEffects:
    """The elasticities the scenarios apply, how they were measured, and the truth if known."""

    effects: LearnedEffects
    truth: LearnedEffects | None  # from the synthetic world's laws, when truth.* is loaded
    churn: ChurnPriceElasticity
    paid_conversion_elasticity: float
    paid_share_of_signups: float
    acquisition_price: AcquisitionPriceElasticity
    product_demand: ProductDemandElasticity
    models: tuple[ModelVersion, ModelVersion, ModelVersion]  # churn, marketing, demand
    horizon_months: int  # that the churn elasticity is averaged over

    def record(self) -> RecordedEffects:
        """The measurement as ``results.twin_effects`` stores it, one row per figure."""
        truth = self.truth
        churn_model, marketing_model, demand_model = ((m.name, m.version) for m in self.models)
        churn_note = (
            f"newest month's {self.churn.n_customers} customers scored with price rises "
            f"{', '.join(f'+{r:.0%}' for r in self.churn.rises)}; mean churn "
            f"{self.churn.baseline_churn:.4f}"
        )
        rows: list[tuple[str, float, float | None, str | None, str | None, str]] = [
            (
                "churn_price_elasticity",
                self.effects.churn_price_elasticity,
                truth.churn_price_elasticity if truth else None,
                *churn_model,
                f"average over {self.horizon_months} months; {churn_note}",
            ),
            *(
                (
                    f"{CHURN_MONTH_FIGURE}{k}",
                    value,
                    None,
                    *churn_model,
                    f"month {k} after the rise"
                    + ("; later months alike" if k == PRICE_FEATURE_WINDOW_MONTHS else ""),
                )
                for k, value in enumerate(self.churn.by_month[: PRICE_FEATURE_WINDOW_MONTHS + 1])
            ),
            (
                "acquisition_marketing_elasticity",
                self.effects.acquisition_marketing_elasticity,
                truth.acquisition_marketing_elasticity if truth else None,
                *marketing_model,
                "paid conversions' elasticity times the paid share of signups",
            ),
            (
                "paid_conversion_elasticity",
                self.paid_conversion_elasticity,
                None,
                *marketing_model,
                f"response curves at the last {DEFAULT_SPEND_WINDOW_DAYS} days' spend",
            ),
            (
                "paid_share_of_signups",
                self.paid_share_of_signups,
                None,
                None,
                None,
                f"raw.marketing_spend and raw.customers, last {DEFAULT_SPEND_WINDOW_DAYS} days",
            ),
            (
                "acquisition_price_elasticity",
                self.effects.acquisition_price_elasticity,
                truth.acquisition_price_elasticity if truth else None,
                None,
                None,
                ("measured: " if self.acquisition_price.identified else "not identified, 0: ")
                + self.acquisition_price.explanation,
            ),
            (
                "product_demand_price_elasticity",
                self.effects.product_demand_price_elasticity,
                truth.product_demand_price_elasticity if truth else None,
                *demand_model,
                f"total orders at prices +{self.product_demand.rise:.0%}; "
                f"{self.product_demand.price_aware_series} of {self.product_demand.series} "
                "series price-aware",
            ),
        ]
        table = pd.DataFrame(rows, columns=list(EFFECT_COLUMNS[:-1])).assign(
            horizon_months=self.horizon_months
        )
        return RecordedEffects(table)


@dataclass(frozen=True)
class RecordedEffects:
    """The elasticities as measured once on the champions: the rows of results.twin_effects.

    Columns: ``figure``, ``measured``, ``truth`` (from the world's laws, when known),
    ``model`` and ``model_version`` (the champion it was measured on), ``note`` (how) and
    ``horizon_months`` (that the churn average is over). Scenario runs read it instead of
    measuring again; a revenue horizon other than the recorded one re-averages the churn
    elasticity from its per-month rows.
    """

    table: pd.DataFrame

    def __post_init__(self) -> None:
        missing = [c for c in EFFECT_COLUMNS if c not in self.table.columns]
        if missing:
            raise ValueError(f"results.{EFFECTS_TABLE} lacks the columns {missing}")
        figures = set(self.table["figure"])
        needed = [*LearnedEffects.model_fields, f"{CHURN_MONTH_FIGURE}0"]
        absent = [f for f in needed if f not in figures]
        if absent:
            raise ValueError(
                f"results.{EFFECTS_TABLE} lacks the figures {absent}: materialize twin_effects"
            )

    def value(self, figure: str) -> float:
        return float(self.table.loc[self.table["figure"] == figure, "measured"].iloc[0])

    def churn_by_month(self) -> list[float]:
        """The churn elasticity in month 0, 1, ... after a rise (the rows keep no order)."""
        months = self.table[self.table["figure"].str.startswith(CHURN_MONTH_FIGURE)]
        month = months["figure"].str.removeprefix(CHURN_MONTH_FIGURE).astype(int)
        return months["measured"].astype(float).to_numpy()[month.argsort().to_numpy()].tolist()

    def for_horizon(self, horizon_months: int) -> LearnedEffects:
        """The effects a scenario applies over ``horizon_months`` months."""
        return LearnedEffects(
            churn_price_elasticity=horizon_average(self.churn_by_month(), horizon_months),
            acquisition_price_elasticity=self.value("acquisition_price_elasticity"),
            acquisition_marketing_elasticity=self.value("acquisition_marketing_elasticity"),
            product_demand_price_elasticity=self.value("product_demand_price_elasticity"),
        )

    @property
    def model_versions(self) -> dict[str, str]:
        """The champion versions measured on, by registered model name."""
        rows = self.table.dropna(subset=["model", "model_version"])
        return dict(zip(rows["model"], rows["model_version"].astype(str), strict=False))

    @property
    def source(self) -> str:
        versions = ", ".join(f"{m} v{v}" for m, v in sorted(self.model_versions.items()))
        acquisition = self.table.loc[
            self.table["figure"] == "acquisition_price_elasticity", "note"
        ].iloc[0]
        return f"measured on {versions}; acquisition price: {acquisition}"

    def summary(self) -> dict[str, float | str | None]:
        """Measured and true values side by side, and the versions (Dagster metadata, logs)."""
        out: dict[str, float | str | None] = {}
        for row in self.table.itertuples(index=False):
            if row.figure.startswith(CHURN_MONTH_FIGURE):
                continue
            out[row.figure] = float(row.measured)
            if pd.notna(row.truth):
                out[f"{row.figure}_truth"] = float(row.truth)
        out["churn_price_elasticity_by_month"] = ", ".join(
            f"{e:.2f}" for e in self.churn_by_month()
        )
        by_figure = self.table.set_index("figure")
        for figure, role in (
            ("churn_price_elasticity", "churn_model"),
            ("acquisition_marketing_elasticity", "marketing_model"),
            ("product_demand_price_elasticity", "demand_model"),
        ):
            out[role] = by_figure.at[figure, "model"]
            out[f"{role}_version"] = by_figure.at[figure, "model_version"]
        return out


def churn_price_elasticity_from_truth(
    sensitivity_log_odds: float, mean_churn_probability: float, horizon_months: int
) -> float:
    """d log(churn) / d log(price), averaged over the horizon, from the world's churn law.

    The world adds ``sensitivity * relative price rise`` to the churn log-odds and the shock
    fades by ``exp(-1/3)`` a month. Near the mean churn ``p`` that is an elasticity of
    ``sensitivity * (1 - p)`` in the first month; the revenue engine applies one constant
    factor, so it gets the horizon's average.
    """
    fade = np.exp(-np.arange(horizon_months) / PRICE_SHOCK_FADE_MONTHS).mean()
    return float(sensitivity_log_odds * (1.0 - mean_churn_probability) * fade)


def effects_from_truth(
    con: duckdb.DuckDBPyConnection, marketing_spend: pd.DataFrame, horizon_months: int
) -> LearnedEffects | None:
    """The elasticities the synthetic world's own laws imply (None without ``truth.*``)."""
    if not (
        table_exists(con, "truth", "customer_churn")
        and table_exists(con, "truth", "marketing_channels")
    ):
        return None
    # Imported here: the world generator is only needed for its ground-truth laws.
    from simulation.world.customers import CHURN_PRICE_SENSITIVITY
    from simulation.world.demand import PRICE_ELASTICITY, PRODUCT_IDS
    from simulation.world.marketing import PAID_SHARE_OF_ACQUISITION

    orders = con.execute(
        "select product_id, sum(orders) from raw.demand_orders group by product_id"
    ).fetchall()
    mean_churn = con.execute(
        """select avg(churn_probability) from truth.customer_churn
        where month_start = (select max(month_start) from truth.customer_churn)"""
    ).fetchone()[0]
    true_curves = _table(con, "truth", "marketing_channels")
    return LearnedEffects(
        churn_price_elasticity=churn_price_elasticity_from_truth(
            CHURN_PRICE_SENSITIVITY, float(mean_churn), horizon_months
        ),
        # The world's signups have no price term.
        acquisition_price_elasticity=0.0,
        acquisition_marketing_elasticity=PAID_SHARE_OF_ACQUISITION
        * paid_conversion_spend_elasticity(true_curves, marketing_spend),
        product_demand_price_elasticity=product_demand_price_elasticity_from_truth(
            dict(zip(PRODUCT_IDS, PRICE_ELASTICITY.tolist(), strict=True)),
            {str(product): float(total) for product, total in orders},
        ),
    )


def learned_effects(
    con: duckdb.DuckDBPyConnection, champions: EffectChampions, horizon_months: int = 12
) -> MeasuredEffects:
    """The price and marketing elasticities, measured on the champion models (ml.elasticity).

    - churn: the churn champion scores the feature mart's newest month as it is and with
      price rises (:func:`ml.elasticity.churn_price_elasticity`), averaged over the horizon;
    - marketing: the marketing-ROI champion's response curves at the last 90 days' spend
      (:func:`ml.elasticity.paid_conversion_spend_elasticity`) times the paid share of new
      customers measured in ``raw.marketing_spend`` and ``raw.customers``;
    - price on acquisition: measured from signups when the offered price ever varied, else 0
      and flagged as not identified (:func:`ml.elasticity.acquisition_price_elasticity`);
    - product prices on product demand: the demand champion's total orders with every planned
      price 5 % higher (:func:`ml.elasticity.product_demand_price_elasticity`).

    When the world's ground truth is loaded, the values its laws imply come along for
    comparison; they are never used in place of the measurement.
    """
    if not table_exists(con, "features", "customer_month_churn_features"):
        raise LookupError(
            f"{CHURN_FEATURES_TABLE} is missing: materialize the dbt feature mart; the churn "
            "champion scores its newest month to measure the price elasticity"
        )
    features = _table(con, "features", "customer_month_churn_features")
    if features.empty:
        raise LookupError(f"{CHURN_FEATURES_TABLE} is empty: materialize the feature mart first")
    latest = features[features["month_start"] == features["month_start"].max()]
    churn = churn_price_elasticity(champions.churn_scorer, latest, horizon_months)
    marketing_spend = _table(con, "raw", "marketing_spend")
    customers = _table(con, "raw", "customers")
    paid_elasticity = paid_conversion_spend_elasticity(
        champions.marketing_responses, marketing_spend
    )
    paid_share = paid_share_of_signups(marketing_spend, customers, DEFAULT_SPEND_WINDOW_DAYS)
    acquisition_price = acquisition_price_elasticity(customers, marketing_spend)
    product_demand = product_demand_price_elasticity(champions.demand_forecasters)
    effects = LearnedEffects(
        churn_price_elasticity=churn.elasticity,
        acquisition_price_elasticity=acquisition_price.elasticity,
        acquisition_marketing_elasticity=paid_share * paid_elasticity,
        product_demand_price_elasticity=product_demand.elasticity,
    )
    for name, value in effects.model_dump().items():
        if not math.isfinite(value):
            raise ValueError(
                f"the measured {name} is {value}: the champions cannot be used for what-if "
                "scenarios (retrain on a longer window with price tests in it)"
            )
    return MeasuredEffects(
        effects=effects,
        truth=effects_from_truth(con, marketing_spend, horizon_months),
        churn=churn,
        paid_conversion_elasticity=paid_elasticity,
        paid_share_of_signups=paid_share,
        acquisition_price=acquisition_price,
        product_demand=product_demand,
        models=(champions.churn, champions.marketing, champions.demand),
        horizon_months=horizon_months,
    )


def read_recorded_effects(con: duckdb.DuckDBPyConnection) -> RecordedEffects:
    """The effects the twin_effects asset measured, from ``results.twin_effects``."""
    if not table_exists(con, "results", EFFECTS_TABLE):
        raise LookupError(
            f"results.{EFFECTS_TABLE} is missing: materialize the twin_effects asset; the "
            "scenarios apply the price and marketing effects measured there on the champions"
        )
    return RecordedEffects(con.execute(f"select * from results.{EFFECTS_TABLE}").df())


# --------------------------------------------------------------------------------------
# Reading it all from the warehouse
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TwinParameters:
    """Every engine's inputs for the business as it is (the baseline)."""

    service_centre: ServiceCentreConfig
    onboarding: OnboardingParameters
    supplier_nodes: list[SupplierNode]
    products: list[ProductStocking]
    recorded_effects: RecordedEffects | None  # None when read without them
    horizon_months: int  # of the revenue scenarios, which average the churn effect over it
    sources: dict[str, str]

    @property
    def effects(self) -> LearnedEffects:
        """The elasticities the scenarios apply over the horizon; only known when read with them."""
        if self.recorded_effects is None:
            raise LookupError(
                "the price and marketing effects were not given: read the twin parameters with "
                "the effects measured on the champions (read_recorded_effects)"
            )
        return self.recorded_effects.for_horizon(self.horizon_months)


def _table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> pd.DataFrame:
    if not table_exists(con, schema, table):
        raise LookupError(f"{schema}.{table} is missing: materialize the ingestion assets first")
    return con.execute(f'select * from {schema}."{table}"').df()


def read_twin_parameters(
    con: duckdb.DuckDBPyConnection,
    effects: RecordedEffects | None,
    *,
    horizon_months: int = 12,
    service_level_threshold_minutes: float = 2.0,
) -> TwinParameters:
    """Estimate every engine's parameters from the warehouse (see the module docstring).

    ``effects`` are the price and marketing effects measured on the champions
    (:func:`learned_effects`, recorded by the twin_effects asset). Without them the queue
    engine still runs; the revenue and onboarding engines need them, and the supply-chain
    engine does when a scenario changes product prices.
    """
    tickets = _table(con, "raw", "support_tickets")
    employees = _table(con, "raw", "employees")
    last_day = pd.to_datetime(tickets["opened_at"]).max().normalize()
    service_centre = service_centre_from_tickets(
        tickets,
        support_agents_on(employees, last_day),
        service_level_threshold_minutes=service_level_threshold_minutes,
    )
    stage_runs = _table(con, "raw", "onboarding_stage_runs")
    if table_exists(con, "truth", "process_stage_truth"):
        capacity = stage_capacity_from_truth(_table(con, "truth", "process_stage_truth"))
        capacity_source = "truth.process_stage_truth"
    else:
        capacity = stage_capacity_from_runs(stage_runs)
        capacity_source = "raw.onboarding_stage_runs (people seen a day)"
    supplier_truth = (
        _table(con, "truth", "supplier_truth")
        if table_exists(con, "truth", "supplier_truth")
        else None
    )
    return TwinParameters(
        service_centre=service_centre,
        onboarding=onboarding_from_stage_runs(stage_runs, capacity),
        supplier_nodes=supplier_nodes_from_purchase_orders(
            _table(con, "raw", "suppliers"), _table(con, "raw", "purchase_orders"), supplier_truth
        ),
        products=product_stocking_from_demand(
            _table(con, "raw", "demand_orders"), _table(con, "truth", "inventory_policy")
        ),
        recorded_effects=effects,
        horizon_months=horizon_months,
        sources={
            "support": "raw.support_tickets, raw.employees",
            "onboarding": f"raw.onboarding_stage_runs; capacity: {capacity_source}",
            "suppliers": "raw.suppliers, raw.purchase_orders; upstream: "
            + ("truth.supplier_truth" if supplier_truth is not None else "promised lead times"),
            "inventory": "raw.demand_orders (28-day moving-average errors), truth.inventory_policy",
            "effects": effects.source if effects else "not given (no champions measured)",
        },
    )
