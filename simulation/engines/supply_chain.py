"""Supply chain: disruption risk through a multi-tier supplier DAG, and (s, S) inventory.

**Supplier network.** A :class:`SupplyNetwork` is a DAG of nodes (raw-material suppliers,
component makers, plants, distribution centres). Each node has a lognormal lead time, a
capacity relative to the volume it must ship, a probability of being disrupted over the
planning window (then it ships nothing and adds a recovery delay), and sourcing shares
over its suppliers. :func:`simulate_supply_network` draws ``n_scenarios`` joint outcomes
and propagates them downstream tier by tier:

* ``supply_fraction = (1 - disrupted) * min(capacity_share, sum(share_k * supply_fraction_k))``
  -- the share of its required volume a node can deliver;
* ``lead_time = own lead time (+ recovery delay if disrupted) + sum(share_k * lead_time_k)``
  -- the sourcing-weighted pipeline time from raw material to the node.

Per node this gives the risk propagated to it: the probability of a shortfall, the
expected shortfall and the lead-time tail. All nodes of a tier are done at once with a
sparse matrix product, so 10k nodes x 1,000 scenarios take well under a second.

**Inventory.** :func:`simulate_inventory` runs a periodic-review (s, S) policy at a
stocking node under demand = forecast + forecast error, the errors resampled from the
demand forecaster's out-of-sample errors (the same array sets the safety stock, see
:func:`safety_stock_from_forecast_errors`). Lead times (and, optionally, partial
deliveries) can be resampled from a network node's simulated outcomes. It reports fill
rate, cycle service level, stockouts and cost; :func:`optimise_safety_stock` finds the
smallest safety stock meeting a target service level. The closed forms it is validated
against are :func:`newsvendor_quantity` and :func:`economic_order_quantity`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field


# --------------------------------------------------------------------------------------
# Closed forms
# --------------------------------------------------------------------------------------
def newsvendor_quantity(
    demand_samples: np.ndarray, unit_underage_cost: float, unit_overage_cost: float
) -> float:
    """Order quantity minimising expected cost for one selling period (critical fractile).

    ``unit_underage_cost`` is the margin lost per unit short, ``unit_overage_cost`` the
    loss per unit left over; the optimum is the ``cu / (cu + co)`` quantile of demand.
    """
    critical_fractile = unit_underage_cost / (unit_underage_cost + unit_overage_cost)
    return float(np.quantile(demand_samples, critical_fractile))


def newsvendor_expected_cost(
    order_quantity: float,
    demand_samples: np.ndarray,
    unit_underage_cost: float,
    unit_overage_cost: float,
) -> float:
    """Monte Carlo expected cost of ordering ``order_quantity`` for one selling period."""
    short = np.maximum(demand_samples - order_quantity, 0.0)
    left_over = np.maximum(order_quantity - demand_samples, 0.0)
    return float(np.mean(unit_underage_cost * short + unit_overage_cost * left_over))


def economic_order_quantity(
    demand_per_period: float, fixed_order_cost: float, holding_cost_per_unit_period: float
) -> float:
    """EOQ: the order size minimising ordering plus holding cost for steady demand."""
    return math.sqrt(2.0 * demand_per_period * fixed_order_cost / holding_cost_per_unit_period)


def economic_order_cost_per_period(
    demand_per_period: float, fixed_order_cost: float, holding_cost_per_unit_period: float
) -> float:
    """Ordering plus holding cost per period when ordering the EOQ: sqrt(2 D K h)."""
    return math.sqrt(2.0 * demand_per_period * fixed_order_cost * holding_cost_per_unit_period)


# --------------------------------------------------------------------------------------
# Supplier network
# --------------------------------------------------------------------------------------
class SupplierNode(BaseModel):
    """One node of the supply network, as configured by supply-chain planners."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Supplier, plant or distribution-centre name.")
    suppliers: list[str] = Field(default_factory=list, description="Upstream nodes it buys from.")
    sourcing_shares: list[float] | None = Field(
        default=None, description="Share of volume bought from each supplier; None = equal split."
    )
    lead_time_mean_days: float = Field(gt=0, description="Mean days from order to shipment.")
    lead_time_cv: float = Field(
        default=0.3, ge=0, description="Lead-time coefficient of variation."
    )
    capacity_share: float = Field(
        default=1.2,
        gt=0,
        description="Capacity divided by the volume it must ship (>= 1 is enough).",
    )
    disruption_probability: float = Field(
        default=0.01, ge=0, le=1, description="Probability it ships nothing in the planning window."
    )
    disruption_delay_days: float = Field(
        default=30.0, ge=0, description="Extra lead time while recovering from a disruption."
    )


@dataclass(frozen=True)
class SupplyNetwork:
    """Array form of the network, nodes in topological order, one sparse matrix per tier."""

    names: list[str]
    tier_bounds: list[tuple[int, int]]  # node index range [start, stop) of each tier
    tier_sourcing: list[sp.csr_matrix]  # (tier nodes, all nodes) sourcing shares
    lead_time_log_mean: np.ndarray
    lead_time_log_sd: np.ndarray
    capacity_share: np.ndarray
    disruption_probability: np.ndarray
    disruption_delay_days: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.names)

    @classmethod
    def from_nodes(cls, nodes: list[SupplierNode]) -> SupplyNetwork:
        """Validate the DAG, order nodes by tier and build the per-tier sourcing matrices."""
        position = {node.name: i for i, node in enumerate(nodes)}
        if len(position) != len(nodes):
            raise ValueError("node names must be unique")
        tier = [-1] * len(nodes)

        def tier_of(i: int, path: tuple[int, ...] = ()) -> int:
            if tier[i] >= 0:
                return tier[i]
            if i in path:
                raise ValueError(f"supplier cycle through {nodes[i].name!r}")
            upstream = [position[s] for s in nodes[i].suppliers]
            tier[i] = 1 + max((tier_of(u, (*path, i)) for u in upstream), default=-1)
            return tier[i]

        for node in nodes:
            missing = set(node.suppliers) - set(position)
            if missing:
                raise ValueError(f"{node.name!r} buys from unknown nodes {sorted(missing)}")
        for i in range(len(nodes)):
            tier_of(i)
        tiers = np.asarray(tier)
        order = np.argsort(tiers, kind="stable")
        new_index = np.empty_like(order)
        new_index[order] = np.arange(order.size)
        rows, cols, shares = [], [], []
        for i, node in enumerate(nodes):
            if not node.suppliers:
                continue
            weights = node.sourcing_shares or [1.0 / len(node.suppliers)] * len(node.suppliers)
            if len(weights) != len(node.suppliers) or not math.isclose(sum(weights), 1.0):
                raise ValueError(
                    f"{node.name!r}: sourcing_shares must match suppliers and sum to 1"
                )
            rows += [int(new_index[i])] * len(weights)
            cols += [int(new_index[position[s]]) for s in node.suppliers]
            shares += list(weights)
        ordered = [nodes[i] for i in order]
        lead_cv = np.array([n.lead_time_cv for n in ordered])
        sigma2 = np.log1p(lead_cv**2)
        return cls._build(
            names=[n.name for n in ordered],
            tiers=tiers[order],
            sourcing=sp.csr_matrix((shares, (rows, cols)), shape=(len(nodes), len(nodes))),
            lead_time_log_mean=np.log([n.lead_time_mean_days for n in ordered]) - sigma2 / 2,
            lead_time_log_sd=np.sqrt(sigma2),
            capacity_share=np.array([n.capacity_share for n in ordered]),
            disruption_probability=np.array([n.disruption_probability for n in ordered]),
            disruption_delay_days=np.array([n.disruption_delay_days for n in ordered]),
        )

    @classmethod
    def _build(
        cls, names: list[str], tiers: np.ndarray, sourcing: sp.csr_matrix, **arrays: np.ndarray
    ) -> SupplyNetwork:
        bounds = []
        for t in range(int(tiers.max()) + 1):
            members = np.flatnonzero(tiers == t)
            bounds.append((int(members[0]), int(members[-1]) + 1))
        return cls(
            names=names,
            tier_bounds=bounds,
            tier_sourcing=[sourcing[start:stop].astype(np.float32) for start, stop in bounds],
            **{name: np.asarray(value, dtype=np.float32) for name, value in arrays.items()},
        )

    @classmethod
    def random_multi_tier(
        cls,
        n_nodes: int,
        n_tiers: int,
        rng: np.random.Generator,
        max_suppliers: int = 3,
        disruption_probability: float = 0.02,
    ) -> SupplyNetwork:
        """A synthetic network for benchmarks and tests: each node buys from 1..max_suppliers
        random nodes of the tier above (tier 0 = raw-material suppliers)."""
        tiers = np.sort(rng.integers(0, n_tiers, n_nodes))
        tiers[:n_tiers] = np.arange(n_tiers)  # every tier non-empty
        tiers.sort()
        rows, cols, shares = [], [], []
        starts = np.searchsorted(tiers, np.arange(n_tiers + 1))
        for node in range(starts[1], n_nodes):
            t = tiers[node]
            upstream = np.arange(starts[t - 1], starts[t])
            k = int(min(rng.integers(1, max_suppliers + 1), upstream.size))
            chosen = rng.choice(upstream, size=k, replace=False)
            weights = rng.dirichlet(np.ones(k))
            rows += [node] * k
            cols += chosen.tolist()
            shares += weights.tolist()
        cv = rng.uniform(0.1, 0.5, n_nodes)
        sigma2 = np.log1p(cv**2)
        return cls._build(
            names=[f"node_{i}" for i in range(n_nodes)],
            tiers=tiers,
            sourcing=sp.csr_matrix((shares, (rows, cols)), shape=(n_nodes, n_nodes)),
            lead_time_log_mean=np.log(rng.uniform(3, 30, n_nodes)) - sigma2 / 2,
            lead_time_log_sd=np.sqrt(sigma2),
            capacity_share=rng.uniform(0.9, 1.5, n_nodes),
            disruption_probability=np.full(n_nodes, disruption_probability),
            disruption_delay_days=rng.uniform(10, 60, n_nodes),
        )


@dataclass(frozen=True)
class SupplyNetworkOutcome:
    """Simulated outcomes per node and scenario, shape ``(n_nodes, n_scenarios)``."""

    names: list[str]
    supply_fraction: np.ndarray
    lead_time_days: np.ndarray
    disrupted: np.ndarray

    def node_risk(self, shortfall_tolerance: float = 1e-6) -> dict[str, np.ndarray]:
        """Risk propagated to each node: shortfall probability and size, lead-time tail."""
        return {
            "probability_of_shortfall": (self.supply_fraction < 1.0 - shortfall_tolerance).mean(
                axis=1
            ),
            "expected_shortfall_share": 1.0 - self.supply_fraction.mean(axis=1),
            "probability_disrupted_itself": self.disrupted.mean(axis=1),
            "lead_time_p95_days": np.percentile(self.lead_time_days, 95, axis=1),
        }

    def node_index(self, name: str) -> int:
        return self.names.index(name)


def simulate_supply_network(
    network: SupplyNetwork, n_scenarios: int, rng: np.random.Generator
) -> SupplyNetworkOutcome:
    """Draw ``n_scenarios`` joint disruption and lead-time outcomes and propagate them."""
    shape = (network.n_nodes, n_scenarios)
    # float32 halves memory traffic on these (nodes x scenarios) arrays; the quantities
    # are shares and days, where 7 significant digits are plenty.
    disrupted = rng.random(shape, dtype=np.float32) < network.disruption_probability[:, None]
    lead_time = rng.standard_normal(shape, dtype=np.float32)
    lead_time *= network.lead_time_log_sd[:, None]
    lead_time += network.lead_time_log_mean[:, None]
    np.exp(lead_time, out=lead_time)
    lead_time += disrupted * network.disruption_delay_days[:, None]
    supply_fraction = np.where(
        disrupted, np.float32(0.0), np.minimum(network.capacity_share, 1.0)[:, None]
    )
    for (start, stop), sourcing in zip(network.tier_bounds, network.tier_sourcing, strict=True):
        if sourcing.nnz == 0:
            continue  # raw-material tier: nothing upstream
        upstream_fraction = sourcing @ supply_fraction
        np.minimum(supply_fraction[start:stop], upstream_fraction, out=supply_fraction[start:stop])
        lead_time[start:stop] += sourcing @ lead_time
    return SupplyNetworkOutcome(
        names=network.names,
        supply_fraction=supply_fraction,
        lead_time_days=lead_time,
        disrupted=disrupted,
    )


# --------------------------------------------------------------------------------------
# Inventory at a stocking node
# --------------------------------------------------------------------------------------
class InventoryPolicy(BaseModel):
    """Periodic-review (s, S): when inventory position falls to ``reorder_point`` or below,
    order up to ``order_up_to``."""

    model_config = ConfigDict(frozen=True)

    reorder_point: float = Field(description="s: reorder when inventory position <= s.")
    order_up_to: float = Field(description="S: order enough to bring the position to S.")
    holding_cost_per_unit_day: float = Field(
        default=0.01, ge=0, description="Cost of a unit on hand a day."
    )
    fixed_order_cost: float = Field(default=50.0, ge=0, description="Cost of placing one order.")
    lost_sale_cost_per_unit: float = Field(
        default=5.0, ge=0, description="Margin lost per unit short."
    )


@dataclass(frozen=True)
class InventoryOutcome:
    """Per scenario (first axis) over the horizon; demand not met from stock is lost."""

    fill_rate: np.ndarray  # units served / units demanded
    cycle_service_level: np.ndarray  # share of days without a stockout
    stockout_days: np.ndarray
    total_cost: np.ndarray
    orders_placed: np.ndarray

    def summary(self) -> dict[str, float]:
        return {
            "fill_rate": float(self.fill_rate.mean()),
            "cycle_service_level": float(self.cycle_service_level.mean()),
            "stockout_days": float(self.stockout_days.mean()),
            "total_cost": float(self.total_cost.mean()),
            "orders_placed": float(self.orders_placed.mean()),
        }


def safety_stock_from_forecast_errors(
    forecast_errors: np.ndarray,
    lead_time_days: float,
    target_cycle_service_level: float,
    n_samples: int = 100_000,
    seed: int = 0,
) -> float:
    """Safety stock covering lead-time forecast error at the target cycle service level.

    ``forecast_errors`` are the forecaster's out-of-sample daily errors (actual - forecast).
    Lead-time error is the sum of ``lead_time_days`` resampled daily errors; the safety
    stock is its ``target`` quantile. No normality assumption: skewed errors give the
    asymmetric buffer they need.
    """
    errors = np.asarray(forecast_errors, dtype=float)
    days = max(1, math.ceil(lead_time_days))
    rng = np.random.default_rng(seed)
    lead_time_error = errors[rng.integers(0, errors.size, (n_samples, days))].sum(axis=1)
    return max(0.0, float(np.quantile(lead_time_error, target_cycle_service_level)))


def simulate_inventory(
    policy: InventoryPolicy,
    daily_forecast: np.ndarray,
    forecast_errors: np.ndarray,
    lead_time_days: np.ndarray | float,
    n_scenarios: int,
    rng: np.random.Generator,
    supply_fraction: np.ndarray | None = None,
    initial_on_hand: float | None = None,
) -> InventoryOutcome:
    """Simulate the (s, S) policy day by day, vectorised over scenarios.

    Each day: deliveries due arrive, demand (forecast + a resampled forecast error, at
    least 0) is served from stock (the rest is lost), then inventory position (on hand +
    on order) is reviewed and an order placed if it is at or below s. Each order's lead
    time is drawn from ``lead_time_days`` (a constant, or samples such as a network node's
    simulated lead times, rounded to whole days) and, if ``supply_fraction`` samples are
    given, only that share of it is delivered.
    """
    forecast = np.asarray(daily_forecast, dtype=float)
    errors = np.asarray(forecast_errors, dtype=float)
    lead_samples = np.atleast_1d(np.asarray(lead_time_days, dtype=float))
    horizon = forecast.size
    demand = np.maximum(
        forecast[None, :] + errors[rng.integers(0, errors.size, (n_scenarios, horizon))], 0.0
    )
    outcome_index = rng.integers(0, lead_samples.size, (n_scenarios, horizon))
    lead_days = np.rint(lead_samples[outcome_index]).astype(np.int64)
    delivered_share = (
        np.ones((n_scenarios, horizon))
        if supply_fraction is None
        else np.asarray(supply_fraction, dtype=float)[outcome_index % len(supply_fraction)]
    )
    max_lead = int(lead_days.max()) + 1
    arriving = np.zeros((n_scenarios, horizon + max_lead + 1))
    on_hand = np.full(
        n_scenarios, policy.order_up_to if initial_on_hand is None else initial_on_hand
    )
    on_order = np.zeros(n_scenarios)
    served = np.zeros(n_scenarios)
    stockout_days = np.zeros(n_scenarios)
    orders = np.zeros(n_scenarios)
    holding = np.zeros(n_scenarios)
    scenarios = np.arange(n_scenarios)
    for day in range(horizon):
        on_hand += arriving[:, day]
        on_order -= arriving[:, day]
        sold = np.minimum(on_hand, demand[:, day])
        on_hand -= sold
        served += sold
        stockout_days += sold < demand[:, day]
        position = on_hand + on_order
        ordering = position <= policy.reorder_point
        quantity = np.where(ordering, policy.order_up_to - position, 0.0)
        # Only the delivered share of an order ever arrives; the rest is cancelled.
        delivered = quantity * delivered_share[:, day]
        due = day + np.maximum(lead_days[:, day], 1)  # an order arrives tomorrow at the earliest
        arriving[scenarios, due] += delivered
        on_order += delivered
        orders += ordering
        holding += on_hand
    total_demand = demand.sum(axis=1)
    lost = total_demand - served
    cost = (
        policy.holding_cost_per_unit_day * holding
        + policy.fixed_order_cost * orders
        + policy.lost_sale_cost_per_unit * lost
    )
    return InventoryOutcome(
        fill_rate=served / np.maximum(total_demand, 1e-12),
        cycle_service_level=1.0 - stockout_days / horizon,
        stockout_days=stockout_days,
        total_cost=cost,
        orders_placed=orders,
    )


@dataclass(frozen=True)
class SafetyStockPlan:
    safety_stock: float
    policy: InventoryPolicy
    achieved_fill_rate: float


def optimise_safety_stock(
    daily_forecast: np.ndarray,
    forecast_errors: np.ndarray,
    lead_time_days: np.ndarray | float,
    order_quantity: float,
    target_fill_rate: float,
    *,
    n_scenarios: int = 500,
    seed: int = 0,
    tolerance_units: float = 0.5,
    supply_fraction: np.ndarray | None = None,
) -> SafetyStockPlan:
    """Smallest safety stock whose simulated fill rate reaches ``target_fill_rate``.

    The policy is s = expected lead-time demand + safety stock, S = s + ``order_quantity``
    (for example the EOQ). Bisection on the safety stock with every candidate run on the
    same seed (common random numbers), so the fill rate is monotone in it.
    """
    mean_daily = float(np.mean(daily_forecast))
    mean_lead = float(np.mean(lead_time_days))
    lead_time_demand = mean_daily * mean_lead

    def fill_rate(safety_stock: float) -> tuple[float, InventoryPolicy]:
        s = lead_time_demand + safety_stock
        policy = InventoryPolicy(reorder_point=s, order_up_to=s + order_quantity)
        outcome = simulate_inventory(
            policy,
            daily_forecast,
            forecast_errors,
            lead_time_days,
            n_scenarios,
            np.random.default_rng(seed),
            supply_fraction=supply_fraction,
        )
        return float(outcome.fill_rate.mean()), policy

    low, high = -lead_time_demand, max(1.0, lead_time_demand)
    while fill_rate(high)[0] < target_fill_rate:
        high *= 2.0
        if high > 1e3 * max(1.0, lead_time_demand):
            raise ValueError("target fill rate unreachable: supply too unreliable for any buffer")
    while high - low > tolerance_units:
        middle = (low + high) / 2.0
        if fill_rate(middle)[0] >= target_fill_rate:
            high = middle
        else:
            low = middle
    achieved, policy = fill_rate(high)
    return SafetyStockPlan(safety_stock=high, policy=policy, achieved_fill_rate=achieved)
