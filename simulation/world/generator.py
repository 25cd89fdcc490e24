"""Compose the departments into one world: raw tables plus the ground truth behind them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from simulation.world import demand, hr, operations, sentiment, supply_chain, support
from simulation.world.config import WorldConfig
from simulation.world.context import Calendar, DepartmentOutput, WorldContext, department_rng
from simulation.world.customers import CustomersOutput, generate_customers
from simulation.world.marketing import MarketingOutput, generate_marketing
from simulation.world.regimes import regime_truth, sample_regime_path


@dataclass
class World:
    """A generated business: what its systems recorded, and what was really true."""

    config: WorldConfig
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    truth: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(len(frame) for frame in self.tables.values())


def generate_customer_base(
    cfg: WorldConfig,
) -> tuple[WorldContext, MarketingOutput, CustomersOutput]:
    """The market regimes, marketing and customers of ``cfg``'s world, as `generate_world` makes
    them. `CustomersOutput.customer_months` holds each customer's latent engagement by month,
    which no table shows (diagnostics such as `bench.churn_ceiling` read it)."""
    calendar = Calendar.from_config(cfg)
    regimes = sample_regime_path(calendar.n_months, department_rng(cfg, "regimes"))
    ctx = WorldContext(cfg=cfg, calendar=calendar, regime_by_month=regimes)
    daily_acquisitions = cfg.n_customers * (1 - cfg.initial_base_share) / calendar.n_days
    marketing = generate_marketing(ctx, department_rng(cfg, "marketing"), daily_acquisitions)
    customers = generate_customers(
        ctx, department_rng(cfg, "customers"), marketing, department_rng(cfg, "price_tests")
    )
    return ctx, marketing, customers


def generate_world(cfg: WorldConfig) -> World:
    """Generate every department of the business. Same config, identical frames."""
    ctx, marketing, customers = generate_customer_base(cfg)
    world = World(config=cfg)
    world.truth["market_regimes"] = regime_truth(ctx.calendar.month_starts, ctx.regime_by_month)
    world.tables["marketing_spend"] = marketing.spend
    world.truth["marketing_channels"] = marketing.truth
    world.tables["customers"] = customers.customers
    world.tables["subscription_events"] = customers.subscription_events
    world.tables["usage_events"] = customers.usage_events
    world.truth["customer_churn"] = customers.churn_truth
    world.truth["price_tests"] = customers.price_tests
    ctx.customers = customers.customers
    ctx.customer_months = customers.customer_months

    # Further departments (demand, operations, support, HR, supply chain, sentiment) plug in here:
    # each reads `ctx`, draws from its own `department_rng` stream and adds tables and truth.
    for department in DEPARTMENTS:
        output = department(ctx)
        world.tables.update(output.tables)
        world.truth.update(output.truth)
    return world


# Department generators beyond customers and marketing, in generation order.
DEPARTMENTS: list[Callable[[WorldContext], DepartmentOutput]] = [
    demand.generate,
    hr.generate,
    operations.generate,
    support.generate,
    supply_chain.generate,
    sentiment.generate,
]
