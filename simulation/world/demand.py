"""Demand: daily orders per product and region with known components and noise level.

Expected orders of product p in region r on day t are

    baseline[p, r] * exp(trend + weekly + yearly + regime + promo + price)

with a log-linear trend, a weekly profile, a yearly sine, the market regime's multiplier
(`REGIME_ACQUISITION`), a promotion lift and a price effect ``elasticity * log(price / reference
price)``. Orders are negative binomial around that mean (a gamma-Poisson mixture with dispersion
`NOISE_DISPERSION`), so the noise standard deviation ``sqrt(mu + mu^2 / k)`` is known: the floor
under any forecast's error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulation.world.context import DepartmentOutput, WorldContext, department_rng
from simulation.world.customers import REGION_PRICE_FACTOR, REGIONS
from simulation.world.regimes import REGIME_ACQUISITION

PRODUCT_IDS: tuple[str, ...] = ("P01", "P02", "P03", "P04", "P05", "P06", "P07", "P08")
PRODUCT_NAMES: tuple[str, ...] = (
    "starter_kit",
    "smart_sensor",
    "home_gateway",
    "charging_cable",
    "battery_pack",
    "wall_mount",
    "touch_display",
    "care_plan",
)
PRODUCT_CATEGORIES: tuple[str, ...] = (
    "device",
    "device",
    "device",
    "accessory",
    "consumable",
    "accessory",
    "device",
    "service",
)
LIST_PRICE = np.array([49.0, 129.0, 199.0, 15.0, 9.0, 29.0, 249.0, 79.0])
BASE_DAILY_ORDERS = np.array([40.0, 25.0, 12.0, 60.0, 80.0, 18.0, 8.0, 30.0])  # in the north
REGION_DEMAND_FACTOR = np.array([1.0, 0.8, 0.7, 0.9])
ANNUAL_TREND = np.array([0.15, 0.10, 0.25, 0.05, 0.02, 0.08, 0.30, -0.05])  # log growth a year
YEARLY_AMPLITUDE = np.array([0.25, 0.15, 0.20, 0.10, 0.30, 0.10, 0.35, 0.05])
YEARLY_PEAK_DAY = np.array([340, 340, 330, 200, 15, 120, 345, 60])  # day of year of the peak
WEEKLY_AMPLITUDE = np.array([1.0, 0.8, 1.0, 0.5, 0.3, 0.7, 1.2, 0.2])
# Log weekly profile Monday..Sunday (mean zero), scaled per product by WEEKLY_AMPLITUDE.
WEEKLY_PROFILE = np.array([-0.06, -0.04, -0.02, 0.0, 0.06, 0.14, -0.08])
PRICE_ELASTICITY = np.array([-1.2, -1.5, -1.8, -0.8, -0.6, -1.0, -2.0, -0.9])
PROMO_LIFT = np.array([0.25, 0.20, 0.30, 0.10, 0.15, 0.10, 0.35, 0.20])  # log lift beyond price
PROMO_DISCOUNT = 0.20
PROMO_WEEK_PROBABILITY = 0.10
LIST_PRICE_REVIEW_DAYS = 90  # list prices move every quarter, so elasticity is identifiable
LIST_PRICE_CHANGE_SD = 0.06
NOISE_DISPERSION = 20.0


@dataclass
class DemandSimulation:
    """Daily demand as arrays shaped (n_days, n_products, n_regions)."""

    orders: np.ndarray
    unit_price: np.ndarray
    promo: np.ndarray
    log_baseline: np.ndarray  # (n_products, n_regions)
    trend: np.ndarray
    weekly: np.ndarray
    yearly: np.ndarray
    regime: np.ndarray
    promo_effect: np.ndarray
    price_effect: np.ndarray
    expected: np.ndarray
    noise_sd: np.ndarray


def simulate_demand(ctx: WorldContext) -> DemandSimulation:
    """Orders and their true components. Deterministic: supply chain calls it for its demand."""
    rng = department_rng(ctx.cfg, "demand")
    cal = ctx.calendar
    n_days, n_products, n_regions = cal.n_days, len(PRODUCT_IDS), len(REGIONS)
    shape = (n_days, n_products, n_regions)
    day = np.arange(n_days)
    epoch_day = cal.days.astype(np.int64)
    weekday = (epoch_day + 3) % 7  # 0 = Monday
    day_of_year = np.asarray(pd.DatetimeIndex(cal.days).dayofyear)

    log_baseline = np.log(BASE_DAILY_ORDERS[:, None] * REGION_DEMAND_FACTOR[None, :])
    trend = np.broadcast_to((ANNUAL_TREND[None, :] * day[:, None] / 365.25)[:, :, None], shape)
    weekly = np.broadcast_to(
        (WEEKLY_AMPLITUDE[None, :] * WEEKLY_PROFILE[weekday][:, None])[:, :, None], shape
    )
    season = np.cos(2 * np.pi * (day_of_year[:, None] - YEARLY_PEAK_DAY[None, :]) / 365.25)
    yearly = np.broadcast_to((YEARLY_AMPLITUDE[None, :] * season)[:, :, None], shape)
    regime_log = np.log(REGIME_ACQUISITION[ctx.regime_by_month[cal.month_of_day]])
    regime = np.broadcast_to(regime_log[:, None, None], shape)

    # List prices: a random walk reviewed quarterly per product; regions keep their price factor.
    n_reviews = n_days // LIST_PRICE_REVIEW_DAYS + 1
    steps = LIST_PRICE_CHANGE_SD * rng.standard_normal((n_reviews, n_products))
    steps[0] = 0.0
    price_level = np.exp(np.cumsum(steps, axis=0))
    list_price = (
        LIST_PRICE[None, :] * np.repeat(price_level, LIST_PRICE_REVIEW_DAYS, axis=0)[:n_days]
    )
    reference_price = LIST_PRICE[None, :, None] * REGION_PRICE_FACTOR[None, None, :]
    n_weeks = n_days // 7 + 1
    promo_week = rng.random((n_weeks, n_products, n_regions)) < PROMO_WEEK_PROBABILITY
    promo = np.repeat(promo_week, 7, axis=0)[:n_days]
    unit_price = np.round(
        list_price[:, :, None]
        * REGION_PRICE_FACTOR[None, None, :]
        * np.where(promo, 1 - PROMO_DISCOUNT, 1.0),
        2,
    )
    price_effect = PRICE_ELASTICITY[None, :, None] * np.log(unit_price / reference_price)
    promo_effect = np.where(promo, PROMO_LIFT[None, :, None], 0.0)

    log_mean = log_baseline[None] + trend + weekly + yearly + regime + promo_effect + price_effect
    expected = np.exp(log_mean)
    # Gamma-Poisson mixture: negative binomial with mean `expected` and dispersion k.
    intensity = rng.gamma(NOISE_DISPERSION, expected / NOISE_DISPERSION)
    orders = rng.poisson(intensity)
    noise_sd = np.sqrt(expected + expected**2 / NOISE_DISPERSION)
    return DemandSimulation(
        orders=orders,
        unit_price=unit_price,
        promo=promo,
        log_baseline=log_baseline,
        trend=np.ascontiguousarray(trend),
        weekly=np.ascontiguousarray(weekly),
        yearly=np.ascontiguousarray(yearly),
        regime=np.ascontiguousarray(regime),
        promo_effect=promo_effect,
        price_effect=price_effect,
        expected=expected,
        noise_sd=noise_sd,
    )


def _grid_keys(ctx: WorldContext) -> dict[str, pd.Series]:
    """Date, product and region of every cell of a (day, product, region) array, flattened."""
    n_products, n_regions = len(PRODUCT_IDS), len(REGIONS)
    days = ctx.calendar.days
    return {
        "date": pd.Series(np.repeat(days, n_products * n_regions).astype("datetime64[s]")),
        "product_id": pd.Series(
            np.tile(np.repeat(np.array(PRODUCT_IDS), n_regions), len(days)), dtype="str"
        ),
        "region": pd.Series(np.tile(np.array(REGIONS), len(days) * n_products), dtype="str"),
    }


def generate(ctx: WorldContext) -> DepartmentOutput:
    """The `products` and `demand_orders` tables and the true demand components."""
    sim = simulate_demand(ctx)
    products = pd.DataFrame(
        {
            "product_id": pd.Series(PRODUCT_IDS, dtype="str"),
            "product_name": pd.Series(PRODUCT_NAMES, dtype="str"),
            "category": pd.Series(PRODUCT_CATEGORIES, dtype="str"),
            "list_price": LIST_PRICE,
        }
    )
    orders = pd.DataFrame(
        {
            **_grid_keys(ctx),
            "orders": sim.orders.ravel().astype(np.int64),
            "unit_price": sim.unit_price.ravel(),
            "promo": sim.promo.ravel(),
            "revenue": np.round(sim.orders.ravel() * sim.unit_price.ravel(), 2),
        }
    )
    components = pd.DataFrame(
        {
            **_grid_keys(ctx),
            "baseline": np.exp(np.broadcast_to(sim.log_baseline[None], sim.expected.shape)).ravel(),
            "trend": sim.trend.ravel(),
            "weekly": sim.weekly.ravel(),
            "yearly": sim.yearly.ravel(),
            "regime_effect": sim.regime.ravel(),
            "promo_effect": sim.promo_effect.ravel(),
            "price_effect": sim.price_effect.ravel(),
            "expected_orders": sim.expected.ravel(),
            "noise_sd": sim.noise_sd.ravel(),
        }
    )
    product_truth = pd.DataFrame(
        {
            "product_id": pd.Series(PRODUCT_IDS, dtype="str"),
            "base_daily_orders_north": BASE_DAILY_ORDERS,
            "annual_trend": ANNUAL_TREND,
            "yearly_amplitude": YEARLY_AMPLITUDE,
            "yearly_peak_day": YEARLY_PEAK_DAY,
            "weekly_amplitude": WEEKLY_AMPLITUDE,
            "price_elasticity": PRICE_ELASTICITY,
            "promo_lift": PROMO_LIFT,
            "promo_discount": PROMO_DISCOUNT,
            "noise_dispersion": NOISE_DISPERSION,
        }
    )
    return DepartmentOutput(
        tables={"products": products, "demand_orders": orders},
        truth={"demand_components": components, "demand_products": product_truth},
    )
