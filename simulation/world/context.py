"""Shared calendar and state that department generators read, so that departments stay coherent."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulation.world.config import WorldConfig

# Each department draws from its own stream, so adding a department never changes another's data.
DEPARTMENT_STREAMS: dict[str, int] = {
    "regimes": 1,
    "marketing": 2,
    "customers": 3,
    "demand": 4,
    "operations": 5,
    "support": 6,
    "hr": 7,
    "supply_chain": 8,
    "sentiment": 9,
    "price_tests": 10,
}


def department_rng(cfg: WorldConfig, department: str) -> np.random.Generator:
    """The generator of one department: a fixed child of the world's root seed."""
    return np.random.default_rng(np.random.SeedSequence([cfg.seed, DEPARTMENT_STREAMS[department]]))


@dataclass
class Calendar:
    """Days and months of the world, as numpy arrays."""

    days: np.ndarray  # datetime64[D], one per day
    month_starts: np.ndarray  # datetime64[D], first day of each calendar month touched
    month_of_day: np.ndarray  # int index into month_starts for each day

    @classmethod
    def from_config(cls, cfg: WorldConfig) -> Calendar:
        days = np.arange(np.datetime64(cfg.start, "D"), np.datetime64(cfg.end, "D") + 1)
        months = days.astype("datetime64[M]")
        month_starts = np.unique(months).astype("datetime64[D]")
        month_of_day = (months - months[0]).astype(int)
        return cls(days=days, month_starts=month_starts, month_of_day=month_of_day)

    @property
    def n_days(self) -> int:
        return len(self.days)

    @property
    def n_months(self) -> int:
        return len(self.month_starts)

    def day_index(self, date: object) -> int:
        """Index of a date in `days`, clipped to the window."""
        idx = int((np.datetime64(date, "D") - self.days[0]).astype(int))
        return min(max(idx, 0), self.n_days)


@dataclass
class WorldContext:
    """What earlier departments produced that later ones may use."""

    cfg: WorldConfig
    calendar: Calendar
    regime_by_month: np.ndarray  # int codes into REGIMES, one per calendar month
    # Customer-month panel written by the customers department: customer_id, month_start,
    # engagement (latent), segment. Support and sentiment make tickets and surveys from it.
    customer_months: pd.DataFrame = field(default_factory=pd.DataFrame)
    customers: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass
class DepartmentOutput:
    """What one department adds to the world: raw tables and the ground truth behind them."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    truth: dict[str, pd.DataFrame] = field(default_factory=dict)
