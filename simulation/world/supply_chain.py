"""Supply chain: a three-tier supplier network, purchase orders, disruptions and inventory.

Tier-1 suppliers deliver our products; each buys from a tier-2 supplier, which buys from a
tier-3 one (`supplies_to` points downstream). Every supplier has random disruption windows;
a disruption upstream passes down to the tier-1 supplier with probability `UPSTREAM_PASS_THROUGH`.
A purchase order is disrupted with the effective probability of its supplier on its order day
and then arrives late by a gamma-distributed extra delay. Otherwise its lead time is lognormal
around the promised one, with a supplier-specific bias.

Inventory follows a reorder-point policy per product, reviewed daily against demand from
`demand.simulate_demand` (one unit per order); unmet demand becomes backorders.

Drift: `supplier_disruption` sets the disruption probability of `target` (or every supplier) to
at least `magnitude` from its start date on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulation.world.context import DepartmentOutput, WorldContext, department_rng
from simulation.world.demand import PRODUCT_IDS, simulate_demand

SUPPLIERS_PER_TIER = (5, 8, 6)
SUPPLIER_REGIONS: tuple[str, ...] = ("north", "south", "east", "west", "overseas")
BASE_DISRUPTION_PROBABILITY_RANGE = (0.01, 0.05)
WINDOWS_PER_SUPPLIER_YEAR = 0.8
WINDOW_DAYS_RANGE = (5, 30)
IN_WINDOW_DISRUPTION_PROBABILITY = 0.8
UPSTREAM_PASS_THROUGH = 0.6
DISRUPTION_DELAY_SHAPE, DISRUPTION_DELAY_SCALE_DAYS = 2.0, 7.0
SECONDARY_SUPPLIER_SHARE = 0.3
REORDER_COVER_DAYS = 14  # an order brings the position up to two more weeks of demand
SAFETY_FACTOR = 1.65


def _epoch_days(values: np.ndarray) -> np.ndarray:
    return np.asarray(values).astype("datetime64[D]").astype(np.int64)


def _supplier_ids(n: int) -> np.ndarray:
    return np.array([f"SUP-{k:03d}" for k in range(1, n + 1)])


def _upstream_chains(tier: np.ndarray, supplies_to: np.ndarray) -> list[np.ndarray]:
    """For each supplier, the suppliers upstream of it (whose disruptions reach it)."""
    n = len(tier)
    upstream: list[list[int]] = [[] for _ in range(n)]
    for child in np.flatnonzero(supplies_to >= 0):  # one step per supplier, a few dozen
        node = supplies_to[child]
        while node >= 0:
            upstream[node].append(child)
            node = supplies_to[node]
    return [np.array(sorted(u), dtype=np.int64) for u in upstream]


def generate(ctx: WorldContext) -> DepartmentOutput:
    """`suppliers`, `purchase_orders` and `inventory_levels`, with lead-time and disruption truth."""
    rng = department_rng(ctx.cfg, "supply_chain")
    cal = ctx.calendar
    n_days, n_products = cal.n_days, len(PRODUCT_IDS)
    first_day, last_day = _epoch_days(cal.days[[0, -1]])

    # The network: tier sizes are fixed; links, regions and reliability are drawn.
    tier = np.repeat(np.arange(1, 4), SUPPLIERS_PER_TIER)
    n_suppliers = len(tier)
    tier_members = [np.flatnonzero(tier == t) for t in (1, 2, 3)]
    supplies_to = np.full(n_suppliers, -1)
    supplies_to[tier_members[1]] = rng.choice(tier_members[0], size=len(tier_members[1]))
    supplies_to[tier_members[2]] = rng.choice(tier_members[1], size=len(tier_members[2]))
    region = rng.choice(len(SUPPLIER_REGIONS), size=n_suppliers, p=[0.25, 0.2, 0.2, 0.15, 0.2])
    promised_lead = np.where(
        tier == 1, rng.integers(7, 22, n_suppliers), rng.integers(14, 43, n_suppliers)
    )
    lead_log_bias = rng.normal(0.05, 0.1, n_suppliers)  # >0: the supplier tends to be late
    lead_log_sd = rng.uniform(0.1, 0.3, n_suppliers)
    base_disruption = rng.uniform(*BASE_DISRUPTION_PROBABILITY_RANGE, n_suppliers)

    # Own disruption probability per supplier and day: base, windows, then injected drift.
    own = np.broadcast_to(base_disruption[:, None], (n_suppliers, n_days)).copy()
    n_windows = rng.poisson(WINDOWS_PER_SUPPLIER_YEAR * n_days / 365.25, n_suppliers)
    w_supplier = np.repeat(np.arange(n_suppliers), n_windows)
    w_start = rng.integers(0, n_days, len(w_supplier))
    w_end = np.minimum(w_start + rng.integers(*WINDOW_DAYS_RANGE, len(w_supplier)), n_days)
    for s, a, b in zip(w_supplier, w_start, w_end, strict=True):  # a handful of windows
        own[s, a:b] = np.maximum(own[s, a:b], IN_WINDOW_DISRUPTION_PROBABILITY)
    w_kind = ["random"] * len(w_supplier)
    ids = _supplier_ids(n_suppliers)
    drift_probability = np.full(n_suppliers, np.nan)
    for event in ctx.cfg.drift_events("supplier_disruption"):
        if event.target is not None and event.target not in ids:
            raise ValueError(f"supplier_disruption target {event.target!r} is not a supplier id")
        hit = np.flatnonzero(ids == event.target) if event.target else np.arange(n_suppliers)
        onset = max(int((np.datetime64(event.start, "D") - cal.days[0]).astype(int)), 0)
        own[hit, onset:] = np.maximum(own[hit, onset:], event.magnitude)
        drift_probability[hit] = np.fmax(drift_probability[hit], event.magnitude)
        w_supplier = np.concatenate([w_supplier, hit])
        w_start = np.concatenate([w_start, np.full(len(hit), onset)])
        w_end = np.concatenate([w_end, np.full(len(hit), n_days)])
        w_kind += ["drift"] * len(hit)
    # What reaches a supplier's customers: its own trouble or trouble passed down the chain.
    effective = own.copy()
    for s, upstream in enumerate(_upstream_chains(tier, supplies_to)):
        if len(upstream):
            no_upstream_hit = np.prod(1 - UPSTREAM_PASS_THROUGH * own[upstream], axis=0)
            effective[s] = 1 - (1 - own[s]) * no_upstream_hit

    # Sourcing: each product has a primary and a secondary tier-1 supplier.
    tier1 = tier_members[0]
    primary = tier1[np.arange(n_products) % len(tier1)]
    secondary = tier1[(np.arange(n_products) + 2) % len(tier1)]

    demand = simulate_demand(ctx).orders.sum(axis=2)  # (n_days, n_products) units
    mean_demand = demand.mean(axis=0)
    sd_demand = demand.std(axis=0)
    cover = promised_lead[primary] + 1
    reorder_point = np.ceil(mean_demand * cover + SAFETY_FACTOR * sd_demand * np.sqrt(cover))
    order_up_to = reorder_point + np.ceil(mean_demand * REORDER_COVER_DAYS)

    max_lead = int(promised_lead.max() * 4 + 120)
    arrivals = np.zeros((n_days + max_lead, n_products))
    on_hand = order_up_to.copy()
    on_order = np.zeros(n_products)
    backorders = np.zeros(n_products)
    inventory = np.zeros((3, n_days, n_products))
    po_parts: list[tuple[np.ndarray, ...]] = []
    for d in range(n_days):  # one step per day, vectorised over products
        on_hand += arrivals[d]
        on_order -= arrivals[d]
        wanted = demand[d] + backorders
        shipped = np.minimum(on_hand, wanted)
        on_hand -= shipped
        backorders = wanted - shipped
        position = on_hand + on_order - backorders
        ordering = np.flatnonzero(position < reorder_point)
        if len(ordering):
            quantity = np.ceil((order_up_to[ordering] - position[ordering]) / 10) * 10
            supplier = np.where(
                rng.random(len(ordering)) < SECONDARY_SUPPLIER_SHARE,
                secondary[ordering],
                primary[ordering],
            )
            disrupted = rng.random(len(ordering)) < effective[supplier, d]
            lead = promised_lead[supplier] * np.exp(
                lead_log_bias[supplier] + lead_log_sd[supplier] * rng.standard_normal(len(ordering))
            )
            lead = lead + disrupted * rng.gamma(
                DISRUPTION_DELAY_SHAPE, DISRUPTION_DELAY_SCALE_DAYS, len(ordering)
            )
            lead_days = np.clip(np.ceil(lead), 1, max_lead - 1).astype(np.int64)
            np.add.at(arrivals, (d + lead_days, ordering), quantity)
            on_order[ordering] += quantity
            po_parts.append(
                (np.full(len(ordering), d), ordering, supplier, quantity, lead_days, disrupted)
            )
        inventory[:, d] = on_hand, on_order, backorders

    po_day, po_product, po_supplier, po_quantity, po_lead, po_disrupted = (
        np.concatenate(parts) for parts in zip(*po_parts, strict=True)
    )
    order_day = first_day + po_day
    delivered_day = order_day + po_lead
    delivered = (delivered_day <= last_day).astype(bool)
    delivered_date = delivered_day.astype("datetime64[D]").astype("datetime64[s]")
    delivered_date[~delivered] = np.datetime64("NaT")
    supplies_to_id = np.where(supplies_to >= 0, ids[np.maximum(supplies_to, 0)], None)
    suppliers = pd.DataFrame(
        {
            "supplier_id": pd.Series(ids, dtype="str"),
            "tier": tier.astype(np.int64),
            "supplies_to": pd.Series(supplies_to_id, dtype="str"),
            "region": pd.Series(np.array(SUPPLIER_REGIONS)[region], dtype="str"),
            "capacity_units_per_day": np.round(
                np.where(
                    tier == 1,
                    3 * mean_demand.sum() / len(tier1),
                    rng.uniform(200, 2_000, n_suppliers),
                ),
                0,
            ),
            "promised_lead_time_days": promised_lead.astype(np.int64),
        }
    )
    purchase_orders = pd.DataFrame(
        {
            "po_id": np.arange(1, len(po_day) + 1, dtype=np.int64),
            "supplier_id": pd.Series(ids[po_supplier], dtype="str"),
            "product_id": pd.Series(np.array(PRODUCT_IDS)[po_product], dtype="str"),
            "order_date": pd.Series(order_day.astype("datetime64[D]").astype("datetime64[s]")),
            "promised_date": pd.Series(
                (order_day + promised_lead[po_supplier])
                .astype("datetime64[D]")
                .astype("datetime64[s]")
            ),
            "delivered_date": pd.Series(delivered_date),
            "quantity": po_quantity.astype(np.int64),
            "disrupted": po_disrupted,
        }
    )
    inventory_levels = pd.DataFrame(
        {
            "date": pd.Series(np.repeat(cal.days, n_products).astype("datetime64[s]")),
            "product_id": pd.Series(np.tile(np.array(PRODUCT_IDS), n_days), dtype="str"),
            "on_hand": inventory[0].ravel().astype(np.int64),
            "on_order": inventory[1].ravel().astype(np.int64),
            "backorders": inventory[2].ravel().astype(np.int64),
        }
    )

    supplier_truth = pd.DataFrame(
        {
            "supplier_id": pd.Series(ids, dtype="str"),
            "lead_time_family": pd.Series(["lognormal"] * n_suppliers, dtype="str"),
            "lead_time_log_mean": np.log(promised_lead) + lead_log_bias,
            "lead_time_log_sd": lead_log_sd,
            "base_disruption_probability": base_disruption,
            "drift_disruption_probability": drift_probability,
            "mean_effective_disruption_probability": effective.mean(axis=1),
            "disruption_delay_family": pd.Series(["gamma"] * n_suppliers, dtype="str"),
            "disruption_delay_shape": DISRUPTION_DELAY_SHAPE,
            "disruption_delay_scale_days": DISRUPTION_DELAY_SCALE_DAYS,
        }
    )
    windows = pd.DataFrame(
        {
            "supplier_id": pd.Series(ids[w_supplier], dtype="str"),
            "start_date": pd.Series(cal.days[w_start].astype("datetime64[s]")),
            "end_date": pd.Series(cal.days[np.maximum(w_end - 1, w_start)].astype("datetime64[s]")),
            "kind": pd.Series(w_kind, dtype="str"),
        }
    )
    policy = pd.DataFrame(
        {
            "product_id": pd.Series(PRODUCT_IDS, dtype="str"),
            "primary_supplier_id": pd.Series(ids[primary], dtype="str"),
            "secondary_supplier_id": pd.Series(ids[secondary], dtype="str"),
            "reorder_point": reorder_point,
            "order_up_to": order_up_to,
        }
    )
    return DepartmentOutput(
        tables={
            "suppliers": suppliers,
            "purchase_orders": purchase_orders,
            "inventory_levels": inventory_levels,
        },
        truth={
            "supplier_truth": supplier_truth,
            "supplier_disruption_windows": windows,
            "inventory_policy": policy,
        },
    )
