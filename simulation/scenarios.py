"""What-if scenarios: one typed config, YAML files under ``scenarios/``, composition, and
paired comparison with common random numbers.

A :class:`Scenario` says what changes relative to the business as it is (price, agents,
suppliers, marketing, staffing). The same model validates a YAML file and a Dagster
launchpad run. Scenarios compose: ``price_up + two_more_agents`` (or :func:`compose`) is
the compound scenario.

Scenario effects on demand and churn are not constants in here: :class:`LearnedEffects`
carries elasticities measured on the champion models, and the ``apply_to_*`` functions
turn a scenario plus those effects into engine inputs.

Comparison uses common random numbers: replication ``r`` of both scenarios draws from
the same ``SeedSequence(seed).spawn(n)[r]``, so the paired difference cancels most of the
noise. :func:`compare_scenarios` reports the mean difference with a t confidence interval
and, given a target half-width, runs as many replications as the pilot's variance says
are needed (:func:`replications_for_half_width`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from simulation.engines.finance import RevenueModel
from simulation.engines.queueing import ServiceCentreConfig
from simulation.engines.supply_chain import SupplierNode

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


class SupplierDisruption(BaseModel):
    """A supplier that is (or may be) out of action for the planning window."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    supplier: str = Field(description="Supplier id as in the suppliers table, e.g. 'SUP-002'.")
    probability: float = Field(
        default=1.0, ge=0, le=1, description="Probability it is disrupted (1 = it certainly is)."
    )
    extra_delay_days: float = Field(
        default=30.0, ge=0, description="Extra lead time while it recovers."
    )


class Scenario(BaseModel):
    """A what-if question about the business, as deltas from the current state."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Short identifier, also the file name and partition key.")
    description: str = Field(default="", description="What question the scenario answers.")
    price_change_pct: float = Field(
        default=0.0, gt=-100, description="Change of every subscription price, in percent."
    )
    marketing_budget_change_pct: float = Field(
        default=0.0, ge=-100, description="Change of the marketing budget, in percent."
    )
    demand_change_pct: float = Field(
        default=0.0, gt=-100, description="Exogenous change of product demand, in percent."
    )
    product_price_change_pct: float = Field(
        default=0.0,
        gt=-100,
        description="Change of every product price, in percent; product demand responds with "
        "the elasticity measured on the demand forecaster champion.",
    )
    extra_first_line_agents: int = Field(
        default=0, description="Support agents added to (or, if negative, removed from) first line."
    )
    extra_second_line_agents: int = Field(
        default=0, description="Agents added to the escalation team."
    )
    supplier_disruptions: list[SupplierDisruption] = Field(
        default_factory=list, description="Suppliers disrupted in the planning window."
    )
    workflow_staff_changes: dict[str, int] = Field(
        default_factory=dict, description="Workflow stage -> people added (negative: removed)."
    )
    start_in_recession: bool = Field(
        default=False, description="Start the revenue simulation in the recession regime."
    )

    def __add__(self, other: Scenario) -> Scenario:
        """Both changes at once: percentages compound, headcounts add, disruptions merge."""

        def compound(a: float, b: float) -> float:
            # Rounded so that 5 % + 0 % is 5.0, not 5.000000000000004, in the saved YAML.
            return round(((1 + a / 100) * (1 + b / 100) - 1) * 100, 9)

        disruptions = {d.supplier: d for d in self.supplier_disruptions}
        for d in other.supplier_disruptions:
            if d.supplier in disruptions:  # both disrupt it: keep the worse case
                mine = disruptions[d.supplier]
                d = SupplierDisruption(
                    supplier=d.supplier,
                    probability=max(mine.probability, d.probability),
                    extra_delay_days=max(mine.extra_delay_days, d.extra_delay_days),
                )
            disruptions[d.supplier] = d
        staff = dict(self.workflow_staff_changes)
        for stage, change in other.workflow_staff_changes.items():
            staff[stage] = staff.get(stage, 0) + change
        return Scenario(
            name=f"{self.name}+{other.name}",
            description=" and ".join(x for x in (self.description, other.description) if x),
            price_change_pct=compound(self.price_change_pct, other.price_change_pct),
            marketing_budget_change_pct=compound(
                self.marketing_budget_change_pct, other.marketing_budget_change_pct
            ),
            demand_change_pct=compound(self.demand_change_pct, other.demand_change_pct),
            product_price_change_pct=compound(
                self.product_price_change_pct, other.product_price_change_pct
            ),
            extra_first_line_agents=self.extra_first_line_agents + other.extra_first_line_agents,
            extra_second_line_agents=self.extra_second_line_agents + other.extra_second_line_agents,
            supplier_disruptions=list(disruptions.values()),
            workflow_staff_changes=staff,
            start_in_recession=self.start_in_recession or other.start_in_recession,
        )


BASELINE = Scenario(name="baseline", description="The business as it is.")


def compose(scenarios: Iterable[Scenario], name: str | None = None) -> Scenario:
    """All scenarios at once (see :meth:`Scenario.__add__`), optionally renamed."""
    combined: Scenario | None = None
    for scenario in scenarios:
        combined = scenario if combined is None else combined + scenario
    if combined is None:
        raise ValueError("compose needs at least one scenario")
    return combined if name is None else combined.model_copy(update={"name": name})


def save_scenario(scenario: Scenario, directory: Path = SCENARIO_DIR) -> Path:
    """Write ``<directory>/<name>.yaml`` with only the fields that differ from the baseline."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{scenario.name}.yaml"
    content = scenario.model_dump(mode="json", exclude_defaults=True)
    content = {"name": scenario.name, **content}
    path.write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=True))
    return path


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate one scenario YAML file."""
    path = Path(path)
    if not path.exists() and not path.suffix:
        path = SCENARIO_DIR / f"{path}.yaml"
    return Scenario.model_validate(yaml.safe_load(path.read_text()))


def load_scenarios(directory: Path = SCENARIO_DIR) -> dict[str, Scenario]:
    """Every scenario under ``directory``, by name."""
    scenarios = [load_scenario(p) for p in sorted(directory.glob("*.yaml"))]
    return {s.name: s for s in scenarios}


# --------------------------------------------------------------------------------------
# Applying a scenario to engine inputs, with effects learned from the champion models
# --------------------------------------------------------------------------------------
class LearnedEffects(BaseModel):
    """Elasticities measured on the champion models (not hand-set by the analyst)."""

    model_config = ConfigDict(frozen=True)

    churn_price_elasticity: float = Field(
        description="d log(monthly churn) / d log(price), from the churn champion."
    )
    acquisition_price_elasticity: float = Field(
        description=(
            "d log(new customers) / d log(price), from signups against the offered price "
            "(0 when that price never varied)."
        )
    )
    acquisition_marketing_elasticity: float = Field(
        default=0.0,
        description=(
            "d log(new customers) / d log(marketing budget), from the marketing-ROI champion's "
            "response curves times the paid share of signups."
        ),
    )
    product_demand_price_elasticity: float = Field(
        default=0.0,
        description=(
            "d log(product orders) / d log(product prices), from the demand forecaster "
            "champion's response to a price step (0 only where no scenario changes prices)."
        ),
    )


def apply_to_revenue_model(
    scenario: Scenario, model: RevenueModel, effects: LearnedEffects
) -> RevenueModel:
    """The revenue model under the scenario: price, marketing and regime changes."""
    changed = model.with_price_change(
        scenario.price_change_pct,
        churn_elasticity=effects.churn_price_elasticity,
        acquisition_elasticity=effects.acquisition_price_elasticity,
    )
    acquisition_factor = (1 + scenario.marketing_budget_change_pct / 100) ** (
        effects.acquisition_marketing_elasticity
    ) * (1 + scenario.demand_change_pct / 100)
    segments = [
        s.model_copy(update={"monthly_new_customers": s.monthly_new_customers * acquisition_factor})
        for s in changed.segments
    ]
    regimes = changed.regimes
    if scenario.start_in_recession:
        regimes = regimes.model_copy(update={"initial_probabilities": [0.0, 0.0, 1.0, 0.0]})
    return changed.model_copy(update={"segments": segments, "regimes": regimes})


def apply_to_service_centre(scenario: Scenario, config: ServiceCentreConfig) -> ServiceCentreConfig:
    """The support centre under the scenario: agents added or removed."""
    first = config.first_line_agents + scenario.extra_first_line_agents
    second = config.second_line_agents + scenario.extra_second_line_agents
    if first < 1 or second < 1:
        raise ValueError(f"scenario {scenario.name!r} leaves a support team with no agents")
    return config.model_copy(update={"first_line_agents": first, "second_line_agents": second})


def apply_to_supplier_nodes(scenario: Scenario, nodes: list[SupplierNode]) -> list[SupplierNode]:
    """Supplier nodes under the scenario: disruption probability and delay overridden."""
    disruptions = {d.supplier: d for d in scenario.supplier_disruptions}
    unknown = set(disruptions) - {n.name for n in nodes}
    if unknown:
        raise ValueError(f"scenario {scenario.name!r} disrupts unknown suppliers {sorted(unknown)}")
    return [
        n.model_copy(
            update={
                "disruption_probability": max(
                    n.disruption_probability, disruptions[n.name].probability
                ),
                "disruption_delay_days": disruptions[n.name].extra_delay_days,
            }
        )
        if n.name in disruptions
        else n
        for n in nodes
    ]


# --------------------------------------------------------------------------------------
# Common random numbers and replication counts
# --------------------------------------------------------------------------------------
ScenarioKpi = Callable[[Scenario, np.random.Generator], float]
"""Runs one replication of a scenario with the given generator and returns one KPI."""


@dataclass(frozen=True)
class ScenarioComparison:
    """Candidate minus baseline, paired by replication (common random numbers)."""

    baseline: str
    candidate: str
    mean_difference: float
    half_width: float
    confidence: float
    n_replications: int
    differences: np.ndarray

    @property
    def interval(self) -> tuple[float, float]:
        return (self.mean_difference - self.half_width, self.mean_difference + self.half_width)

    @property
    def is_significant(self) -> bool:
        """The interval excludes zero: the difference is not noise at this confidence."""
        low, high = self.interval
        return low > 0 or high < 0


def t_half_width(values: np.ndarray, confidence: float = 0.95) -> float:
    """Half-width of the t confidence interval of the mean of ``values``."""
    n = len(values)
    if n < 2:
        return math.inf
    return float(stats.t.ppf(0.5 + confidence / 2, n - 1) * np.std(values, ddof=1) / math.sqrt(n))


def replications_for_half_width(
    pilot_values: np.ndarray, target_half_width: float, confidence: float = 0.95
) -> int:
    """Replications needed for a CI half-width of ``target_half_width``, from a pilot run.

    ``n = ceil((t_{n0-1} * s / h)^2)`` with the pilot's standard deviation ``s`` (never
    fewer than the pilot itself).
    """
    if target_half_width <= 0:
        raise ValueError("target_half_width must be > 0")
    n0 = len(pilot_values)
    if n0 < 2:
        raise ValueError("need at least 2 pilot replications")
    t = stats.t.ppf(0.5 + confidence / 2, n0 - 1)
    needed = math.ceil((t * np.std(pilot_values, ddof=1) / target_half_width) ** 2)
    return max(n0, needed)


def paired_differences(
    kpi: ScenarioKpi, baseline: Scenario, candidate: Scenario, seed: int, replications: range
) -> np.ndarray:
    """KPI(candidate) - KPI(baseline) for each replication, both on replication r's stream.

    Streams come from ``SeedSequence(seed, spawn_key=(r,))``, identical to
    ``SeedSequence(seed).spawn(n)[r]`` for any ``n > r``, so more replications can be
    added later without changing the earlier ones.
    """
    differences = []
    for r in replications:
        stream = np.random.SeedSequence(seed, spawn_key=(r,))
        differences.append(
            kpi(candidate, np.random.default_rng(stream))
            - kpi(baseline, np.random.default_rng(stream))
        )
    return np.asarray(differences, dtype=float)


def compare_scenarios(
    kpi: ScenarioKpi,
    baseline: Scenario,
    candidate: Scenario,
    *,
    seed: int,
    target_half_width: float | None = None,
    pilot_replications: int = 10,
    max_replications: int = 1_000,
    confidence: float = 0.95,
) -> ScenarioComparison:
    """Paired comparison with common random numbers and a confidence interval.

    Runs ``pilot_replications``; with a ``target_half_width`` it then tops up to the number
    :func:`replications_for_half_width` asks for, re-estimating until the half-width is
    reached or ``max_replications`` have run.
    """
    differences = paired_differences(kpi, baseline, candidate, seed, range(pilot_replications))
    # Sequential: the pilot's variance estimate is itself noisy, so re-apply the rule with
    # the replications so far until the interval is narrow enough (or the budget is spent).
    while (
        target_half_width is not None
        and t_half_width(differences, confidence) > target_half_width
        and len(differences) < max_replications
    ):
        needed = replications_for_half_width(differences, target_half_width, confidence)
        needed = min(max_replications, max(needed, len(differences) + 1))
        extra = paired_differences(kpi, baseline, candidate, seed, range(len(differences), needed))
        differences = np.concatenate([differences, extra])
    return ScenarioComparison(
        baseline=baseline.name,
        candidate=candidate.name,
        mean_difference=float(differences.mean()),
        half_width=t_half_width(differences, confidence),
        confidence=confidence,
        n_replications=len(differences),
        differences=differences,
    )
