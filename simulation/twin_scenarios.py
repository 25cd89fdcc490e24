"""What-if runs of the twin: each engine under a scenario, replicated, and compared.

A *twin engine* (:class:`RevenueTwin`, :class:`ServiceQueueTwin`, :class:`OnboardingTwin`,
:class:`SupplyChainTwin`) is one engine's inputs after a scenario was applied to the
baseline parameters (:func:`engines_for_scenario`). ``replicate(rng)`` runs one replication
and returns its KPIs as a vector in ``kpi_names`` order.

Replications are seeded so that scenarios share their random numbers: replication ``r``
always draws from ``SeedSequence(seed).spawn(n)[r]`` (equivalently
``SeedSequence(seed, spawn_key=(r,))``), whether it runs on Ray through
:func:`run_replications` (``run_chunked`` with one replication per chunk) or inside
:func:`simulation.scenarios.compare_scenarios`. So the replication tables of two scenarios
can be paired, and :func:`compare_with_baseline` reuses replications already run.

Steady-state queue KPIs delete the warm-up: contacts and work items that arrive in the first
``warm_up_days`` are simulated but not counted.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from simulation.engines.finance import (
    RevenueModel,
    probability_of_missing_plan,
    simulate_revenue_paths,
)
from simulation.engines.process import Workflow, simulate_staffed_workflow
from simulation.engines.queueing import (
    ServiceCentreConfig,
    ServiceCentreOutcome,
    simulate_service_centre,
)
from simulation.engines.supply_chain import (
    SupplierNode,
    SupplyNetwork,
    simulate_inventory,
    simulate_supply_network,
)
from simulation.parallel import run_chunked
from simulation.scenarios import (
    LearnedEffects,
    Scenario,
    apply_to_revenue_model,
    apply_to_service_centre,
    apply_to_supplier_nodes,
    compare_scenarios,
)
from simulation.twin_parameters import OnboardingParameters, ProductStocking, TwinParameters

MINUTES_PER_DAY = 24 * 60


class TwinEngine(Protocol):
    """One engine's inputs under one scenario."""

    engine: str

    @property
    def kpi_names(self) -> list[str]: ...

    def replicate(self, rng: np.random.Generator) -> np.ndarray: ...

    def cache_key(self) -> str: ...


def _key(*parts: object) -> str:
    return "|".join(
        p.model_dump_json() if hasattr(p, "model_dump_json") else repr(p) for p in parts
    )


# --------------------------------------------------------------------------------------
# Finance
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RevenueTwin:
    """Revenue paths of the customer base; the plan is the baseline's, for every scenario."""

    model: RevenueModel
    plan: np.ndarray = field(repr=False)
    paths_per_replication: int = 1_000
    engine: str = "revenue"

    @property
    def horizon_months(self) -> int:
        return len(self.plan)

    @property
    def kpi_names(self) -> list[str]:
        return ["expected_total_revenue", "probability_of_missing_plan", "month_1_revenue"]

    def paths(self, rng: np.random.Generator, n_paths: int) -> np.ndarray:
        return simulate_revenue_paths(self.model, n_paths, self.horizon_months, rng, threads=1)

    def replicate(self, rng: np.random.Generator) -> np.ndarray:
        paths = self.paths(rng, self.paths_per_replication)
        return np.array(
            [
                paths.sum(axis=1).mean(),
                probability_of_missing_plan(paths, self.plan),
                paths[:, 0].mean(),
            ]
        )

    def cache_key(self) -> str:
        return _key(self.engine, self.model, tuple(self.plan), self.paths_per_replication)


def planned_revenue(model: RevenueModel, horizon_months: int, growth_pct: float) -> np.ndarray:
    """Today's monthly revenue grown by ``growth_pct`` a month: the plan to beat."""
    current = sum(s.active_customers * s.monthly_price for s in model.segments)
    return current * (1 + growth_pct / 100) ** np.arange(1, horizon_months + 1)


# --------------------------------------------------------------------------------------
# Support queue
# --------------------------------------------------------------------------------------
def after_warm_up(outcome: ServiceCentreOutcome, warm_up_minutes: float) -> ServiceCentreOutcome:
    """Only the contacts that arrived after the warm-up (warm-up deletion)."""
    kept = outcome.arrival_minute >= warm_up_minutes
    return ServiceCentreOutcome(
        arrival_minute=outcome.arrival_minute[kept],
        priority=outcome.priority[kept],
        first_line_wait_minutes=outcome.first_line_wait_minutes[kept],
        second_line_wait_minutes=outcome.second_line_wait_minutes[kept],
        escalated=outcome.escalated[kept],
        abandoned=outcome.abandoned[kept],
        satisfaction=outcome.satisfaction[kept],
    )


WAIT_HISTOGRAM_EDGES = np.array([0, 0.5, 1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, np.inf])
"""Bins (minutes) of the first-line wait histogram a replication returns."""


@dataclass(frozen=True)
class ServiceQueueTwin:
    """The support centre run for ``horizon_days``, warm-up deleted."""

    config: ServiceCentreConfig
    horizon_days: float = 14.0
    warm_up_days: float = 1.0
    engine: str = "service_queue"

    @property
    def summary_names(self) -> list[str]:
        return [
            "contacts",
            "mean_first_line_wait_minutes",
            "p90_total_wait_minutes",
            "service_level",
            "abandonment_rate",
            "escalation_rate",
            "mean_satisfaction",
        ]

    @property
    def kpi_names(self) -> list[str]:
        bins = [f"wait_bin_{i}" for i in range(len(WAIT_HISTOGRAM_EDGES) - 1)]
        return self.summary_names + bins

    def replicate(self, rng: np.random.Generator) -> np.ndarray:
        outcome = simulate_service_centre(self.config, self.horizon_days * MINUTES_PER_DAY, rng)
        counted = after_warm_up(outcome, self.warm_up_days * MINUTES_PER_DAY)
        if counted.abandoned.size == 0:
            raise ValueError("no contacts after the warm-up: lengthen horizon_days")
        summary = counted.summary(self.config.service_level_threshold_minutes)
        histogram, _ = np.histogram(counted.first_line_wait_minutes, WAIT_HISTOGRAM_EDGES)
        return np.concatenate([[summary[n] for n in self.summary_names], histogram])

    def cache_key(self) -> str:
        return _key(self.engine, self.config, self.horizon_days, self.warm_up_days)


# --------------------------------------------------------------------------------------
# Onboarding workflow
# --------------------------------------------------------------------------------------
CYCLE_HISTOGRAM_EDGES_HOURS = np.array(
    [0, 2, 4, 8, 12, 24, 36, 48, 72, 96, 120, 168, 240, 336, np.inf]
)


@dataclass(frozen=True)
class OnboardingTwin:
    """The staffed onboarding workflow run for ``horizon_days``, warm-up deleted."""

    workflow: Workflow
    arrivals_per_day: float
    horizon_days: float = 90.0
    warm_up_days: float = 15.0
    engine: str = "onboarding_process"

    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self.workflow.stages]

    @property
    def kpi_names(self) -> list[str]:
        stages = self.stage_names
        bins = [f"cycle_bin_{i}" for i in range(len(CYCLE_HISTOGRAM_EDGES_HOURS) - 1)]
        return (
            ["mean_cycle_time_hours", "cycle_time_p50_hours", "cycle_time_p90_hours"]
            + ["throughput_per_day"]
            + [f"utilisation:{s}" for s in stages]
            + [f"mean_queue_hours:{s}" for s in stages]
            + [f"is_bottleneck:{s}" for s in stages]
            + bins
        )

    def replicate(self, rng: np.random.Generator) -> np.ndarray:
        performance = simulate_staffed_workflow(
            self.workflow, self.arrivals_per_day, self.horizon_days, rng, self.warm_up_days
        )
        cycle = performance.cycle_times
        if cycle.size == 0:
            raise ValueError("no onboarding cases after the warm-up: lengthen horizon_days")
        histogram, _ = np.histogram(cycle, CYCLE_HISTOGRAM_EDGES_HOURS)
        bottleneck = [float(s == performance.primary_bottleneck) for s in self.stage_names]
        return np.concatenate(
            [
                [cycle.mean(), np.percentile(cycle, 50), np.percentile(cycle, 90)],
                [performance.throughput_per_day],
                performance.utilisation,
                performance.mean_queue_hours,
                bottleneck,
                histogram,
            ]
        )

    def cache_key(self) -> str:
        return _key(
            self.engine, self.workflow, self.arrivals_per_day, self.horizon_days, self.warm_up_days
        )


# --------------------------------------------------------------------------------------
# Supply chain
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SupplyChainTwin:
    """Supplier network risk and the (s, S) inventory of every stocked product.

    One replication draws ``n_network_draws`` joint outcomes of the supplier network and
    runs every product's inventory for ``horizon_days`` over as many scenarios. An order
    from a supplier whose supply falls short (its own disruption, or one passed down from
    its suppliers) arrives late by the supplier's recovery delay.
    """

    nodes: tuple[SupplierNode, ...]
    products: tuple[ProductStocking, ...]
    demand_factor: float = 1.0
    horizon_days: int = 90
    n_network_draws: int = 200
    engine: str = "supply_chain"

    @functools.cached_property
    def network(self) -> SupplyNetwork:
        return SupplyNetwork.from_nodes(list(self.nodes))

    @property
    def kpi_names(self) -> list[str]:
        per_product = [
            f"{kpi}:{p.product_id}"
            for kpi in ("fill_rate", "stockout_days", "total_cost")
            for p in self.products
        ]
        per_node = [f"probability_of_shortfall:{n}" for n in self.network.names]
        return ["fill_rate", "stockout_days", "total_cost", *per_product, *per_node]

    def replicate(self, rng: np.random.Generator) -> np.ndarray:
        outcome = simulate_supply_network(self.network, self.n_network_draws, rng)
        short = outcome.supply_fraction < 1.0 - 1e-6
        node_by_name = {n.name: n for n in self.nodes}
        fill, stockouts, cost, weights = [], [], [], []
        for product in self.products:
            node = node_by_name[product.supplier]
            sigma2 = math.log1p(node.lead_time_cv**2)
            own_lead = rng.lognormal(
                math.log(node.lead_time_mean_days) - sigma2 / 2,
                math.sqrt(sigma2),
                self.n_network_draws,
            )
            lead = own_lead + node.disruption_delay_days * short[outcome.node_index(node.name)]
            forecast = np.full(self.horizon_days, product.daily_forecast * self.demand_factor)
            inventory = simulate_inventory(
                product.policy,
                forecast,
                np.asarray(product.forecast_errors) * self.demand_factor,
                lead,
                self.n_network_draws,
                rng,
            )
            fill.append(inventory.fill_rate.mean())
            stockouts.append(inventory.stockout_days.mean())
            cost.append(inventory.total_cost.mean())
            weights.append(product.daily_forecast)
        risk = outcome.node_risk()["probability_of_shortfall"]
        return np.concatenate(
            [
                [np.average(fill, weights=weights), np.mean(stockouts), np.sum(cost)],
                fill,
                stockouts,
                cost,
                risk,
            ]
        )

    def cache_key(self) -> str:
        return _key(
            self.engine,
            *self.nodes,
            *self.products,
            self.demand_factor,
            self.horizon_days,
            self.n_network_draws,
        )


# --------------------------------------------------------------------------------------
# A scenario applied to every engine
# --------------------------------------------------------------------------------------
def acquisition_factor(scenario: Scenario, effects: LearnedEffects) -> float:
    """How much new-customer inflow changes: price and marketing effects and demand."""
    return (
        (1 + scenario.price_change_pct / 100) ** effects.acquisition_price_elasticity
        * (1 + scenario.marketing_budget_change_pct / 100)
        ** effects.acquisition_marketing_elasticity
        * (1 + scenario.demand_change_pct / 100)
    )


def apply_to_onboarding(
    scenario: Scenario, onboarding: OnboardingParameters, effects: LearnedEffects
) -> tuple[Workflow, float]:
    """Stage staffing changes, and case arrivals following customer acquisition."""
    staff = {s.name: s.staff for s in onboarding.workflow.stages}
    unknown = set(scenario.workflow_staff_changes) - set(staff)
    if unknown:
        raise ValueError(
            f"scenario {scenario.name!r} changes staff of unknown onboarding stages "
            f"{sorted(unknown)}; stages are {sorted(staff)}"
        )
    for stage, change in scenario.workflow_staff_changes.items():
        staff[stage] += change
        if staff[stage] < 1:
            raise ValueError(f"scenario {scenario.name!r} leaves stage {stage!r} with no staff")
    return (
        onboarding.workflow.with_staff(staff),
        onboarding.arrivals_per_day * acquisition_factor(scenario, effects),
    )


@dataclass(frozen=True)
class TwinRunSettings:
    """Sizes of one replication of each engine (kept small: a replication is one CRN unit)."""

    revenue_paths_per_replication: int = 1_000
    plan_growth_pct: float = 1.0
    queue_horizon_days: float = 14.0
    queue_warm_up_days: float = 1.0
    onboarding_horizon_days: float = 90.0
    onboarding_warm_up_days: float = 15.0
    supply_horizon_days: int = 90
    supply_network_draws: int = 200


TWIN_ENGINES: tuple[str, ...] = (
    "revenue",
    "service_queue",
    "onboarding_process",
    "supply_chain",
)
"""Every engine of the twin; revenue and onboarding apply the learned effects."""


def product_demand_factor(scenario: Scenario, effects: LearnedEffects | None) -> float:
    """How much product demand changes: the exogenous change times the response to prices.

    The price response uses the elasticity measured on the demand champion, so a scenario
    that changes product prices needs the effects (results.twin_effects).
    """
    factor = 1 + scenario.demand_change_pct / 100
    if scenario.product_price_change_pct:
        if effects is None:
            raise LookupError(
                f"scenario {scenario.name!r} changes product prices, but the demand champion's "
                "price elasticity was not given: read the twin parameters with the effects in "
                "results.twin_effects (materialize the twin_effects asset)"
            )
        factor *= (
            1 + scenario.product_price_change_pct / 100
        ) ** effects.product_demand_price_elasticity
    return factor


def engines_for_scenario(
    scenario: Scenario,
    parameters: TwinParameters,
    revenue_model: RevenueModel | None,
    settings: TwinRunSettings = TwinRunSettings(),
    horizon_months: int = 12,
    only: tuple[str, ...] = TWIN_ENGINES,
) -> dict[str, TwinEngine]:
    """The inputs under ``scenario`` of the engines in ``only``, by engine name.

    Without a ``revenue_model`` (the champion's view of the customers) there is no revenue
    engine. The revenue and onboarding engines apply the learned effects, so they need the
    parameters to have been read with the champion models.
    """
    unknown = set(only) - set(TWIN_ENGINES)
    if unknown:
        raise ValueError(f"unknown engines {sorted(unknown)}; engines are {list(TWIN_ENGINES)}")
    engines: list[TwinEngine] = []
    if revenue_model is not None and "revenue" in only:
        engines.append(
            RevenueTwin(
                apply_to_revenue_model(scenario, revenue_model, parameters.effects),
                planned_revenue(revenue_model, horizon_months, settings.plan_growth_pct),
                settings.revenue_paths_per_replication,
            )
        )
    if "service_queue" in only:
        engines.append(
            ServiceQueueTwin(
                apply_to_service_centre(scenario, parameters.service_centre),
                settings.queue_horizon_days,
                settings.queue_warm_up_days,
            )
        )
    if "onboarding_process" in only:
        workflow, arrivals = apply_to_onboarding(
            scenario, parameters.onboarding, parameters.effects
        )
        engines.append(
            OnboardingTwin(
                workflow,
                arrivals,
                settings.onboarding_horizon_days,
                settings.onboarding_warm_up_days,
            )
        )
    if "supply_chain" in only:
        engines.append(
            SupplyChainTwin(
                tuple(apply_to_supplier_nodes(scenario, parameters.supplier_nodes)),
                tuple(parameters.products),
                product_demand_factor(
                    scenario, parameters.effects if parameters.recorded_effects else None
                ),
                settings.supply_horizon_days,
                settings.supply_network_draws,
            )
        )
    return {e.engine: e for e in engines}


# --------------------------------------------------------------------------------------
# Replications (on Ray) and their summaries
# --------------------------------------------------------------------------------------
def _replications_task(rng: np.random.Generator, n: int, *, engine: TwinEngine) -> np.ndarray:
    return np.stack([engine.replicate(rng) for _ in range(n)])


def run_replications(
    engine: TwinEngine,
    n_replications: int,
    seed: int,
    *,
    use_ray: bool = True,
    tasks: int = 4,
) -> pd.DataFrame:
    """``n_replications`` of ``engine``, one chunk each, grouped into about ``tasks`` tasks.

    Row ``r`` drew from ``SeedSequence(seed).spawn(n)[r]``: the same stream for every
    scenario (common random numbers), wherever it ran.
    """
    values = run_chunked(
        functools.partial(_replications_task, engine=engine),
        n_total=n_replications,
        chunk_size=1,
        seed=seed,
        use_ray=use_ray,
        chunks_per_task=max(1, math.ceil(n_replications / tasks)),
    )
    frame = pd.DataFrame(values, columns=engine.kpi_names)
    frame.index.name = "replication"
    return frame


def t_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Mean and t half-width of ``values`` (half-width 0 for constant values)."""
    from simulation.scenarios import t_half_width

    values = np.asarray(values, dtype=float)
    return float(values.mean()), t_half_width(values, confidence)


def summarise_replications(
    replications: pd.DataFrame, kpis: Sequence[str], confidence: float = 0.95
) -> pd.DataFrame:
    """One row per KPI: mean over replications with a t confidence interval."""
    rows = []
    for kpi in kpis:
        mean, half_width = t_interval(replications[kpi].to_numpy(), confidence)
        rows.append(
            {
                "kpi": kpi,
                "mean": mean,
                "ci_low": mean - half_width,
                "ci_high": mean + half_width,
                "half_width": half_width,
                "n_replications": len(replications),
            }
        )
    return pd.DataFrame(rows)


def replications_long(replications: pd.DataFrame, engine: str, seed: int) -> pd.DataFrame:
    """One row per replication and KPI, for pairing scenarios by replication."""
    long = replications.reset_index().melt(id_vars="replication", var_name="kpi")
    return long.assign(engine=engine, seed=seed)[["engine", "replication", "kpi", "value", "seed"]]


def onboarding_stage_table(replications: pd.DataFrame, stages: Sequence[str]) -> pd.DataFrame:
    """Per stage: mean utilisation and queue hours, and how often it was the bottleneck."""
    return pd.DataFrame(
        {
            "stage": list(stages),
            "utilisation": [replications[f"utilisation:{s}"].mean() for s in stages],
            "mean_queue_hours": [replications[f"mean_queue_hours:{s}"].mean() for s in stages],
            "share_of_runs_as_bottleneck": [
                replications[f"is_bottleneck:{s}"].mean() for s in stages
            ],
        }
    )


def primary_bottleneck(stage_table: pd.DataFrame) -> str:
    """The stage most often the busiest, ties broken by utilisation."""
    ranked = stage_table.sort_values(
        ["share_of_runs_as_bottleneck", "utilisation"], ascending=False
    )
    return str(ranked["stage"].iloc[0])


def histogram_from_replications(
    replications: pd.DataFrame, prefix: str, edges: np.ndarray
) -> pd.DataFrame:
    """Pooled histogram counts (over replications) with bin edges."""
    columns = [c for c in replications.columns if c.startswith(prefix)]
    return pd.DataFrame(
        {
            "bin_low": edges[:-1],
            "bin_high": edges[1:],
            "count": replications[columns].sum(axis=0).to_numpy(),
        }
    )


# --------------------------------------------------------------------------------------
# Comparison with the baseline (common random numbers, target half-width)
# --------------------------------------------------------------------------------------
COMPARED_KPIS: dict[str, tuple[str, ...]] = {
    "revenue": ("expected_total_revenue", "probability_of_missing_plan"),
    "service_queue": ("service_level", "mean_first_line_wait_minutes", "mean_satisfaction"),
    "onboarding_process": ("mean_cycle_time_hours", "cycle_time_p90_hours"),
    "supply_chain": ("fill_rate", "stockout_days", "total_cost"),
}
"""The KPIs each engine's scenarios are compared on."""

ABSOLUTE_TARGET_HALF_WIDTH: dict[str, float] = {
    "probability_of_missing_plan": 0.005,
    "service_level": 0.005,
    "mean_first_line_wait_minutes": 0.05,
    "mean_satisfaction": 0.01,
    "cycle_time_p90_hours": 0.25,
    "mean_cycle_time_hours": 0.25,
    "fill_rate": 0.002,
    "stockout_days": 0.1,
}
"""Half-widths that are precise enough whatever the baseline level (shares, minutes, hours)."""


class ReplicationCache:
    """Replication results by (engine inputs, stream), so a replication runs once.

    Two scenarios that leave an engine's inputs unchanged share its replications, and the
    baseline's replications serve every comparison.
    """

    def __init__(self) -> None:
        self._rows: dict[tuple[str, int, tuple[int, ...]], np.ndarray] = {}

    def replicate(self, engine: TwinEngine, rng: np.random.Generator) -> np.ndarray:
        stream = rng.bit_generator.seed_seq
        key = (engine.cache_key(), int(stream.entropy), tuple(stream.spawn_key))
        if key not in self._rows:
            self._rows[key] = engine.replicate(rng)
        return self._rows[key]

    def prefill(self, engine: TwinEngine, replications: pd.DataFrame, seed: int) -> None:
        """Adopt replications already run with ``seed`` (e.g. on Ray by :func:`run_replications`)."""
        key = engine.cache_key()
        for r, row in enumerate(replications[engine.kpi_names].to_numpy()):
            self._rows[(key, seed, (r,))] = row


@dataclass(frozen=True)
class ComparisonSettings:
    """How precise a comparison must be."""

    seed: int = 2024
    pilot_replications: int = 10
    max_replications: int = 60
    target_relative_half_width: float = 0.01
    confidence: float = 0.95


def _replication_rng(seed: int, replication: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replication,)))


def _kpi_value(
    scenario: Scenario,
    rng: np.random.Generator,
    *,
    cache: ReplicationCache,
    engines: dict[str, dict[str, TwinEngine]],
    engine_name: str,
    column: int,
) -> float:
    return float(cache.replicate(engines[scenario.name][engine_name], rng)[column])


def compare_with_baseline(
    baseline: Scenario,
    candidates: Sequence[Scenario],
    engines: dict[str, dict[str, TwinEngine]],
    settings: ComparisonSettings = ComparisonSettings(),
    cache: ReplicationCache | None = None,
) -> pd.DataFrame:
    """Each candidate minus the baseline on every compared KPI, paired by replication.

    ``engines[scenario name][engine name]`` are the engines under each scenario. The target
    half-width of a KPI's difference is ``target_relative_half_width`` of the baseline's pilot
    mean (or the KPI's floor in :data:`ABSOLUTE_TARGET_HALF_WIDTH`, whichever is wider);
    replications are added (up to ``max_replications``) until it is reached.
    """
    cache = cache or ReplicationCache()
    rows = []
    for engine_name, kpis in COMPARED_KPIS.items():
        if engine_name not in engines[baseline.name]:
            continue
        base_engine = engines[baseline.name][engine_name]
        for kpi in kpis:
            column = base_engine.kpi_names.index(kpi)

            one_kpi = functools.partial(
                _kpi_value, cache=cache, engines=engines, engine_name=engine_name, column=column
            )
            pilot = [
                one_kpi(baseline, _replication_rng(settings.seed, r))
                for r in range(settings.pilot_replications)
            ]
            baseline_level = abs(float(np.mean(pilot)))
            target = max(
                settings.target_relative_half_width * baseline_level,
                ABSOLUTE_TARGET_HALF_WIDTH.get(kpi, 0.0),
                1e-9,
            )
            for candidate in candidates:
                comparison = compare_scenarios(
                    one_kpi,
                    baseline,
                    candidate,
                    seed=settings.seed,
                    target_half_width=target,
                    pilot_replications=settings.pilot_replications,
                    max_replications=settings.max_replications,
                    confidence=settings.confidence,
                )
                low, high = comparison.interval
                base_mean = float(
                    np.mean(
                        [
                            one_kpi(baseline, _replication_rng(settings.seed, r))
                            for r in range(comparison.n_replications)
                        ]
                    )
                )
                rows.append(
                    {
                        "scenario": candidate.name,
                        "engine": engine_name,
                        "kpi": kpi,
                        "baseline_mean": base_mean,
                        "scenario_mean": base_mean + comparison.mean_difference,
                        "difference": comparison.mean_difference,
                        "relative_difference": comparison.mean_difference / base_mean
                        if base_mean
                        else float("nan"),
                        "ci_low": low,
                        "ci_high": high,
                        "half_width": comparison.half_width,
                        "target_half_width": target,
                        "target_met": bool(comparison.half_width <= target),
                        "confidence": comparison.confidence,
                        "n_replications": comparison.n_replications,
                        "is_significant": comparison.is_significant,
                        "seed": settings.seed,
                    }
                )
    return pd.DataFrame(rows)
